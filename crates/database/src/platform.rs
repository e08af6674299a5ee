//! Platform-admin queries across tenants: the explicit bypass of row-level security that ARCHITECTURE.md
//! promises. They only make sense on a connection of the owner role (`database.admin_url`, `BYPASSRLS`); on
//! the runtime role every tenant table would look empty. [`in_platform_tx`] therefore refuses to run on a
//! role that cannot bypass row-level security, instead of returning empty lists. Callers record each admin
//! action in the audit log in the same transaction ([`crate::audit::insert`] for one tenant,
//! [`crate::audit::insert_platform`] otherwise).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::{Plan, TenantStatus};
use uuid::Uuid;

use crate::audit::like_escape;
use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::schema::{channels, conversations, tenant_users, tenants};

#[derive(QueryableByName)]
struct Bypass {
    #[diesel(sql_type = Bool)]
    bypass: bool,
}

/// Runs `f` in a transaction on a connection whose role bypasses row-level security (the owner role, or a
/// superuser). On any other role it fails with [`DbError::InvalidInput`] before `f` runs: an admin view
/// silently showing no tenants would be worse than an error.
pub async fn in_platform_tx<R, E, F>(conn: &mut AsyncPgConnection, f: F) -> Result<R, E>
where
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> BoxFuture<'r, Result<R, E>> + Send,
    E: From<diesel::result::Error> + From<DbError> + Send,
    R: Send,
{
    conn.transaction(async move |conn| {
        let role: Bypass = diesel::sql_query(
            "SELECT coalesce((SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user), false) \
             AS bypass",
        )
        .get_result(conn)
        .await?;
        if !role.bypass {
            return Err(E::from(DbError::InvalidInput(
                "platform queries need a role that bypasses row-level security (database.admin_url)".into(),
            )));
        }
        f(conn).await
    })
    .await
}

/// A tenant as platform admins see it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg))]
pub struct TenantRecord {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique URL-safe handle.
    pub slug: String,
    /// `active` or `suspended` (see [`TenantRecord::status`]).
    pub status: String,
    /// The plan bought.
    pub plan_id: String,
    /// A plan set by a platform admin, winning over `plan_id`.
    pub plan_override: Option<String>,
    /// When it was suspended (set exactly while suspended: a CHECK insists).
    pub suspended_at: Option<DateTime<Utc>>,
    /// Why, as the admin wrote it.
    pub suspended_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl TenantRecord {
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

/// Which tenants [`list_tenants`] returns.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Only tenants in this status.
    pub status: Option<TenantStatus>,
    /// Substring of the name or slug, case-insensitive, matched literally.
    pub query: Option<String>,
}

/// Tenants, newest first, `(created_at, id)` keyset pagination.
pub async fn list_tenants(
    conn: &mut AsyncPgConnection,
    filter: &TenantFilter,
    page: &PageRequest,
) -> DbResult<(Vec<TenantRecord>, Option<String>)> {
    let mut query = tenants::table.select(TenantRecord::as_select()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(tenants::status.eq(status.as_str()));
    }
    if let Some(text) = filter.query.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", like_escape(text));
        query = query.filter(tenants::name.ilike(pattern.clone()).or(tenants::slug.ilike(pattern)));
    }
    if let Some(after) = page.after {
        query = query.filter(
            tenants::created_at.lt(after.at).or(tenants::created_at.eq(after.at).and(tenants::id.lt(after.id))),
        );
    }
    let rows: Vec<TenantRecord> =
        query.order((tenants::created_at.desc(), tenants::id.desc())).limit(page.fetch_limit()).load(conn).await?;
    Ok(page.finish(rows, |row| Keyset { at: row.created_at, id: row.id }))
}

/// One tenant; `None` for an unknown id.
pub async fn find_tenant(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Option<TenantRecord>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(TenantRecord::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// How much a tenant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantCounts {
    /// Team members (any status).
    pub users: i64,
    /// Connected channels.
    pub channels: i64,
    /// Conversations (any status).
    pub conversations: i64,
}

/// Counts a tenant's users, channels and conversations (each an index-only count on a `tenant_id` index).
pub async fn tenant_counts(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<TenantCounts> {
    let id = tenant.as_uuid();
    let users = tenant_users::table.filter(tenant_users::tenant_id.eq(id)).count().get_result(conn).await?;
    let channels = channels::table.filter(channels::tenant_id.eq(id)).count().get_result(conn).await?;
    let conversations = conversations::table.filter(conversations::tenant_id.eq(id)).count().get_result(conn).await?;
    Ok(TenantCounts { users, channels, conversations })
}

/// What a platform admin changes about a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantChange {
    /// Suspend or resume. Resuming clears the suspension time and reason.
    pub status: Option<TenantStatus>,
    /// Why the tenant is suspended; used only with `status: Some(Suspended)` (an already suspended tenant
    /// keeps its suspension time and gets the new reason).
    pub suspended_reason: Option<String>,
    /// `Some(None)` removes the override, `Some(Some(plan))` sets it.
    pub plan_override: Option<Option<Plan>>,
}

/// A tenant before and after a change.
#[derive(Debug, Clone)]
pub struct TenantUpdate {
    /// As it was.
    pub before: TenantRecord,
    /// As it is now.
    pub after: TenantRecord,
}

/// Applies `change` to the tenant (row locked for the transaction); `None` for an unknown id.
pub async fn update_tenant(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    change: &TenantChange,
) -> DbResult<Option<TenantUpdate>> {
    let Some(before) = tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(TenantRecord::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let was_suspended = before.status()? == TenantStatus::Suspended;
    let status = change.status.map_or_else(|| before.status.clone(), |status| status.as_str().to_owned());
    let (suspended_at, suspended_reason) = match change.status {
        Some(TenantStatus::Suspended) => (
            before.suspended_at.filter(|_| was_suspended).or_else(|| Some(Utc::now())),
            change.suspended_reason.clone().or_else(|| before.suspended_reason.clone().filter(|_| was_suspended)),
        ),
        Some(TenantStatus::Active) => (None, None),
        None => (before.suspended_at, before.suspended_reason.clone()),
    };
    let plan_override = change
        .plan_override
        .map_or_else(|| before.plan_override.clone(), |plan| plan.map(|plan| plan.as_str().to_owned()));
    let unchanged = status == before.status
        && suspended_at == before.suspended_at
        && suspended_reason == before.suspended_reason
        && plan_override == before.plan_override;
    if unchanged {
        return Ok(Some(TenantUpdate { after: before.clone(), before }));
    }
    let after = diesel::update(tenants::table.filter(tenants::id.eq(tenant.as_uuid())))
        .set((
            tenants::status.eq(status),
            tenants::suspended_at.eq(suspended_at),
            tenants::suspended_reason.eq(suspended_reason),
            tenants::plan_override.eq(plan_override),
        ))
        .returning(TenantRecord::as_returning())
        .get_result(conn)
        .await?;
    Ok(Some(TenantUpdate { before, after }))
}
