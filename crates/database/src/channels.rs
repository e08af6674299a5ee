//! Channels: a tenant's WhatsApp numbers, Messenger pages and web chat widgets. The row stores the public
//! configuration in `config` and the write-only fields as AES-256-GCM envelopes in `secrets` (sealed by
//! `meta-chat-channels`; this module refuses anything that is not an envelope). Every query function runs
//! inside [`crate::tenant::in_tenant_tx`] and filters on the tenant too: another tenant's id is "not found".
//!
//! Webhooks and the widget arrive before any tenant is known; [`resolve_channel`], [`resolve_by_external_id`]
//! and [`resolve_widget`] answer the routing question through SECURITY DEFINER functions, outside a tenant.

use std::fmt;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ChannelType;
use meta_chat_shared::ids::{ChannelId, TenantId};
use meta_chat_shared::secrets::Keyring;
use serde_json::Value;
use uuid::Uuid;

use crate::columns::Parsed;
use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::lookup::Routed;
use crate::schema::channels;

/// The unique index that connects a WhatsApp number or Messenger page once across the platform: a
/// [`DbError::Conflict`] naming it means the account is already connected (→ 409, field `config.phoneNumberId`
/// or `config.pageId`).
pub const EXTERNAL_ID_UNIQUE: &str = "channels_type_external_id_key";
/// The unique constraint on widget keys (a collision of 190-bit random keys; retry with a new key).
pub const WIDGET_KEY_UNIQUE: &str = "channels_widget_key_key";

/// A channel row. `Debug` leaves out the sealed secrets.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = channels, check_for_backend(diesel::pg::Pg))]
pub struct Channel {
    /// Owning tenant.
    #[diesel(deserialize_as = Uuid)]
    pub tenant_id: TenantId,
    /// Id (bound into the secrets' associated data).
    #[diesel(deserialize_as = Uuid)]
    pub id: ChannelId,
    /// WhatsApp, Messenger or web chat.
    #[diesel(column_name = type_, deserialize_as = Parsed<ChannelType>)]
    pub channel_type: ChannelType,
    /// Display name.
    pub name: String,
    /// Whether the channel takes traffic.
    pub enabled: bool,
    /// Public, type-specific configuration.
    pub config: Value,
    /// Field name → AES-256-GCM envelope.
    pub secrets: Value,
    /// Phone number id or page id; `None` for web chat.
    pub external_id: Option<String>,
    /// Public widget key; web chat only.
    pub widget_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider last rejected the channel's credentials (cleared by new secrets).
    pub flagged_at: Option<DateTime<Utc>>,
    /// Why, as the provider said it.
    pub flag_reason: Option<String>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sealed: Vec<&str> =
            self.secrets.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        f.debug_struct("Channel")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("channel_type", &self.channel_type)
            .field("name", &self.name)
            .field("enabled", &self.enabled)
            .field("config", &self.config)
            .field("secrets", &sealed)
            .field("external_id", &self.external_id)
            .field("widget_key", &self.widget_key)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("flagged_at", &self.flagged_at)
            .field("flag_reason", &self.flag_reason)
            .finish()
    }
}

/// A channel to insert; the tenant is the function's argument, never a field.
#[derive(Debug, Clone, Copy)]
pub struct NewChannel<'a> {
    /// Id; must be the one the secrets were sealed for.
    pub id: ChannelId,
    /// WhatsApp, Messenger or web chat.
    pub channel_type: ChannelType,
    /// Display name (1–100 characters after trimming).
    pub name: &'a str,
    /// Whether the channel takes traffic.
    pub enabled: bool,
    /// Public configuration (a JSON object).
    pub config: &'a Value,
    /// Field name → envelope (a JSON object of envelopes only).
    pub secrets: &'a Value,
    /// Phone number id or page id; `None` for web chat.
    pub external_id: Option<&'a str>,
    /// Widget key; web chat only.
    pub widget_key: Option<&'a str>,
}

/// Columns an update changes; `None` leaves a column as it is (`external_id: Some(None)` clears it).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = channels)]
pub struct ChannelChangeset {
    /// New display name.
    pub name: Option<String>,
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New public configuration.
    pub config: Option<Value>,
    /// New envelopes (the whole object).
    pub secrets: Option<Value>,
    /// New phone number id or page id.
    pub external_id: Option<Option<String>>,
}

impl ChannelChangeset {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.enabled.is_none()
            && self.config.is_none()
            && self.secrets.is_none()
            && self.external_id.is_none()
    }
}

/// Refuses a `secrets` value that is not a JSON object of sealed envelopes, so a plain-text token can never
/// be written by mistake.
fn check_sealed(secrets: &Value) -> DbResult<()> {
    let refuse = || DbError::InvalidInput("channel secrets must be a JSON object of sealed envelopes".into());
    let envelopes = secrets.as_object().ok_or_else(refuse)?;
    for value in envelopes.values() {
        let envelope = value.as_str().ok_or_else(refuse)?;
        if Keyring::key_id_of(envelope).is_none() || envelope.split('.').count() != 4 {
            return Err(refuse());
        }
    }
    Ok(())
}

/// Inserts a channel for `tenant`. A second channel for the same WhatsApp number or Messenger page (any
/// tenant) is `DbError::Conflict(EXTERNAL_ID_UNIQUE)`; secrets that are not envelopes are `InvalidInput`.
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewChannel<'_>) -> DbResult<Channel> {
    check_sealed(new.secrets)?;
    Ok(diesel::insert_into(channels::table)
        .values((
            channels::tenant_id.eq(tenant.as_uuid()),
            channels::id.eq(new.id.as_uuid()),
            channels::type_.eq(new.channel_type.as_str()),
            channels::name.eq(new.name),
            channels::enabled.eq(new.enabled),
            channels::config.eq(new.config),
            channels::secrets.eq(new.secrets),
            channels::external_id.eq(new.external_id),
            channels::widget_key.eq(new.widget_key),
        ))
        .returning(Channel::as_returning())
        .get_result(conn)
        .await?)
}

/// One channel; `None` for unknown ids and other tenants' channels.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, id: ChannelId) -> DbResult<Option<Channel>> {
    Ok(channels::table
        .filter(channels::tenant_id.eq(tenant.as_uuid()).and(channels::id.eq(id.as_uuid())))
        .select(Channel::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Like [`find`], and locks the row until the transaction ends: read, merge and [`update`] a configuration
/// without losing a concurrent change.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: ChannelId,
) -> DbResult<Option<Channel>> {
    Ok(channels::table
        .filter(channels::tenant_id.eq(tenant.as_uuid()).and(channels::id.eq(id.as_uuid())))
        .select(Channel::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's channels, newest first (`(created_at, id)` keyset pagination), optionally of one type.
/// Returns the page and the cursor of the next one.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    channel_type: Option<ChannelType>,
    page: &PageRequest,
) -> DbResult<(Vec<Channel>, Option<String>)> {
    // the API channel is the platform's, not one the tenant manages
    let mut query = channels::table
        .filter(channels::tenant_id.eq(tenant.as_uuid()))
        .filter(channels::type_.ne(ChannelType::Api.as_str()))
        .into_boxed();
    if let Some(channel_type) = channel_type {
        query = query.filter(channels::type_.eq(channel_type.as_str()));
    }
    if let Some(after) = page.after {
        query = query.filter(
            channels::created_at.lt(after.at).or(channels::created_at.eq(after.at).and(channels::id.lt(after.id))),
        );
    }
    let rows = query
        .order((channels::created_at.desc(), channels::id.desc()))
        .limit(page.fetch_limit())
        .select(Channel::as_select())
        .load(conn)
        .await?;
    Ok(page.finish(rows, |c| Keyset { at: c.created_at, id: c.id.as_uuid() }))
}

/// Applies `changes`; `None` for unknown ids and other tenants' channels (nothing is written). An empty
/// changeset writes nothing and returns the row as it is.
pub async fn update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: ChannelId,
    changes: &ChannelChangeset,
) -> DbResult<Option<Channel>> {
    if changes.is_empty() {
        return find(conn, tenant, id).await;
    }
    let target = channels::table.filter(channels::tenant_id.eq(tenant.as_uuid()).and(channels::id.eq(id.as_uuid())));
    let updated = if let Some(secrets) = &changes.secrets {
        check_sealed(secrets)?;
        // new credentials clear the flag the provider's refusal of the old ones set
        let unflag = (channels::flagged_at.eq(None::<DateTime<Utc>>), channels::flag_reason.eq(None::<String>));
        diesel::update(target).set((changes, unflag)).returning(Channel::as_returning()).get_result(conn).await
    } else {
        diesel::update(target).set(changes).returning(Channel::as_returning()).get_result(conn).await
    };
    Ok(updated.optional()?)
}

/// Deletes a channel (its contacts, conversations and messages cascade); `false` for unknown ids and other
/// tenants' channels.
pub async fn delete(conn: &mut AsyncPgConnection, tenant: TenantId, id: ChannelId) -> DbResult<bool> {
    let deleted = diesel::delete(channels::table)
        .filter(channels::tenant_id.eq(tenant.as_uuid()).and(channels::id.eq(id.as_uuid())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

#[derive(QueryableByName)]
struct RoutedChannel {
    #[diesel(sql_type = SqlUuid)]
    tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    channel_type: String,
}

/// The tenant and type of a channel id from a webhook URL (`/integrations/whatsapp/{channelId}`), in any
/// tenant. Runs outside a tenant transaction.
pub async fn resolve_channel(
    conn: &mut AsyncPgConnection,
    channel: ChannelId,
) -> DbResult<Option<(TenantId, ChannelType)>> {
    let row: Option<RoutedChannel> = diesel::sql_query("SELECT tenant_id, channel_type FROM app_lookup_channel($1)")
        .bind::<SqlUuid, _>(channel.as_uuid())
        .get_result(conn)
        .await
        .optional()?;
    row.map(|r| {
        let channel_type =
            r.channel_type.parse().map_err(|e| DbError::InvalidInput(format!("stored channel type: {e}")))?;
        Ok((TenantId::from_uuid(r.tenant_id), channel_type))
    })
    .transpose()
}

/// The tenant and channel a platform-app webhook belongs to, by its phone number id (WhatsApp) or page id
/// (Messenger). Runs outside a tenant transaction.
pub async fn resolve_by_external_id(
    conn: &mut AsyncPgConnection,
    channel_type: ChannelType,
    external_id: &str,
) -> DbResult<Option<(TenantId, ChannelId)>> {
    let row: Option<Routed> =
        diesel::sql_query("SELECT tenant_id, channel_id AS row_id FROM app_lookup_channel_by_external_id($1, $2)")
            .bind::<Text, _>(channel_type.as_str())
            .bind::<Text, _>(external_id)
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|r| (TenantId::from_uuid(r.tenant_id), ChannelId::from_uuid(r.row_id))))
}

/// The tenant and web chat channel of a public widget key. Runs outside a tenant transaction.
pub async fn resolve_widget(conn: &mut AsyncPgConnection, widget_key: &str) -> DbResult<Option<(TenantId, ChannelId)>> {
    let row: Option<Routed> = diesel::sql_query("SELECT tenant_id, channel_id AS row_id FROM app_lookup_widget($1)")
        .bind::<Text, _>(widget_key)
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(|r| (TenantId::from_uuid(r.tenant_id), ChannelId::from_uuid(r.row_id))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_sealed;

    #[test]
    fn only_objects_of_envelopes_pass_as_secrets() {
        assert!(check_sealed(&json!({})).is_ok());
        assert!(check_sealed(&json!({ "appSecret": "v1.k1.bm9uY2U.Y2lwaGVy" })).is_ok());
        for bad in [
            json!({ "appSecret": "plain-text-secret" }),
            json!({ "appSecret": "v1.k1.only-three" }),
            json!({ "appSecret": 42 }),
            json!({ "appSecret": null }),
            json!(["v1.k1.a.b"]),
            json!("v1.k1.a.b"),
        ] {
            assert!(check_sealed(&bad).is_err(), "{bad}");
        }
    }
}
