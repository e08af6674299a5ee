//! Platform administrators: the operators who manage tenants through `/admin/*`. They belong to no tenant,
//! so `platform_admins` has no row-level security. The runtime role may read them and update them (login
//! time); only the owner role inserts them, through the worker's `create-admin` command: there is no
//! default administrator and no default password anywhere.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::AdminId;
use uuid::Uuid;

use crate::error::DbResult;
use crate::schema::platform_admins;

/// The unique constraint on `platform_admins.email`: a violation means the address is taken.
pub const EMAIL_UNIQUE: &str = "platform_admins_email_key";

/// A platform admin row.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = platform_admins, check_for_backend(diesel::pg::Pg))]
pub struct PlatformAdmin {
    /// Id.
    pub id: Uuid,
    /// Login email, lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Set while the account is disabled: it can neither log in nor use a token issued before.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

// Hand-written: the row holds an email address and a password hash, neither of which may reach a log.
impl std::fmt::Debug for PlatformAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformAdmin")
            .field("id", &self.id)
            .field("disabled", &self.disabled_at.is_some())
            .finish_non_exhaustive()
    }
}

impl PlatformAdmin {
    /// The typed id.
    pub fn admin_id(&self) -> AdminId {
        AdminId::from_uuid(self.id)
    }

    /// Whether the account may log in and act.
    pub fn is_enabled(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// A new admin. `email` lower case; `password_hash` an argon2id PHC string (the CHECK insists).
#[derive(Clone, Copy)]
pub struct NewPlatformAdmin<'a> {
    /// Login email, lower case.
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// argon2id PHC string of the password.
    pub password_hash: &'a str,
}

/// Inserts an admin (owner role only: the runtime role cannot insert). A taken email is
/// [`crate::DbError::Conflict`] naming [`EMAIL_UNIQUE`].
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewPlatformAdmin<'_>) -> DbResult<PlatformAdmin> {
    Ok(diesel::insert_into(platform_admins::table)
        .values((
            platform_admins::id.eq(Uuid::now_v7()),
            platform_admins::email.eq(new.email),
            platform_admins::name.eq(new.name),
            platform_admins::password_hash.eq(new.password_hash),
        ))
        .returning(PlatformAdmin::as_returning())
        .get_result(conn)
        .await?)
}

/// The admin with this id, enabled or not.
pub async fn find(conn: &mut AsyncPgConnection, id: AdminId) -> DbResult<Option<PlatformAdmin>> {
    Ok(platform_admins::table
        .filter(platform_admins::id.eq(id.as_uuid()))
        .select(PlatformAdmin::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The admin with this login email (lower case), enabled or not.
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> DbResult<Option<PlatformAdmin>> {
    Ok(platform_admins::table
        .filter(platform_admins::email.eq(email))
        .select(PlatformAdmin::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Disables (`disabled = true`) or re-enables the admin with this email; `None` when there is none.
/// Disabling keeps an earlier `disabled_at`.
pub async fn set_disabled(
    conn: &mut AsyncPgConnection,
    email: &str,
    disabled: bool,
) -> DbResult<Option<PlatformAdmin>> {
    let disabled_at = if disabled {
        diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>("coalesce(disabled_at, now())")
    } else {
        diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>("NULL")
    };
    Ok(diesel::update(platform_admins::table.filter(platform_admins::email.eq(email)))
        .set(platform_admins::disabled_at.eq(disabled_at))
        .returning(PlatformAdmin::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Replaces the password hash of the admin with this email; `None` when there is none.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    email: &str,
    password_hash: &str,
) -> DbResult<Option<PlatformAdmin>> {
    Ok(diesel::update(platform_admins::table.filter(platform_admins::email.eq(email)))
        .set(platform_admins::password_hash.eq(password_hash))
        .returning(PlatformAdmin::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Records a successful login.
pub async fn record_login(conn: &mut AsyncPgConnection, id: AdminId) -> DbResult<()> {
    diesel::update(platform_admins::table.filter(platform_admins::id.eq(id.as_uuid())))
        .set(platform_admins::last_login_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}
