//! The platform-admin flows behind `/admin/*` and [`crate::extract::PlatformAdmin`]: login, the tenant list,
//! one tenant, suspend/resume and plan override, and the audit log.
//!
//! Admins work across tenants, which row-level security hides from the runtime role. Their reads and writes
//! therefore go through [`AppState::admin_db`], a small pool of the owner role, and only ever inside
//! [`platform::in_platform_tx`] (which refuses a role that cannot bypass row-level security). Every admin
//! action writes an `admin.*` audit entry — who, what, from where — in the same transaction as the action:
//! under the tenant it concerns, or platform-level (no tenant) for logins and listings.
//!
//! Logins read `platform_admins` through the runtime pool (it may read and update that table); unknown
//! email and wrong password get the same answer after the same work (one argon2 verification). Nothing here
//! logs an email address, password or token.

use std::time::Duration;

use meta_chat_database::audit::{self, Actor, AuditEntry, AuditFilter, NewAuditEntry, RequestOrigin};
use meta_chat_database::keyset::PageRequest;
use meta_chat_database::platform::{self, TenantChange, TenantCounts, TenantFilter, TenantRecord};
use meta_chat_database::platform_admins::{self, PlatformAdmin as AdminRow};
use meta_chat_database::{DbError, DbPool, PooledConnection};
use meta_chat_shared::TenantStatus;
use meta_chat_shared::auth::{IssuedToken, Subject, TokenKind, password};
use meta_chat_shared::ids::{AdminId, TenantId};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::PlatformAdmin;
use crate::state::AppState;

/// What a successful admin login hands out. `Debug` does not show the token.
#[derive(Debug, Clone)]
pub struct AdminSession {
    /// The signed access token (kind `platform_admin`).
    pub access: IssuedToken,
    /// The admin.
    pub admin: AdminRow,
}

/// One tenant with its counts.
#[derive(Debug, Clone)]
pub struct TenantOverview {
    /// The tenant.
    pub tenant: TenantRecord,
    /// Its users, channels and conversations.
    pub counts: TenantCounts,
}

fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}

async fn connection(pool: &DbPool) -> Result<PooledConnection, ApiError> {
    pool.get().await.map_err(|err| internal(DbError::from(err)))
}

fn admin_event<'a>(
    admin: AdminId,
    action: &'a str,
    target: Option<(&'a str, String)>,
    origin: &'a RequestOrigin,
    details: Value,
) -> NewAuditEntry<'a> {
    let (target_type, target_id) = target.map_or((None, None), |(kind, id)| (Some(kind), Some(id)));
    NewAuditEntry { actor: Actor::Admin(admin), action, target_type, target_id, origin, details }
}

/// Writes one platform-level audit entry in its own transaction.
async fn record_platform(
    state: &AppState,
    actor: Actor,
    action: &'static str,
    target_id: Option<String>,
    origin: RequestOrigin,
    details: Value,
) -> Result<(), ApiError> {
    let mut conn = connection(&state.admin_db).await?;
    platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let target_type = target_id.is_some().then_some("platform_admin");
            let entry = NewAuditEntry { actor, action, target_type, target_id, origin: &origin, details };
            audit::insert_platform(conn, &entry).await.map(drop)
        })
    })
    .await
    .map_err(internal)
}

/// Logs an admin in: 401 `UNAUTHORIZED` for an unknown email or a wrong password (one answer, same work),
/// 403 for a disabled account (only once the password is right). Failures and successes are audited
/// (`admin.login_failed`, `admin.login_refused`, `admin.login`); the email typed is never recorded.
pub async fn login(
    state: &AppState,
    email: &str,
    plain: String,
    origin: RequestOrigin,
) -> Result<AdminSession, ApiError> {
    let found = {
        let mut conn = connection(&state.db).await?;
        platform_admins::find_by_email(&mut conn, email).await.map_err(internal)?
    };
    let verified = if let Some(hash) = found.as_ref().map(|admin| admin.password_hash.clone()) {
        tokio::task::spawn_blocking(move || password::verify(&plain, &hash)).await.map_err(internal)?
    } else {
        tokio::task::spawn_blocking(move || password::verify_dummy(&plain)).await.map_err(internal)?;
        false
    };
    let admin = match found {
        Some(admin) if verified => admin,
        Some(admin) => {
            let (actor, target) = (Actor::Admin(admin.admin_id()), Some(admin.id.to_string()));
            let details = json!({ "reason": "wrong_password" });
            record_platform(state, actor, "admin.login_failed", target, origin, details).await?;
            return Err(ApiError::InvalidCredentials);
        }
        None => {
            let details = json!({ "reason": "unknown_account" });
            record_platform(state, Actor::System, "admin.login_failed", None, origin, details).await?;
            return Err(ApiError::InvalidCredentials);
        }
    };
    let id = admin.admin_id();
    if !admin.is_enabled() {
        let details = json!({ "reason": "disabled" });
        record_platform(state, Actor::Admin(id), "admin.login_refused", Some(id.to_string()), origin, details).await?;
        return Err(ApiError::Forbidden("This admin account is disabled."));
    }
    let mut conn = connection(&state.admin_db).await?;
    platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            platform_admins::record_login(conn, id).await?;
            let target = Some(("platform_admin", id.to_string()));
            audit::insert_platform(conn, &admin_event(id, "admin.login", target, &origin, json!({}))).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .map_err(internal)?;
    let access = issue(state, &admin)?;
    tracing::info!(admin.id = %id, "platform admin logged in");
    Ok(AdminSession { access, admin })
}

/// Resolves a platform-admin access token (see [`PlatformAdmin`] for the answers).
pub async fn authenticate(state: &AppState, token: &str) -> Result<PlatformAdmin, ApiError> {
    let verified = state.jwt.verify(token, TokenKind::PlatformAdmin).map_err(|err| {
        tracing::debug!(error = %err, "admin access token refused");
        ApiError::InvalidToken
    })?;
    let Subject::PlatformAdmin { admin } = verified.subject else {
        return Err(ApiError::InvalidToken);
    };
    let mut conn = connection(&state.db).await?;
    let row = platform_admins::find(&mut conn, admin).await.map_err(internal)?.ok_or(ApiError::InvalidToken)?;
    if !row.is_enabled() {
        return Err(ApiError::Forbidden("This admin account is disabled."));
    }
    Ok(PlatformAdmin { admin_id: admin })
}

fn issue(state: &AppState, admin: &AdminRow) -> Result<IssuedToken, ApiError> {
    let subject = Subject::PlatformAdmin { admin: admin.admin_id() };
    state.jwt.issue(&subject, Duration::from_secs(state.config.auth.access_token_ttl_secs)).map_err(internal)
}

fn filter_details(filter: &TenantFilter) -> Value {
    json!({ "status": filter.status.map(TenantStatus::as_str), "q": filter.query })
}

/// A page of tenants (audited as `admin.tenants.listed`).
pub async fn list_tenants(
    state: &AppState,
    admin: PlatformAdmin,
    filter: TenantFilter,
    page: PageRequest,
    origin: RequestOrigin,
) -> Result<(Vec<TenantRecord>, Option<String>), ApiError> {
    let mut conn = connection(&state.admin_db).await?;
    platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let listed = platform::list_tenants(conn, &filter, &page).await?;
            let details = json!({ "filter": filter_details(&filter), "returned": listed.0.len() });
            let entry = admin_event(admin.admin_id, "admin.tenants.listed", None, &origin, details);
            audit::insert_platform(conn, &entry).await?;
            Ok::<_, DbError>(listed)
        })
    })
    .await
    .map_err(internal)
}

/// One tenant with its counts (audited as `admin.tenant.viewed`); 404 for an unknown id.
pub async fn get_tenant(
    state: &AppState,
    admin: PlatformAdmin,
    tenant: TenantId,
    origin: RequestOrigin,
) -> Result<TenantOverview, ApiError> {
    let mut conn = connection(&state.admin_db).await?;
    platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let Some(record) = platform::find_tenant(conn, tenant).await? else { return Ok(None) };
            let counts = platform::tenant_counts(conn, tenant).await?;
            let entry = admin_event(
                admin.admin_id,
                "admin.tenant.viewed",
                Some(("tenant", tenant.to_string())),
                &origin,
                json!({}),
            );
            audit::insert(conn, tenant, &entry).await?;
            Ok::<_, DbError>(Some(TenantOverview { tenant: record, counts }))
        })
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::NotFound)
}

/// The audit actions a tenant change is recorded under: one per kind of change, `admin.tenant.updated`
/// when nothing but the suspension reason (or nothing at all) changed.
fn change_actions(before: &TenantRecord, after: &TenantRecord) -> Vec<&'static str> {
    let mut actions = Vec::new();
    if before.status != after.status {
        actions.push(if after.status == TenantStatus::Suspended.as_str() {
            "admin.tenant.suspended"
        } else {
            "admin.tenant.resumed"
        });
    }
    if before.plan_override != after.plan_override {
        actions.push("admin.tenant.plan_overridden");
    }
    if actions.is_empty() {
        actions.push("admin.tenant.updated");
    }
    actions
}

fn snapshot(tenant: &TenantRecord) -> Value {
    json!({
        "status": tenant.status,
        "suspendedReason": tenant.suspended_reason,
        "planOverride": tenant.plan_override,
        "plan": tenant.plan(),
    })
}

/// Suspends or resumes a tenant and/or sets its plan override; 404 for an unknown id. Audited as
/// `admin.tenant.suspended`, `.resumed`, `.plan_overridden` (or `.updated`), with the state before and after.
pub async fn update_tenant(
    state: &AppState,
    admin: PlatformAdmin,
    tenant: TenantId,
    change: TenantChange,
    origin: RequestOrigin,
) -> Result<TenantOverview, ApiError> {
    let mut conn = connection(&state.admin_db).await?;
    let updated = platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let Some(update) = platform::update_tenant(conn, tenant, &change).await? else { return Ok(None) };
            let details = json!({ "before": snapshot(&update.before), "after": snapshot(&update.after) });
            for action in change_actions(&update.before, &update.after) {
                let target = Some(("tenant", tenant.to_string()));
                let entry = admin_event(admin.admin_id, action, target, &origin, details.clone());
                audit::insert(conn, tenant, &entry).await?;
            }
            let counts = platform::tenant_counts(conn, tenant).await?;
            Ok::<_, DbError>(Some(TenantOverview { tenant: update.after, counts }))
        })
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::NotFound)?;
    tracing::info!(
        admin.id = %admin.admin_id,
        tenant.id = %tenant,
        tenant.status = %updated.tenant.status,
        "tenant changed by a platform admin"
    );
    Ok(updated)
}

/// A page of the audit log across tenants (audited as `admin.audit_log.viewed`).
pub async fn list_audit(
    state: &AppState,
    admin: PlatformAdmin,
    filter: AuditFilter,
    page: PageRequest,
    origin: RequestOrigin,
) -> Result<(Vec<AuditEntry>, Option<String>), ApiError> {
    let mut conn = connection(&state.admin_db).await?;
    platform::in_platform_tx(&mut conn, move |conn| {
        Box::pin(async move {
            let listed = audit::list(conn, &filter, &page).await?;
            let details = json!({
                "filter": {
                    "tenant": filter.tenant.map(|t| t.to_string()),
                    "action": filter.action_prefix,
                    "since": filter.since,
                },
                "returned": listed.0.len(),
            });
            let entry = admin_event(admin.admin_id, "admin.audit_log.viewed", None, &origin, details);
            audit::insert_platform(conn, &entry).await?;
            Ok::<_, DbError>(listed)
        })
    })
    .await
    .map_err(internal)
}
