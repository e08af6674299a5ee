//! Delivery receipts for outbound messages. A message's status only moves forward —
//! `queued → sent → delivered → read` — whatever order the provider's callbacks arrive in and however often
//! they repeat; `failed` is terminal and cannot replace `read`. Each applied change is returned so the
//! caller can emit one event per real change (a duplicate callback changes nothing and emits nothing).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::DeliveryStatus;
use meta_chat_shared::ids::{ChannelId, TenantId};
use uuid::Uuid;

use crate::error::{DbError, DbResult};

/// A status reported by the provider.
#[derive(Debug, Clone)]
pub struct StatusReport<'a> {
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: DeliveryStatus,
    /// When the provider says it happened.
    pub at: DateTime<Utc>,
    /// Provider error code (`failed`).
    pub error_code: Option<&'a str>,
    /// Provider error text (`failed`), at most 1000 characters.
    pub error_message: Option<&'a str>,
}

/// A status change that was applied.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Applied {
    /// The message.
    #[diesel(sql_type = SqlUuid)]
    pub message_id: Uuid,
    /// Its conversation.
    #[diesel(sql_type = SqlUuid)]
    pub conversation_id: Uuid,
    /// The new status.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Provider error code, when failed.
    #[diesel(sql_type = Nullable<Text>)]
    pub error_code: Option<String>,
    /// Provider error text, when failed.
    #[diesel(sql_type = Nullable<Text>)]
    pub error_message: Option<String>,
}

const SET_AND_GUARD: &str = "
    SET status = $2,
        sent_at = CASE WHEN $2 IN ('sent', 'delivered', 'read') THEN COALESCE(sent_at, $3) ELSE sent_at END,
        delivered_at = CASE WHEN $2 IN ('delivered', 'read') THEN COALESCE(delivered_at, $3) ELSE delivered_at END,
        read_at = CASE WHEN $2 = 'read' THEN COALESCE(read_at, $3) ELSE read_at END,
        failed_at = CASE WHEN $2 = 'failed' THEN $3 ELSE failed_at END,
        error_code = CASE WHEN $2 = 'failed' THEN $4 ELSE error_code END,
        error_message = CASE WHEN $2 = 'failed' THEN $5 ELSE error_message END
    WHERE tenant_id = $1 AND direction = 'outbound' AND status <> 'failed'
      AND CASE WHEN $2 = 'failed' THEN status <> 'read'
               ELSE array_position(ARRAY['queued', 'sent', 'delivered', 'read'], status)
                    < array_position(ARRAY['queued', 'sent', 'delivered', 'read'], $2) END";

fn checked(report: &StatusReport<'_>) -> DbResult<()> {
    match report.status {
        DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Read | DeliveryStatus::Failed => Ok(()),
        other => Err(DbError::InvalidInput(format!("`{other}` is not a delivery receipt status"))),
    }
}

fn cut(text: Option<&str>, max: usize) -> Option<String> {
    text.map(|text| text.chars().take(max).collect())
}

/// Applies `report` to the outbound message with provider id `external_id`.
pub async fn apply_to_message(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    external_id: &str,
    report: &StatusReport<'_>,
) -> DbResult<Vec<Applied>> {
    checked(report)?;
    let sql = format!(
        "UPDATE messages {SET_AND_GUARD} AND external_id = $6 \
         RETURNING id AS message_id, conversation_id, status, error_code, error_message"
    );
    let rows = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant.as_uuid())
        .bind::<Text, _>(report.status.as_str())
        .bind::<Timestamptz, _>(report.at)
        .bind::<Nullable<Text>, _>(cut(report.error_code, 64))
        .bind::<Nullable<Text>, _>(cut(report.error_message, 1000))
        .bind::<Text, _>(external_id)
        .load(conn)
        .await?;
    Ok(rows)
}

/// Applies `report` to every outbound message sent on `channel` to the contact `contact_external_id` up to
/// `watermark` (Messenger's delivery and read watermarks).
pub async fn apply_up_to(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel: ChannelId,
    contact_external_id: &str,
    watermark: DateTime<Utc>,
    report: &StatusReport<'_>,
) -> DbResult<Vec<Applied>> {
    checked(report)?;
    let sql = format!(
        "UPDATE messages {SET_AND_GUARD} \
           AND created_at <= $6 AND sent_at IS NOT NULL AND sent_at <= $6 \
           AND conversation_id IN (SELECT cv.id FROM conversations cv \
               JOIN contacts ct ON ct.tenant_id = cv.tenant_id AND ct.id = cv.contact_id \
               WHERE cv.tenant_id = $1 AND ct.channel_id = $7 AND ct.external_id = $8) \
         RETURNING id AS message_id, conversation_id, status, error_code, error_message"
    );
    let rows = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant.as_uuid())
        .bind::<Text, _>(report.status.as_str())
        .bind::<Timestamptz, _>(report.at)
        .bind::<Nullable<Text>, _>(cut(report.error_code, 64))
        .bind::<Nullable<Text>, _>(cut(report.error_message, 1000))
        .bind::<Timestamptz, _>(watermark)
        .bind::<SqlUuid, _>(channel.as_uuid())
        .bind::<Text, _>(contact_external_id)
        .load(conn)
        .await?;
    Ok(rows)
}
