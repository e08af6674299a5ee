//! Tenants: the row a tenant user sees of its own organisation, and the slug derived from a company name.
//! The `tenants` policy compares `id` (not `tenant_id`) with the transaction's tenant, so [`find`] sees only
//! the tenant of the surrounding [`crate::tenant::in_tenant_tx`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::TenantStatus;
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::settings::TenantSettings;
use uuid::Uuid;

use crate::error::{DbError, DbResult};
use crate::schema::tenants;

/// The unique constraint on `tenants.slug`.
pub const SLUG_UNIQUE: &str = "tenants_slug_key";
/// Longest slug the CHECK constraint allows.
const SLUG_MAX: usize = 63;
/// Room left for `-` and a six-character suffix when the plain slug is taken.
const SUFFIX_LEN: usize = 7;

/// A tenant row (the fields the API uses).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg))]
pub struct Tenant {
    /// Id.
    pub id: Uuid,
    /// Display name (the company name given at sign-up).
    pub name: String,
    /// Unique URL-safe handle.
    pub slug: String,
    /// `active` or `suspended` (see [`Tenant::status`]).
    pub status: String,
    /// The plan bought.
    pub plan_id: String,
    /// A plan set by a platform admin, winning over `plan_id`.
    pub plan_override: Option<String>,
    /// When it was suspended.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl Tenant {
    /// The typed id.
    pub fn tenant_id(&self) -> TenantId {
        TenantId::from_uuid(self.id)
    }

    /// The status as the domain enum (the database CHECK guarantees it parses).
    pub fn status(&self) -> DbResult<TenantStatus> {
        self.status.parse().map_err(|e| DbError::InvalidInput(format!("stored tenant status: {e}")))
    }

    /// The plan in force: the admin override if set, else the bought plan.
    pub fn plan(&self) -> &str {
        self.plan_override.as_deref().unwrap_or(&self.plan_id)
    }
}

/// The tenant of the surrounding tenant transaction; `None` for any other id.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Option<Tenant>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(Tenant::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// A tenant with what its owners and admins manage: settings, whether an LLM key is stored, last change.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg))]
pub struct TenantDetails {
    /// The tenant.
    #[diesel(embed)]
    pub tenant: Tenant,
    /// `tenants.settings` as stored; read it with [`TenantSettings::from_stored`] (see [`Self::settings`]).
    pub settings: serde_json::Value,
    /// The tenant's own LLM API key, sealed (`meta_chat_shared::secrets`); never shown.
    pub llm_api_key_enc: Option<String>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

// Hand-written: the sealed key stays out of logs even though it is encrypted.
impl std::fmt::Debug for TenantDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDetails")
            .field("tenant", &self.tenant)
            .field("has_llm_api_key", &self.llm_api_key_enc.is_some())
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

impl TenantDetails {
    /// The typed settings (missing sections read as defaults).
    pub fn settings(&self) -> TenantSettings {
        TenantSettings::from_stored(&self.settings)
    }
}

/// A change to a tenant: each `Some` field is written, `None` fields are left alone.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = tenants)]
pub struct TenantChangeset<'a> {
    /// New name.
    pub name: Option<&'a str>,
    /// New settings (the whole document, see [`TenantSettings::to_stored`]).
    pub settings: Option<&'a serde_json::Value>,
    /// `Some(Some(envelope))` stores a sealed key, `Some(None)` removes it.
    pub llm_api_key_enc: Option<Option<String>>,
}

impl TenantChangeset<'_> {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.settings.is_none() && self.llm_api_key_enc.is_none()
    }
}

/// The tenant of the surrounding tenant transaction with its settings; `None` for any other id.
pub async fn find_details(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Option<TenantDetails>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(TenantDetails::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Like [`find_details`], locking the row until the transaction ends, so a read-modify-write of the settings
/// does not lose a concurrent change.
pub async fn find_details_for_update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> DbResult<Option<TenantDetails>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(TenantDetails::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?)
}

/// Applies `change` and returns the tenant as it is now; `None` for any tenant but the transaction's.
pub async fn update_details(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    change: &TenantChangeset<'_>,
) -> DbResult<Option<TenantDetails>> {
    if change.is_empty() {
        return find_details(conn, tenant).await;
    }
    Ok(diesel::update(tenants::table)
        .filter(tenants::id.eq(tenant.as_uuid()))
        .set(change)
        .returning(TenantDetails::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Inserts the tenant `tenant` itself (sign-up). The surrounding transaction must be set to `tenant`.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, name: &str, slug: &str) -> DbResult<Tenant> {
    Ok(diesel::insert_into(tenants::table)
        .values((tenants::id.eq(tenant.as_uuid()), tenants::name.eq(name), tenants::slug.eq(slug)))
        .returning(Tenant::as_returning())
        .get_result(conn)
        .await?)
}

/// The slug for a company name: ASCII letters and digits lower-cased, every other run of characters one `-`,
/// no `-` at either end, at most 56 characters (leaving room for a suffix), `tenant` when too little is left.
/// The result satisfies the `tenants.slug` CHECK (`^[a-z0-9][a-z0-9-]{1,62}$`).
pub fn slug_base(company_name: &str) -> String {
    let mut slug = String::with_capacity(company_name.len());
    for c in company_name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(SLUG_MAX - SUFFIX_LEN);
    let slug = slug.trim_end_matches('-');
    if slug.len() < 2 { "tenant".to_owned() } else { slug.to_owned() }
}

/// `base` with a random six-character suffix, for when `base` is taken.
pub(crate) fn slug_with_suffix(base: &str) -> String {
    let random = Uuid::new_v4().simple().to_string();
    format!("{base}-{}", &random[..SUFFIX_LEN - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies_check(slug: &str) -> bool {
        let bytes = slug.as_bytes();
        (2..=SLUG_MAX).contains(&slug.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    }

    #[test]
    fn slugs_are_lowercase_ascii_with_single_dashes() {
        assert_eq!(slug_base("Acme Corp"), "acme-corp");
        assert_eq!(slug_base("  --ACME,  Inc.!! "), "acme-inc");
        assert_eq!(slug_base("Café Crème 2"), "caf-cr-me-2");
        assert_eq!(slug_base("日本"), "tenant");
        assert_eq!(slug_base("X"), "tenant");
        assert_eq!(slug_base("x1"), "x1");
    }

    #[test]
    fn slugs_always_satisfy_the_check_constraint() {
        let long = "a".repeat(300);
        for name in ["Acme", "", "-", "Ω", "a b", long.as_str(), "9 lives", &format!("{} x", "b".repeat(55))] {
            let base = slug_base(name);
            assert!(satisfies_check(&base), "{name:?} -> {base:?}");
            let suffixed = slug_with_suffix(&base);
            assert!(satisfies_check(&suffixed), "{name:?} -> {suffixed:?}");
            assert_ne!(suffixed, slug_with_suffix(&base));
        }
    }
}
