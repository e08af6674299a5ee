//! The delivery log of tenant webhooks: one row per (webhook, event), created by the fan-out, attempted by
//! the delivery worker until it is delivered or given up, and shown to the tenant. The row id is the
//! `X-MetaChat-Delivery` header, stable across retries.

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{TenantId, WebhookId};
use serde_json::Value;
use uuid::Uuid;

use super::columns::StatusText;
use super::{MAX_ERROR_CHARS, Webhook, cut};
use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::schema::{tenant_webhooks, webhook_deliveries};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: the retry window passed, the webhook was disabled, or it was a one-off test.
    Failed,
}

impl DeliveryStatus {
    /// The stored (and shown) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One delivery. `Debug` leaves out the payload (event data is never logged).
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct WebhookDelivery {
    /// Owning tenant.
    #[diesel(deserialize_as = Uuid)]
    pub tenant_id: TenantId,
    /// Id: the `X-MetaChat-Delivery` header.
    pub id: Uuid,
    /// The webhook it goes to.
    #[diesel(deserialize_as = Uuid)]
    pub webhook_id: WebhookId,
    /// The event delivered (the body's `id`).
    pub event_id: Uuid,
    /// Dotted event name.
    pub event_type: String,
    /// The JSON body sent, `{id, event, tenantId, createdAt, data}`.
    pub payload: Value,
    /// Where it stands.
    #[diesel(deserialize_as = StatusText)]
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (`None` once finished).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// HTTP status of the last attempt, if the receiver answered.
    pub last_status_code: Option<i32>,
    /// What went wrong on the last attempt.
    pub last_error: Option<String>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Created (the retry window starts here).
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for WebhookDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookDelivery")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("last_status_code", &self.last_status_code)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The event a batch of deliveries carries.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryEvent<'a> {
    /// The event's id; with the webhook id it makes a delivery unique.
    pub id: Uuid,
    /// Dotted event name.
    pub event_type: &'a str,
    /// The JSON body to send (a JSON object).
    pub payload: &'a Value,
    /// When the first attempt is due (now, or later to keep the delivery worker away from it).
    pub first_attempt_at: DateTime<Utc>,
}

/// A delivery claimed by [`due_deliveries`], with its webhook.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: WebhookDelivery,
    /// Its webhook (URL, sealed secret, enabled flag).
    pub webhook: Webhook,
}

/// The result of one attempt.
#[derive(Debug, Clone, Copy)]
pub enum AttemptOutcome<'a> {
    /// The receiver answered 2xx.
    Delivered {
        /// The status it answered.
        status_code: u16,
    },
    /// No 2xx answer (or no attempt could be made).
    Failed {
        /// The status, when the receiver answered.
        status_code: Option<u16>,
        /// What went wrong (cut to [`MAX_ERROR_CHARS`]); never a secret.
        error: &'a str,
        /// When to try again; `None` gives up (status `failed`).
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Creates one pending delivery of `event` for each of `webhooks` (of `tenant`), due at
/// `event.first_attempt_at`. Idempotent: a (webhook, event) pair that already has a delivery is left alone
/// (`ON CONFLICT (webhook_id, event_id) DO NOTHING`), so a redelivered event creates nothing. Returns the
/// deliveries created by this call.
pub async fn create_deliveries(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event: &DeliveryEvent<'_>,
    webhooks: &[WebhookId],
) -> DbResult<Vec<WebhookDelivery>> {
    if webhooks.is_empty() {
        return Ok(Vec::new());
    }
    if !event.payload.is_object() {
        return Err(DbError::InvalidInput("a webhook payload must be a JSON object".into()));
    }
    let rows: Vec<_> = webhooks
        .iter()
        .map(|webhook| {
            (
                webhook_deliveries::tenant_id.eq(tenant.as_uuid()),
                webhook_deliveries::id.eq(Uuid::now_v7()),
                webhook_deliveries::webhook_id.eq(webhook.as_uuid()),
                webhook_deliveries::event_id.eq(event.id),
                webhook_deliveries::event_type.eq(event.event_type),
                webhook_deliveries::payload.eq(event.payload),
                webhook_deliveries::next_attempt_at.eq(Some(event.first_attempt_at)),
            )
        })
        .collect();
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values(rows)
        .on_conflict((webhook_deliveries::webhook_id, webhook_deliveries::event_id))
        .do_nothing()
        .returning(WebhookDelivery::as_returning())
        .get_results(conn)
        .await?)
}

/// Claims up to `limit` pending deliveries of every tenant that are due at `now`, oldest due first, and
/// pushes their `next_attempt_at` to `lease_until`, all in one transaction of its own.
///
/// The rows are read `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same row, and the
/// lease keeps it away from every other worker until the claimant records its attempt
/// ([`record_attempt`]); if the claimant dies, the row is due again when the lease ends.
///
/// Reads across tenants: call it on a connection of the **owner pool**, whose role bypasses row-level
/// security. On the runtime role it claims nothing.
pub async fn due_deliveries(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<DueDelivery>> {
    conn.transaction(async move |conn| {
        let ids: Vec<Uuid> = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_deliveries::id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set(webhook_deliveries::next_attempt_at.eq(Some(lease_until)))
            .execute(conn)
            .await?;
        let rows: Vec<(WebhookDelivery, Webhook)> = webhook_deliveries::table
            .inner_join(
                tenant_webhooks::table.on(tenant_webhooks::tenant_id
                    .eq(webhook_deliveries::tenant_id)
                    .and(tenant_webhooks::id.eq(webhook_deliveries::webhook_id))),
            )
            .filter(webhook_deliveries::id.eq_any(&ids))
            .order((webhook_deliveries::created_at.asc(), webhook_deliveries::id.asc()))
            .select((WebhookDelivery::as_select(), Webhook::as_select()))
            .load(conn)
            .await?;
        Ok::<_, DbError>(rows.into_iter().map(|(delivery, webhook)| DueDelivery { delivery, webhook }).collect())
    })
    .await
}

/// Records an attempt of a pending delivery of `tenant` (inside its tenant transaction).
///
/// Delivered: status `delivered`, `delivered_at` now. Failed: `next_attempt_at = retry_at`, or status
/// `failed` when `retry_at` is `None`. Either way `attempts` grows by one and the status code and error
/// (cut to [`MAX_ERROR_CHARS`]) are kept.
///
/// With `disable_after: Some(n)` the webhook's health is tracked too: a delivery resets its
/// `consecutive_failures`, a failure increments it, and the failure that brings an enabled webhook to `n`
/// disables it with a `disabled_reason`. Returns whether this attempt disabled the webhook (the caller
/// audits that). `None` (test deliveries, abandoned ones) leaves the webhook alone.
///
/// A delivery that is no longer pending (recorded by another worker after a lease expired) changes nothing.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    delivery: Uuid,
    outcome: &AttemptOutcome<'_>,
    disable_after: Option<u32>,
) -> DbResult<bool> {
    let target = webhook_deliveries::table.filter(
        webhook_deliveries::tenant_id
            .eq(tenant.as_uuid())
            .and(webhook_deliveries::id.eq(delivery))
            .and(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    );
    let webhook: Option<Uuid> = match *outcome {
        AttemptOutcome::Delivered { status_code } => diesel::update(target)
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                webhook_deliveries::last_status_code.eq(Some(i32::from(status_code))),
                webhook_deliveries::last_error.eq(None::<String>),
                webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
                webhook_deliveries::delivered_at.eq(Some(Utc::now())),
            ))
            .returning(webhook_deliveries::webhook_id)
            .get_result(conn)
            .await
            .optional()?,
        AttemptOutcome::Failed { status_code, error, retry_at } => {
            let status = if retry_at.is_some() { DeliveryStatus::Pending } else { DeliveryStatus::Failed };
            diesel::update(target)
                .set((
                    webhook_deliveries::status.eq(status.as_str()),
                    webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                    webhook_deliveries::last_status_code.eq(status_code.map(i32::from)),
                    webhook_deliveries::last_error.eq(Some(cut(error, MAX_ERROR_CHARS))),
                    webhook_deliveries::next_attempt_at.eq(retry_at),
                ))
                .returning(webhook_deliveries::webhook_id)
                .get_result(conn)
                .await
                .optional()?
        }
    };
    let (Some(webhook), Some(limit)) = (webhook, disable_after) else {
        return Ok(false);
    };
    let this_webhook = tenant_webhooks::table
        .filter(tenant_webhooks::tenant_id.eq(tenant.as_uuid()).and(tenant_webhooks::id.eq(webhook)));
    if let AttemptOutcome::Delivered { .. } = outcome {
        diesel::update(this_webhook.filter(tenant_webhooks::consecutive_failures.ne(0)))
            .set(tenant_webhooks::consecutive_failures.eq(0))
            .execute(conn)
            .await?;
        return Ok(false);
    }
    let counted: Option<(i32, bool)> = diesel::update(this_webhook)
        .set(tenant_webhooks::consecutive_failures.eq(tenant_webhooks::consecutive_failures + 1))
        .returning((tenant_webhooks::consecutive_failures, tenant_webhooks::enabled))
        .get_result(conn)
        .await
        .optional()?;
    let Some((failures, true)) = counted else {
        return Ok(false);
    };
    if i64::from(failures) < i64::from(limit) {
        return Ok(false);
    }
    let reason = format!("disabled after {failures} consecutive failed delivery attempts");
    let disabled = diesel::update(this_webhook.filter(tenant_webhooks::enabled.eq(true)))
        .set((tenant_webhooks::enabled.eq(false), tenant_webhooks::disabled_reason.eq(Some(reason))))
        .execute(conn)
        .await?;
    Ok(disabled > 0)
}

/// The deliveries of one webhook of `tenant`, newest first (`(created_at, id)` keyset pagination). An
/// unknown webhook, or another tenant's, has none.
pub async fn list_deliveries(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    webhook: WebhookId,
    page: &PageRequest,
) -> DbResult<(Vec<WebhookDelivery>, Option<String>)> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant.as_uuid()))
        .filter(webhook_deliveries::webhook_id.eq(webhook.as_uuid()))
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(
            webhook_deliveries::created_at
                .lt(after.at)
                .or(webhook_deliveries::created_at.eq(after.at).and(webhook_deliveries::id.lt(after.id))),
        );
    }
    let rows = query
        .order((webhook_deliveries::created_at.desc(), webhook_deliveries::id.desc()))
        .limit(page.fetch_limit())
        .select(WebhookDelivery::as_select())
        .load(conn)
        .await?;
    Ok(page.finish(rows, |d| Keyset { at: d.created_at, id: d.id }))
}
