//! The audit log: who did what, when and from where, for security-relevant actions. Rows are written in the
//! transaction of the action they record, so an action and its entry commit or roll back together.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Inet, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{AdminId, ApiKeyId, TenantId, UserId};
use uuid::Uuid;

use crate::error::DbResult;
use crate::keyset::{Keyset, PageRequest};
use crate::schema::audit_log;

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A tenant user.
    User(UserId),
    /// A platform administrator.
    Admin(AdminId),
    /// An API key.
    ApiKey(ApiKeyId),
    /// The platform itself (jobs, automatic reactions such as revoking a reused session family).
    System,
}

impl Actor {
    fn parts(self) -> (&'static str, Option<Uuid>) {
        match self {
            Self::User(id) => ("user", Some(id.as_uuid())),
            Self::Admin(id) => ("admin", Some(id.as_uuid())),
            Self::ApiKey(id) => ("api_key", Some(id.as_uuid())),
            Self::System => ("system", None),
        }
    }
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent` (cut to 512 characters).
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id` (cut to 128 characters).
    pub request_id: Option<String>,
}

/// One entry. `action` is dotted lower case (`auth.login`, `auth.password_reset`); `details` never holds
/// secrets, tokens, passwords or message content.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// Who acted.
    pub actor: Actor,
    /// What happened, e.g. `auth.login`.
    pub action: &'a str,
    /// The kind of object acted on, e.g. `user`.
    pub target_type: Option<&'a str>,
    /// Its id.
    pub target_id: Option<String>,
    /// Where the request came from.
    pub origin: &'a RequestOrigin,
    /// Structured context (a JSON object).
    pub details: serde_json::Value,
}

/// Writes an entry for `tenant` and returns its id.
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, entry: &NewAuditEntry<'_>) -> DbResult<Uuid> {
    write(conn, Some(tenant), entry).await
}

/// Writes a platform-level entry (no tenant: a platform admin's login, a listing across tenants, an admin
/// account created by the worker) and returns its id. Row-level security only lets a `tenant_id` of NULL
/// through for a role that bypasses it, so call this on the owner role's connection
/// ([`crate::platform::in_platform_tx`]).
pub async fn insert_platform(conn: &mut AsyncPgConnection, entry: &NewAuditEntry<'_>) -> DbResult<Uuid> {
    write(conn, None, entry).await
}

async fn write(conn: &mut AsyncPgConnection, tenant: Option<TenantId>, entry: &NewAuditEntry<'_>) -> DbResult<Uuid> {
    let id = Uuid::now_v7();
    let (actor_type, actor_id) = entry.actor.parts();
    let cut = |text: &Option<String>, max: usize| text.as_ref().map(|t| t.chars().take(max).collect::<String>());
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(tenant.map(|t| t.as_uuid())),
            audit_log::id.eq(id),
            audit_log::actor_type.eq(actor_type),
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(entry.action),
            audit_log::target_type.eq(entry.target_type),
            audit_log::target_id.eq(entry.target_id.as_deref()),
            audit_log::user_agent.eq(cut(&entry.origin.user_agent, 512)),
            audit_log::request_id.eq(cut(&entry.origin.request_id, 128)),
            audit_log::details.eq(&entry.details),
            // diesel maps `inet` only with an extra crate; PostgreSQL parses the text form
            audit_log::ip.eq(sql::<Nullable<Inet>>("CAST(")
                .bind::<Nullable<Text>, _>(entry.origin.ip.map(|ip| ip.to_string()))
                .sql(" AS inet)")),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// A stored entry, as platform admins read it.
#[derive(Debug, Clone, Queryable)]
pub struct AuditEntry {
    /// Id.
    pub id: Uuid,
    /// The tenant concerned; `None` for platform-level actions.
    pub tenant_id: Option<Uuid>,
    /// `user`, `admin`, `api_key` or `system`.
    pub actor_type: String,
    /// The actor's id (`None` for `system`).
    pub actor_id: Option<Uuid>,
    /// What happened, e.g. `admin.tenant.updated`.
    pub action: String,
    /// The kind of object acted on.
    pub target_type: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// The client's address, as text.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// Structured context.
    pub details: serde_json::Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Which entries [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this tenant's entries.
    pub tenant: Option<TenantId>,
    /// Only actions starting with this text (`admin.` or `auth.login`); matched literally.
    pub action_prefix: Option<String>,
    /// Only entries written at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// Entries, newest first, `(created_at, id)` keyset pagination. Returns what row-level security lets the
/// connection see: one tenant's entries inside [`crate::tenant::in_tenant_tx`], every entry (platform-level
/// ones included) inside [`crate::platform::in_platform_tx`].
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    page: &PageRequest,
) -> DbResult<(Vec<AuditEntry>, Option<String>)> {
    let mut query = audit_log::table
        .select((
            audit_log::id,
            audit_log::tenant_id,
            audit_log::actor_type,
            audit_log::actor_id,
            audit_log::action,
            audit_log::target_type,
            audit_log::target_id,
            sql::<Nullable<Text>>("host(audit_log.ip)"),
            audit_log::user_agent,
            audit_log::request_id,
            audit_log::details,
            audit_log::created_at,
        ))
        .into_boxed();
    if let Some(tenant) = filter.tenant {
        query = query.filter(audit_log::tenant_id.eq(tenant.as_uuid()));
    }
    if let Some(prefix) = filter.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        query = query.filter(audit_log::action.like(format!("{}%", like_escape(prefix))));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_log::created_at.ge(since));
    }
    if let Some(after) = page.after {
        query = query.filter(
            audit_log::created_at.lt(after.at).or(audit_log::created_at.eq(after.at).and(audit_log::id.lt(after.id))),
        );
    }
    let rows: Vec<AuditEntry> =
        query.order((audit_log::created_at.desc(), audit_log::id.desc())).limit(page.fetch_limit()).load(conn).await?;
    Ok(page.finish(rows, |row| Keyset { at: row.created_at, id: row.id }))
}

/// Escapes `%`, `_` and `\` so `text` is matched literally by `LIKE`.
pub(crate) fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
