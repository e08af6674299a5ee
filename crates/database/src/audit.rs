//! The audit log: who did what, when and from where, for security-relevant actions. Rows are written in the
//! transaction of the action they record, so an action and its entry commit or roll back together.

use std::net::IpAddr;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Inet, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{AdminId, ApiKeyId, TenantId, UserId};
use uuid::Uuid;

use crate::error::DbResult;
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
    let id = Uuid::now_v7();
    let (actor_type, actor_id) = entry.actor.parts();
    let cut = |text: &Option<String>, max: usize| text.as_ref().map(|t| t.chars().take(max).collect::<String>());
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(tenant.as_uuid()),
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
