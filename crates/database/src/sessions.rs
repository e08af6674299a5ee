//! Refresh sessions: one row per refresh token, holding only the token's SHA-256. Every login starts a
//! family; each refresh replaces the presented row with a new one in the same family. Presenting a token
//! that was already replaced means it was copied: [`rotate`] then revokes the whole family, so the thief's
//! and the owner's sessions both end and the owner logs in again.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Inet, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{SessionId, TenantId, UserId};
use uuid::Uuid;

use crate::error::DbResult;
use crate::lookup::Routed;
use crate::schema::refresh_sessions;

/// `refresh_sessions.user_agent` holds at most this many characters.
const USER_AGENT_MAX: usize = 512;

/// A refresh session row (without the token hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_sessions, check_for_backend(diesel::pg::Pg))]
pub struct RefreshSession {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Id.
    pub id: Uuid,
    /// The user it belongs to.
    pub user_id: Uuid,
    /// The login this session descends from.
    pub family_id: Uuid,
    /// The session that replaced this one at its refresh.
    pub replaced_by: Option<Uuid>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (refreshed, logged out, password reset, reuse detected).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl RefreshSession {
    /// The typed user id.
    pub fn user(&self) -> UserId {
        UserId::from_uuid(self.user_id)
    }
}

/// A session to create: the token's hash, its expiry and where the client connected from.
#[derive(Debug, Clone)]
pub struct NewRefreshSession<'a> {
    /// SHA-256 of the refresh token.
    pub token_hash: &'a [u8],
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// The client's `User-Agent` (cut to 512 characters).
    pub user_agent: Option<&'a str>,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

/// What [`rotate`] did.
#[derive(Debug, Clone)]
pub enum Rotation {
    /// The presented session was replaced by this new one.
    Rotated(RefreshSession),
    /// The presented session had already been replaced: the whole family is now revoked.
    Reused {
        /// Whose family it was.
        user: UserId,
        /// The revoked family.
        family: Uuid,
    },
    /// The presented session was revoked (logout, password reset, an earlier reuse) or has expired.
    Dead,
    /// No such session in this tenant.
    NotFound,
}

/// The tenant and id of the session whose token hashes to `token_hash`, in any tenant.
pub async fn lookup_by_token_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> DbResult<Option<(TenantId, SessionId)>> {
    let row: Option<Routed> =
        diesel::sql_query("SELECT tenant_id, session_id AS row_id FROM app_lookup_refresh_session($1)")
            .bind::<Bytea, _>(token_hash)
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|r| (TenantId::from_uuid(r.tenant_id), SessionId::from_uuid(r.row_id))))
}

async fn insert(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: Uuid,
    family: Option<Uuid>,
    new: &NewRefreshSession<'_>,
) -> DbResult<RefreshSession> {
    let id = Uuid::now_v7();
    let user_agent = new.user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX).collect::<String>());
    Ok(diesel::insert_into(refresh_sessions::table)
        .values((
            refresh_sessions::tenant_id.eq(tenant.as_uuid()),
            refresh_sessions::id.eq(id),
            refresh_sessions::user_id.eq(user),
            refresh_sessions::token_hash.eq(new.token_hash),
            refresh_sessions::family_id.eq(family.unwrap_or(id)),
            refresh_sessions::expires_at.eq(new.expires_at),
            refresh_sessions::user_agent.eq(user_agent),
            // diesel maps `inet` only with an extra crate; PostgreSQL parses the text form
            refresh_sessions::ip.eq(sql::<Nullable<Inet>>("CAST(")
                .bind::<Nullable<Text>, _>(new.ip.map(|ip| ip.to_string()))
                .sql(" AS inet)")),
        ))
        .returning(RefreshSession::as_returning())
        .get_result(conn)
        .await?)
}

/// Starts a session family for `user` (a login) and returns its first session.
pub async fn start(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    new: &NewRefreshSession<'_>,
) -> DbResult<RefreshSession> {
    insert(conn, tenant, user.as_uuid(), None, new).await
}

/// The session `id`, locked for the rest of the transaction; `None` for unknown ids and other tenants'.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: SessionId,
) -> DbResult<Option<RefreshSession>> {
    Ok(refresh_sessions::table
        .filter(refresh_sessions::tenant_id.eq(tenant.as_uuid()).and(refresh_sessions::id.eq(id.as_uuid())))
        .select(RefreshSession::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Exchanges the live session `old` for a new one in its family, or, when `old` was already replaced,
/// revokes the family. Call inside a transaction and commit on `Ok` (also for [`Rotation::Reused`]: the
/// revocation must stick). The row lock makes two concurrent refreshes with one token count as a reuse.
pub async fn rotate(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    old: SessionId,
    new: &NewRefreshSession<'_>,
) -> DbResult<Rotation> {
    let Some(current) = find_for_update(conn, tenant, old).await? else {
        return Ok(Rotation::NotFound);
    };
    if current.replaced_by.is_some() {
        revoke_family(conn, tenant, current.family_id).await?;
        return Ok(Rotation::Reused { user: current.user(), family: current.family_id });
    }
    if current.revoked_at.is_some() || current.expires_at <= Utc::now() {
        return Ok(Rotation::Dead);
    }
    let next = insert(conn, tenant, current.user_id, Some(current.family_id), new).await?;
    diesel::update(refresh_sessions::table)
        .filter(refresh_sessions::tenant_id.eq(tenant.as_uuid()).and(refresh_sessions::id.eq(current.id)))
        .set((
            refresh_sessions::replaced_by.eq(next.id),
            refresh_sessions::revoked_at.eq(diesel::dsl::now),
            refresh_sessions::last_used_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(Rotation::Rotated(next))
}

/// Revokes every live session of the family; returns how many were live.
pub async fn revoke_family(conn: &mut AsyncPgConnection, tenant: TenantId, family: Uuid) -> DbResult<usize> {
    Ok(diesel::update(refresh_sessions::table)
        .filter(refresh_sessions::tenant_id.eq(tenant.as_uuid()).and(refresh_sessions::family_id.eq(family)))
        .filter(refresh_sessions::revoked_at.is_null())
        .set(refresh_sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?)
}

/// Revokes every live session of `user` (password reset, account disabled); returns how many.
pub async fn revoke_all_for_user(conn: &mut AsyncPgConnection, tenant: TenantId, user: UserId) -> DbResult<usize> {
    Ok(diesel::update(refresh_sessions::table)
        .filter(refresh_sessions::tenant_id.eq(tenant.as_uuid()).and(refresh_sessions::user_id.eq(user.as_uuid())))
        .filter(refresh_sessions::revoked_at.is_null())
        .set(refresh_sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?)
}
