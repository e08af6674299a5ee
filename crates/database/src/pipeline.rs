//! What the worker's side of the message pipeline reads and writes: the one decision per inbound message
//! (`message_replies`), outbound messages the assistant or the platform queue, the conversation history,
//! and the outcome of sending (`queued → sent`, or `failed` with the provider's reason), plus the flag on a
//! channel whose credentials the provider rejected. Every function runs in a tenant transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{ChannelId, ConversationId, TenantId};
use uuid::Uuid;

use crate::delivery::Applied;
use crate::error::DbResult;
use crate::messages::{Message, OutboundSender, insert_queued_text};
use crate::schema::{channels, conversations, message_replies, messages};

/// What the pipeline decided for an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The assistant replied.
    Replied,
    /// The conversation went to a human (the contact got the hand-off message).
    Handoff,
    /// Nothing was sent: a human owns the conversation.
    Silent,
}

impl Outcome {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Replied => "replied",
            Self::Handoff => "handoff",
            Self::Silent => "silent",
        }
    }
}

/// Whether a decision was already taken for `inbound` (a redelivered event).
pub async fn decided(conn: &mut AsyncPgConnection, tenant: TenantId, inbound: Uuid) -> DbResult<bool> {
    let found: Option<Uuid> = message_replies::table
        .filter(message_replies::tenant_id.eq(tenant.as_uuid()).and(message_replies::inbound_message_id.eq(inbound)))
        .select(message_replies::inbound_message_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// What the assistant used for one decision (all zero/`None` when no model was asked).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionUsage {
    /// The model that answered.
    pub model: Option<String>,
    /// `off` (retrieval disabled), `hits`, `empty` (nothing relevant) or `failed`; `None`: not asked.
    pub retrieval: Option<&'static str>,
    /// Prompt tokens.
    pub prompt_tokens: i32,
    /// Completion tokens.
    pub completion_tokens: i32,
    /// Cost in millionths of a US dollar.
    pub cost_micro_usd: i64,
    /// The model's latency.
    pub latency_ms: Option<i32>,
    /// The decision's confidence, 0–1.
    pub confidence: Option<f32>,
    /// `[{chunkId, documentId, filename, score}]` of the chunks the reply cited.
    pub citations: serde_json::Value,
}

/// Records the decision for `inbound` with what the assistant used; `false` when another delivery of the
/// same event recorded one first (its transaction must then write nothing else).
pub async fn record_decision(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    inbound: Uuid,
    conversation: ConversationId,
    (outcome, reply): (Outcome, Option<Uuid>),
    usage: &DecisionUsage,
) -> DbResult<bool> {
    let citations = if usage.citations.is_array() { usage.citations.clone() } else { serde_json::json!([]) };
    let inserted = diesel::insert_into(message_replies::table)
        .values((
            message_replies::tenant_id.eq(tenant.as_uuid()),
            message_replies::inbound_message_id.eq(inbound),
            message_replies::conversation_id.eq(conversation.as_uuid()),
            message_replies::outcome.eq(outcome.as_str()),
            message_replies::reply_message_id.eq(reply),
            message_replies::model.eq(usage.model.as_deref()),
            message_replies::retrieval.eq(usage.retrieval),
            message_replies::prompt_tokens.eq(usage.prompt_tokens.max(0)),
            message_replies::completion_tokens.eq(usage.completion_tokens.max(0)),
            message_replies::cost_micro_usd.eq(usage.cost_micro_usd.max(0)),
            message_replies::latency_ms.eq(usage.latency_ms.map(|ms| ms.max(0))),
            message_replies::confidence.eq(usage.confidence.map(|c| c.clamp(0.0, 1.0))),
            message_replies::citations.eq(citations),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

fn send_lock_key(message: Uuid) -> i64 {
    let bytes = message.as_u128().to_le_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[..8]);
    i64::from_le_bytes(low)
}

/// Claims the right to send `message` on this connection (a session advisory lock), so that two deliveries
/// of the same `message.queued` (a republished event) never send twice: `false` while another holds it.
/// Release with [`release_send`] on the same connection; a dropped session releases it too.
pub async fn claim_send(conn: &mut AsyncPgConnection, message: Uuid) -> DbResult<bool> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(send_lock_key(message))
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

/// Releases a claim taken by [`claim_send`].
pub async fn release_send(conn: &mut AsyncPgConnection, message: Uuid) -> DbResult<()> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(send_lock_key(message))
        .execute(conn)
        .await?;
    Ok(())
}

/// One message of `tenant` by id.
pub async fn find_message(conn: &mut AsyncPgConnection, tenant: TenantId, id: Uuid) -> DbResult<Option<Message>> {
    let found = messages::table
        .filter(messages::tenant_id.eq(tenant.as_uuid()).and(messages::id.eq(id)))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(found)
}

/// The newest `limit` messages of a conversation before `before`, oldest first (the model's history).
pub async fn history(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    before: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<Message>> {
    let mut rows: Vec<Message> = messages::table
        .filter(messages::tenant_id.eq(tenant.as_uuid()))
        .filter(messages::conversation_id.eq(conversation.as_uuid()))
        .filter(messages::created_at.lt(before))
        .order((messages::created_at.desc(), messages::id.desc()))
        .limit(limit)
        .select(Message::as_select())
        .load(conn)
        .await?;
    rows.reverse();
    Ok(rows)
}

/// An outbound text the platform sends on its own (`assistant` reply or `system` notice), queued; advances
/// the conversation's `last_message_at`.
pub async fn queue_outbound(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    conversation: ConversationId,
    sender: OutboundSender,
    text: &str,
    payload: &serde_json::Value,
) -> DbResult<Message> {
    let message = insert_queued_text(conn, tenant, conversation, sender, text, payload).await?;
    diesel::update(conversations::table)
        .filter(conversations::tenant_id.eq(tenant.as_uuid()).and(conversations::id.eq(conversation.as_uuid())))
        .set(conversations::last_message_at.eq(message.created_at))
        .execute(conn)
        .await?;
    Ok(message)
}

fn applied(message: &Message) -> Applied {
    Applied {
        message_id: message.id,
        conversation_id: message.conversation_id,
        status: message.status.clone(),
        error_code: message.error_code.clone(),
        error_message: None,
    }
}

/// `queued → sent` with the provider's message id; `None` when the message was not queued any more (a
/// redelivered send, or a status callback that overtook this update).
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    external_id: &str,
) -> DbResult<Option<Applied>> {
    let updated: Option<Message> = diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.as_uuid()).and(messages::id.eq(id)))
        .filter(messages::status.eq("queued"))
        .set((
            messages::status.eq("sent"),
            messages::external_id.eq(external_id),
            messages::sent_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    Ok(updated.as_ref().map(applied))
}

/// `queued → failed` with the reason (code ≤ 64, message ≤ 1000 characters); `None` when not queued.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    code: &str,
    reason: &str,
) -> DbResult<Option<Applied>> {
    let code: String = code.chars().take(64).collect();
    let reason: String = reason.chars().take(1000).collect();
    let updated: Option<Message> = diesel::update(messages::table)
        .filter(messages::tenant_id.eq(tenant.as_uuid()).and(messages::id.eq(id)))
        .filter(messages::status.eq("queued"))
        .set((
            messages::status.eq("failed"),
            messages::error_code.eq(&code),
            messages::error_message.eq(&reason),
            messages::failed_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    Ok(updated.as_ref().map(|message| Applied { error_message: Some(reason.clone()), ..applied(message) }))
}

/// Flags a channel whose credentials the provider rejected (cut to 500 characters); cleared when its
/// secrets are updated.
pub async fn flag_channel(conn: &mut AsyncPgConnection, tenant: TenantId, id: ChannelId, reason: &str) -> DbResult<()> {
    let reason: String = reason.chars().take(500).collect();
    diesel::update(channels::table)
        .filter(channels::tenant_id.eq(tenant.as_uuid()).and(channels::id.eq(id.as_uuid())))
        .set((channels::flagged_at.eq(diesel::dsl::now), channels::flag_reason.eq(reason)))
        .execute(conn)
        .await?;
    Ok(())
}
