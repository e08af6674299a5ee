//! Tenant users: the account behind a login. Login emails are unique across the platform (a login names no
//! tenant), so [`lookup_by_email`] finds the tenant first through a SECURITY DEFINER function; everything
//! else runs inside [`crate::tenant::in_tenant_tx`] and filters on the tenant too.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{TenantId, UserId};
use meta_chat_shared::{UserRole, UserStatus};
use uuid::Uuid;

use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::lookup::Routed;
use crate::schema::tenant_users;

/// The unique constraint on `tenant_users.email`: a violation means the address is already registered.
pub const EMAIL_UNIQUE: &str = "tenant_users_email_key";

/// A tenant user row.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = tenant_users, check_for_backend(diesel::pg::Pg))]
pub struct TenantUser {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Id.
    pub id: Uuid,
    /// Login email, lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `owner`, `admin` or `agent` (see [`TenantUser::role`]).
    pub role: String,
    /// `invited`, `active` or `disabled` (see [`TenantUser::status`]).
    pub status: String,
    /// argon2id PHC string; `None` while invited.
    pub password_hash: Option<String>,
    /// When the email address was confirmed.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Consecutive failed logins since the last success.
    pub failed_login_count: i32,
    /// Logins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

// Hand-written: the row holds an email address and a password hash, neither of which may reach a log.
impl std::fmt::Debug for TenantUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantUser")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl TenantUser {
    /// The role as the domain enum (the database CHECK guarantees it parses).
    pub fn role(&self) -> DbResult<UserRole> {
        self.role.parse().map_err(|e| DbError::InvalidInput(format!("stored role: {e}")))
    }

    /// The status as the domain enum (the database CHECK guarantees it parses).
    pub fn status(&self) -> DbResult<UserStatus> {
        self.status.parse().map_err(|e| DbError::InvalidInput(format!("stored user status: {e}")))
    }

    /// The typed id.
    pub fn user_id(&self) -> UserId {
        UserId::from_uuid(self.id)
    }

    /// The typed tenant id.
    pub fn tenant(&self) -> TenantId {
        TenantId::from_uuid(self.tenant_id)
    }
}

/// A user to insert; the tenant is the function's argument, never a field.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tenant_users)]
pub struct NewTenantUser<'a> {
    /// Id.
    pub id: Uuid,
    /// Login email, lower case.
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Role spelling ([`UserRole::as_str`]).
    pub role: &'a str,
    /// Status spelling ([`UserStatus::as_str`]).
    pub status: &'a str,
    /// argon2id PHC string.
    pub password_hash: Option<&'a str>,
}

/// The tenant and id of the user with login `email` (compared in lower case), in any tenant.
pub async fn lookup_by_email(conn: &mut AsyncPgConnection, email: &str) -> DbResult<Option<(TenantId, UserId)>> {
    let row: Option<Routed> =
        diesel::sql_query("SELECT tenant_id, user_id AS row_id FROM app_lookup_user_by_email($1)")
            .bind::<Text, _>(email)
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|r| (TenantId::from_uuid(r.tenant_id), UserId::from_uuid(r.row_id))))
}

/// One user; `None` for unknown ids and other tenants' users.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, user: UserId) -> DbResult<Option<TenantUser>> {
    Ok(tenant_users::table
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .select(TenantUser::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Inserts a user into `tenant`. A taken email fails with [`DbError::Conflict`] naming [`EMAIL_UNIQUE`].
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewTenantUser<'_>) -> DbResult<TenantUser> {
    Ok(diesel::insert_into(tenant_users::table)
        .values((tenant_users::tenant_id.eq(tenant.as_uuid()), new))
        .returning(TenantUser::as_returning())
        .get_result(conn)
        .await?)
}

/// Counts one more failed login and returns the new count; `None` for unknown ids.
pub async fn record_failed_login(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> DbResult<Option<u32>> {
    let count: Option<i32> = diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .set(tenant_users::failed_login_count.eq(tenant_users::failed_login_count + 1))
        .returning(tenant_users::failed_login_count)
        .get_result(conn)
        .await
        .optional()?;
    Ok(count.map(|n| u32::try_from(n).unwrap_or(0)))
}

/// Refuses logins until `until` (never shortens a lock already in force). Returns whether the user exists.
pub async fn lock_until(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    until: DateTime<Utc>,
) -> DbResult<bool> {
    let locked = diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .filter(tenant_users::locked_until.is_null().or(tenant_users::locked_until.lt(until)))
        .set(tenant_users::locked_until.eq(until))
        .execute(conn)
        .await?;
    Ok(locked > 0 || find(conn, tenant, user).await?.is_some())
}

/// Records a successful login: resets the failure count and any lock, stamps `last_login_at`.
pub async fn record_login(conn: &mut AsyncPgConnection, tenant: TenantId, user: UserId) -> DbResult<bool> {
    let updated = diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .set((
            tenant_users::failed_login_count.eq(0),
            tenant_users::locked_until.eq(None::<DateTime<Utc>>),
            tenant_users::last_login_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(updated > 0)
}

/// Marks the user's email address as verified (keeping the first verification time); `None` for unknown ids.
pub async fn mark_email_verified(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> DbResult<Option<TenantUser>> {
    Ok(diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .set(
            tenant_users::email_verified_at
                .eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(email_verified_at, now())")),
        )
        .returning(TenantUser::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Replaces the password hash and lifts any login lock. Returns whether the user exists.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    password_hash: &str,
) -> DbResult<bool> {
    let updated = diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .set((
            tenant_users::password_hash.eq(password_hash),
            tenant_users::failed_login_count.eq(0),
            tenant_users::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(updated > 0)
}

/// The tenant's users, newest first, `(created_at, id)` keyset pagination.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    page: &PageRequest,
) -> DbResult<(Vec<TenantUser>, Option<String>)> {
    let mut query = tenant_users::table
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()))
        .select(TenantUser::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(
            tenant_users::created_at
                .lt(after.at)
                .or(tenant_users::created_at.eq(after.at).and(tenant_users::id.lt(after.id))),
        );
    }
    let rows = query
        .order((tenant_users::created_at.desc(), tenant_users::id.desc()))
        .limit(page.fetch_limit())
        .load(conn)
        .await?;
    Ok(page.finish(rows, |user| Keyset { at: user.created_at, id: user.id }))
}

/// The tenant's owners, locked (`FOR UPDATE`, in id order) until the transaction ends. Every change that can
/// take the owner role away takes this lock first, so two such changes run one after the other and the
/// second sees the first's result: the last owner cannot be demoted or removed by two concurrent requests.
pub async fn lock_owners(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Vec<TenantUser>> {
    Ok(tenant_users::table
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::role.eq(UserRole::Owner.as_str())))
        .select(TenantUser::as_select())
        .order(tenant_users::id)
        .for_update()
        .load(conn)
        .await?)
}

/// One user, locked until the transaction ends; `None` for unknown ids and other tenants' users.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> DbResult<Option<TenantUser>> {
    Ok(tenant_users::table
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .select(TenantUser::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Sets the user's role; `None` for unknown ids. Callers keep the last-owner rule ([`crate::team`]).
pub async fn update_role(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    role: UserRole,
) -> DbResult<Option<TenantUser>> {
    Ok(diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .set(tenant_users::role.eq(role.as_str()))
        .returning(TenantUser::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Turns an invited user into an active one with a password and a confirmed address (they proved it by
/// opening the invitation). `None` for unknown ids and users who are not `invited`.
pub async fn activate_invited(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    password_hash: &str,
) -> DbResult<Option<TenantUser>> {
    Ok(diesel::update(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .filter(tenant_users::status.eq(UserStatus::Invited.as_str()))
        .set((
            tenant_users::password_hash.eq(password_hash),
            tenant_users::status.eq(UserStatus::Active.as_str()),
            tenant_users::email_verified_at
                .eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(email_verified_at, now())")),
            tenant_users::failed_login_count.eq(0),
            tenant_users::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .returning(TenantUser::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Deletes the user (their sessions and email tokens go with them; conversations, messages and keys they
/// touched keep a `NULL` reference). Returns whether a row was deleted. Callers keep the last-owner rule.
pub async fn delete(conn: &mut AsyncPgConnection, tenant: TenantId, user: UserId) -> DbResult<bool> {
    let deleted = diesel::delete(tenant_users::table)
        .filter(tenant_users::tenant_id.eq(tenant.as_uuid()).and(tenant_users::id.eq(user.as_uuid())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}
