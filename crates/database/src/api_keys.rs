//! API keys: server-to-server credentials of a tenant. Only the lookup prefix and the SHA-256 of the whole
//! key are stored (key material: `meta_chat_shared::api_keys`); no function here returns the hash.
//!
//! [`authenticate`] is the one entry point without a tenant: it finds the tenant by the key's prefix through
//! the SECURITY DEFINER function `app_lookup_api_key`, then reads the row under row-level security inside
//! [`crate::tenant::in_tenant_tx`]. Everything else runs inside a tenant transaction and filters on the tenant
//! too: another tenant's key id is "not found".

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::api_keys::{ApiScope, GeneratedApiKey, PresentedApiKey};
use meta_chat_shared::ids::{ApiKeyId, TenantId, UserId};
use uuid::Uuid;

use crate::columns::{MaybeId, ParsedList};
use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::lookup::Routed;
use crate::schema::api_keys;
use crate::tenant::in_tenant_tx;

/// The unique constraint on lookup prefixes: a collision of 8 random alphanumerics (about one in 10^14 per
/// pair). Generate new material and retry.
pub const PREFIX_UNIQUE: &str = "api_keys_prefix_key";

/// An API key row, without its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    /// Owning tenant: the only tenant the key can ever act in.
    #[diesel(deserialize_as = Uuid)]
    pub tenant_id: TenantId,
    /// Id.
    #[diesel(deserialize_as = Uuid)]
    pub id: ApiKeyId,
    /// Label chosen by the tenant.
    pub name: String,
    /// The visible start of the key (`mck_` + 8 characters).
    pub prefix: String,
    /// What the key may do.
    #[diesel(deserialize_as = ParsedList<ApiScope>)]
    pub scopes: Vec<ApiScope>,
    /// The user who created it, while that user exists.
    #[diesel(deserialize_as = MaybeId<UserId>)]
    pub created_by: Option<UserId>,
    /// The key stops working at this time.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful authentication, at most a minute stale.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked keys never authenticate again.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// Whether the key authenticates at `now`: not revoked and not expired.
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| expires > now)
    }
}

/// A key to insert; the tenant is the function's argument, never a field.
#[derive(Debug, Clone, Copy)]
pub struct NewApiKey<'a> {
    /// Label (1–100 characters after trimming).
    pub name: &'a str,
    /// Scopes, at least one; duplicates are dropped.
    pub scopes: &'a [ApiScope],
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// The user creating it.
    pub created_by: Option<UserId>,
    /// Freshly generated material: its prefix and hash are stored, its plain key is not.
    pub material: &'a GeneratedApiKey,
}

fn scope_texts(scopes: &[ApiScope]) -> Vec<&'static str> {
    let mut scopes = scopes.to_vec();
    scopes.sort_unstable();
    scopes.dedup();
    scopes.into_iter().map(ApiScope::as_str).collect()
}

/// Inserts a key for `tenant`. A prefix collision is `DbError::Conflict(PREFIX_UNIQUE)`.
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewApiKey<'_>) -> DbResult<ApiKey> {
    if new.scopes.is_empty() {
        return Err(DbError::InvalidInput("an API key needs at least one scope".into()));
    }
    Ok(diesel::insert_into(api_keys::table)
        .values((
            api_keys::tenant_id.eq(tenant.as_uuid()),
            api_keys::id.eq(ApiKeyId::new().as_uuid()),
            api_keys::name.eq(new.name),
            api_keys::prefix.eq(new.material.prefix()),
            api_keys::key_hash.eq(new.material.hash().as_slice()),
            api_keys::scopes.eq(scope_texts(new.scopes)),
            api_keys::created_by.eq(new.created_by.map(|u| u.as_uuid())),
            api_keys::expires_at.eq(new.expires_at),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await?)
}

/// One key; `None` for unknown ids and other tenants' keys.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, id: ApiKeyId) -> DbResult<Option<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::tenant_id.eq(tenant.as_uuid()).and(api_keys::id.eq(id.as_uuid())))
        .select(ApiKey::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's keys, revoked ones included, newest first (`(created_at, id)` keyset pagination).
/// Returns the page and the cursor of the next one.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    page: &PageRequest,
) -> DbResult<(Vec<ApiKey>, Option<String>)> {
    let mut query = api_keys::table.filter(api_keys::tenant_id.eq(tenant.as_uuid())).into_boxed();
    if let Some(after) = page.after {
        query = query.filter(
            api_keys::created_at.lt(after.at).or(api_keys::created_at.eq(after.at).and(api_keys::id.lt(after.id))),
        );
    }
    let rows = query
        .order((api_keys::created_at.desc(), api_keys::id.desc()))
        .limit(page.fetch_limit())
        .select(ApiKey::as_select())
        .load(conn)
        .await?;
    Ok(page.finish(rows, |k| Keyset { at: k.created_at, id: k.id.as_uuid() }))
}

/// Revokes a key; it stops authenticating at once. Revoking twice keeps the first time. `None` for unknown
/// ids and other tenants' keys.
pub async fn revoke(conn: &mut AsyncPgConnection, tenant: TenantId, id: ApiKeyId) -> DbResult<Option<ApiKey>> {
    let revoked = diesel::update(api_keys::table)
        .filter(api_keys::tenant_id.eq(tenant.as_uuid()).and(api_keys::id.eq(id.as_uuid())))
        .filter(api_keys::revoked_at.is_null())
        .set(api_keys::revoked_at.eq(diesel::dsl::now))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match revoked {
        Some(key) => Ok(Some(key)),
        None => find(conn, tenant, id).await,
    }
}

/// Replaces a live key's secret and prefix with `material`, keeping its id, name, scopes and expiry; the old
/// key stops working at once and `last_used_at` starts over. `None` for unknown, revoked and other tenants'
/// keys. A prefix collision is `DbError::Conflict(PREFIX_UNIQUE)`.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: ApiKeyId,
    material: &GeneratedApiKey,
) -> DbResult<Option<ApiKey>> {
    Ok(diesel::update(api_keys::table)
        .filter(api_keys::tenant_id.eq(tenant.as_uuid()).and(api_keys::id.eq(id.as_uuid())))
        .filter(api_keys::revoked_at.is_null())
        .set((
            api_keys::prefix.eq(material.prefix()),
            api_keys::key_hash.eq(material.hash().as_slice()),
            api_keys::last_used_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

#[derive(QueryableByName)]
struct Touched {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_used_at: Option<DateTime<Utc>>,
}

/// The tenant and key a presented key (`Authorization: Bearer mck_…` or `X-API-Key`) belongs to, if it is
/// well-formed, known, matches the stored hash (compared in constant time), and is neither revoked nor
/// expired; `None` otherwise, without saying why. Runs its own tenant transaction: call it on a connection
/// that is not in one. Records `last_used_at` at most once a minute per key, so most requests write nothing.
///
/// The tenant's status (suspended or not) is the caller's check.
pub async fn authenticate(conn: &mut AsyncPgConnection, presented: &str) -> DbResult<Option<(TenantId, ApiKey)>> {
    let Some(presented) = PresentedApiKey::parse(presented) else {
        return Ok(None);
    };
    let routed: Option<Routed> =
        diesel::sql_query("SELECT tenant_id, api_key_id AS row_id FROM app_lookup_api_key($1)")
            .bind::<Text, _>(presented.prefix())
            .get_result(conn)
            .await
            .optional()?;
    let Some(routed) = routed else {
        return Ok(None);
    };
    let (tenant, id) = (TenantId::from_uuid(routed.tenant_id), ApiKeyId::from_uuid(routed.row_id));
    let key = in_tenant_tx(conn, tenant, move |conn| {
        Box::pin(async move {
            let row: Option<(ApiKey, Vec<u8>)> = api_keys::table
                .filter(api_keys::tenant_id.eq(tenant.as_uuid()).and(api_keys::id.eq(id.as_uuid())))
                .select((ApiKey::as_select(), api_keys::key_hash))
                .first(conn)
                .await
                .optional()?;
            let Some((mut key, stored_hash)) = row else {
                return Ok::<_, DbError>(None);
            };
            if !presented.matches(&stored_hash) || !key.is_usable_at(Utc::now()) {
                return Ok(None);
            }
            let touched: Option<Touched> = diesel::sql_query(
                "UPDATE api_keys SET last_used_at = now() \
                 WHERE tenant_id = $1 AND id = $2 \
                   AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') \
                 RETURNING last_used_at",
            )
            .bind::<SqlUuid, _>(tenant.as_uuid())
            .bind::<SqlUuid, _>(id.as_uuid())
            .get_result(conn)
            .await
            .optional()?;
            if let Some(touched) = touched {
                key.last_used_at = touched.last_used_at;
            }
            Ok(Some(key))
        })
    })
    .await?;
    Ok(key.map(|key| (tenant, key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_stored_sorted_and_once() {
        let scopes = [ApiScope::Admin, ApiScope::Chat, ApiScope::Admin, ApiScope::DocumentsRead];
        assert_eq!(scope_texts(&scopes), ["chat", "documents:read", "admin"]);
    }

    #[test]
    fn usable_means_not_revoked_and_not_expired() {
        let now = Utc::now();
        let key = ApiKey {
            tenant_id: TenantId::new(),
            id: ApiKeyId::new(),
            name: "k".into(),
            prefix: "mck_abcdefgh".into(),
            scopes: vec![ApiScope::Chat],
            created_by: None,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            created_at: now,
        };
        assert!(key.is_usable_at(now));
        assert!(ApiKey { expires_at: Some(now + chrono::Duration::seconds(1)), ..key.clone() }.is_usable_at(now));
        assert!(!ApiKey { expires_at: Some(now), ..key.clone() }.is_usable_at(now));
        assert!(!ApiKey { revoked_at: Some(now), ..key }.is_usable_at(now));
    }
}
