//! Tenant outbound webhooks: the subscriptions (`tenant_webhooks`) and their delivery log
//! (`webhook_deliveries`: [`create_deliveries`], [`due_deliveries`], [`record_attempt`],
//! [`list_deliveries`]). The signing secret is stored only as an AES-256-GCM envelope (sealed by
//! `meta-chat-events`; this module refuses anything else) and no `Debug` output shows it.
//!
//! Every function here except [`due_deliveries`] runs inside [`crate::tenant::in_tenant_tx`] and filters on
//! the tenant too: another tenant's id is "not found". [`due_deliveries`] reads across tenants for the
//! delivery worker and therefore needs the owner pool (a role that bypasses row-level security).

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{TenantId, WebhookId};
use meta_chat_shared::secrets::Keyring;
use uuid::Uuid;

use self::columns::TextList;
use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::schema::tenant_webhooks;

mod columns;
mod deliveries;

pub use deliveries::{
    AttemptOutcome, DeliveryEvent, DeliveryStatus, DueDelivery, WebhookDelivery, create_deliveries, due_deliveries,
    list_deliveries, record_attempt,
};

/// Longest stored error text of an attempt (a CHECK allows 1000 characters).
pub const MAX_ERROR_CHARS: usize = 1000;
/// Longest description (a CHECK allows 500 characters).
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest URL (a CHECK allows 2048 characters).
pub const MAX_URL_CHARS: usize = 2048;

/// A webhook subscription. `Debug` leaves out the sealed secret.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = tenant_webhooks, check_for_backend(diesel::pg::Pg))]
pub struct Webhook {
    /// Owning tenant.
    #[diesel(deserialize_as = Uuid)]
    pub tenant_id: TenantId,
    /// Id (bound into the secret's associated data).
    #[diesel(deserialize_as = Uuid)]
    pub id: WebhookId,
    /// Where deliveries are sent (`http(s)://…`, no credentials).
    pub url: String,
    /// The tenant's note.
    pub description: Option<String>,
    /// Subscribed event names, e.g. `message.received`; never empty.
    #[diesel(deserialize_as = TextList)]
    pub events: Vec<String>,
    /// The signing secret as an AES-256-GCM envelope.
    pub secret_enc: String,
    /// Disabled webhooks get no deliveries.
    pub enabled: bool,
    /// Failed attempts since the last successful one; reaching the configured limit disables the webhook.
    pub consecutive_failures: i32,
    /// Why the platform disabled it (`None` when enabled or disabled by the tenant).
    pub disabled_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("consecutive_failures", &self.consecutive_failures)
            .field("disabled_reason", &self.disabled_reason)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// A webhook to insert; the tenant is the function's argument, never a field.
#[derive(Clone, Copy)]
pub struct NewWebhook<'a> {
    /// Id; must be the one the secret was sealed for.
    pub id: WebhookId,
    /// Destination URL (already validated).
    pub url: &'a str,
    /// Optional note (at most [`MAX_DESCRIPTION_CHARS`]).
    pub description: Option<&'a str>,
    /// Event names, at least one (the CHECK lists the valid ones).
    pub events: &'a [String],
    /// The sealed signing secret.
    pub secret_enc: &'a str,
    /// Whether deliveries start at once.
    pub enabled: bool,
}

/// What [`update`] changes; `None` leaves a column as it is (`description: Some(None)` clears it).
/// Setting `enabled: Some(true)` also resets `consecutive_failures` and `disabled_reason`.
#[derive(Debug, Clone, Default)]
pub struct WebhookChangeset {
    /// New destination URL (already validated).
    pub url: Option<String>,
    /// New event names (at least one).
    pub events: Option<Vec<String>>,
    /// New note, or `Some(None)` to remove it.
    pub description: Option<Option<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

#[derive(AsChangeset)]
#[diesel(table_name = tenant_webhooks)]
#[expect(clippy::option_option, reason = "diesel changesets: `None` skips a column, `Some(None)` writes NULL")]
struct Columns {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<Option<String>>,
    enabled: Option<bool>,
    consecutive_failures: Option<i32>,
    disabled_reason: Option<Option<String>>,
}

impl WebhookChangeset {
    fn is_empty(&self) -> bool {
        self.url.is_none() && self.events.is_none() && self.description.is_none() && self.enabled.is_none()
    }

    fn columns(&self) -> Columns {
        let re_enabled = self.enabled == Some(true);
        Columns {
            url: self.url.clone(),
            events: self.events.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            consecutive_failures: re_enabled.then_some(0),
            disabled_reason: re_enabled.then_some(None),
        }
    }
}

/// Refuses a secret that is not an envelope, so a plain-text secret can never be written by mistake.
fn check_sealed(secret_enc: &str) -> DbResult<()> {
    if Keyring::key_id_of(secret_enc).is_some() && secret_enc.split('.').count() == 4 {
        Ok(())
    } else {
        Err(DbError::InvalidInput("webhook secrets must be sealed envelopes".into()))
    }
}

fn check_events(events: &[String]) -> DbResult<()> {
    if events.is_empty() {
        return Err(DbError::InvalidInput("a webhook needs at least one event".into()));
    }
    Ok(())
}

/// Inserts a webhook for `tenant`. A secret that is not an envelope, or no events, is `InvalidInput`.
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewWebhook<'_>) -> DbResult<Webhook> {
    check_sealed(new.secret_enc)?;
    check_events(new.events)?;
    Ok(diesel::insert_into(tenant_webhooks::table)
        .values((
            tenant_webhooks::tenant_id.eq(tenant.as_uuid()),
            tenant_webhooks::id.eq(new.id.as_uuid()),
            tenant_webhooks::url.eq(new.url),
            tenant_webhooks::description.eq(new.description),
            tenant_webhooks::events.eq(new.events),
            tenant_webhooks::secret_enc.eq(new.secret_enc),
            tenant_webhooks::enabled.eq(new.enabled),
        ))
        .returning(Webhook::as_returning())
        .get_result(conn)
        .await?)
}

/// One webhook; `None` for unknown ids and other tenants' webhooks.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, id: WebhookId) -> DbResult<Option<Webhook>> {
    Ok(tenant_webhooks::table
        .filter(tenant_webhooks::tenant_id.eq(tenant.as_uuid()).and(tenant_webhooks::id.eq(id.as_uuid())))
        .select(Webhook::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's webhooks, newest first (`(created_at, id)` keyset pagination). Returns the page and the
/// cursor of the next one.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    page: &PageRequest,
) -> DbResult<(Vec<Webhook>, Option<String>)> {
    let mut query = tenant_webhooks::table.filter(tenant_webhooks::tenant_id.eq(tenant.as_uuid())).into_boxed();
    if let Some(after) = page.after {
        query = query.filter(
            tenant_webhooks::created_at
                .lt(after.at)
                .or(tenant_webhooks::created_at.eq(after.at).and(tenant_webhooks::id.lt(after.id))),
        );
    }
    let rows = query
        .order((tenant_webhooks::created_at.desc(), tenant_webhooks::id.desc()))
        .limit(page.fetch_limit())
        .select(Webhook::as_select())
        .load(conn)
        .await?;
    Ok(page.finish(rows, |w| Keyset { at: w.created_at, id: w.id.as_uuid() }))
}

/// Applies `changes`; `None` for unknown ids and other tenants' webhooks (nothing is written). An empty
/// changeset writes nothing and returns the row as it is. Re-enabling resets the failure count and the
/// reason the platform disabled it.
pub async fn update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: WebhookId,
    changes: &WebhookChangeset,
) -> DbResult<Option<Webhook>> {
    if changes.is_empty() {
        return find(conn, tenant, id).await;
    }
    if let Some(events) = &changes.events {
        check_events(events)?;
    }
    Ok(diesel::update(tenant_webhooks::table)
        .filter(tenant_webhooks::tenant_id.eq(tenant.as_uuid()).and(tenant_webhooks::id.eq(id.as_uuid())))
        .set(changes.columns())
        .returning(Webhook::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Deletes a webhook and its delivery log; `false` for unknown ids and other tenants' webhooks.
pub async fn delete(conn: &mut AsyncPgConnection, tenant: TenantId, id: WebhookId) -> DbResult<bool> {
    let deleted = diesel::delete(tenant_webhooks::table)
        .filter(tenant_webhooks::tenant_id.eq(tenant.as_uuid()).and(tenant_webhooks::id.eq(id.as_uuid())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// The tenant's enabled webhooks subscribed to `event_type` (a dotted event name), oldest first.
pub async fn subscribed(conn: &mut AsyncPgConnection, tenant: TenantId, event_type: &str) -> DbResult<Vec<Webhook>> {
    Ok(tenant_webhooks::table
        .filter(tenant_webhooks::tenant_id.eq(tenant.as_uuid()))
        .filter(tenant_webhooks::enabled.eq(true))
        .filter(tenant_webhooks::events.contains(vec![event_type]))
        .order((tenant_webhooks::created_at.asc(), tenant_webhooks::id.asc()))
        .select(Webhook::as_select())
        .load(conn)
        .await?)
}

/// `text` cut to at most `max` characters (on a character boundary).
pub(crate) fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_envelopes_pass_as_secrets() {
        assert!(check_sealed("v1.k1.bm9uY2U.Y2lwaGVy").is_ok());
        for bad in ["whsec_plain", "v1.k1.only-three", "", "v2.k.a.b.c"] {
            assert!(check_sealed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn re_enabling_resets_the_failure_state_and_disabling_does_not() {
        let enable = WebhookChangeset { enabled: Some(true), ..WebhookChangeset::default() }.columns();
        assert_eq!(enable.consecutive_failures, Some(0));
        assert_eq!(enable.disabled_reason, Some(None));
        let disable = WebhookChangeset { enabled: Some(false), ..WebhookChangeset::default() }.columns();
        assert_eq!(disable.consecutive_failures, None);
        assert_eq!(disable.disabled_reason, None);
        assert!(WebhookChangeset::default().is_empty());
    }

    #[test]
    fn cut_respects_character_boundaries() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 10), "abc");
    }
}
