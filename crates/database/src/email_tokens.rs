//! Single-use tokens sent by email (address verification, password reset, invitations). Only the token's
//! SHA-256 is stored; [`consume`] marks a token used in the same statement that checks it is unused, unexpired
//! and of the expected purpose, so a token works exactly once even under concurrent requests.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bytea;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{TenantId, UserId};
use uuid::Uuid;

use crate::error::DbResult;
use crate::lookup::Routed;
use crate::schema::email_tokens;

/// What an email token is for (`email_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    /// Confirms the address of a new account.
    VerifyEmail,
    /// Lets the holder set a new password.
    ResetPassword,
    /// Lets an invited user set a password and join.
    Invitation,
}

impl EmailTokenPurpose {
    /// The spelling in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::Invitation => "invitation",
        }
    }
}

/// An email token row of a tenant user (without the hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_tokens, check_for_backend(diesel::pg::Pg))]
pub struct EmailToken {
    /// Id.
    pub id: Uuid,
    /// `verify_email`, `reset_password` or `invitation`.
    pub purpose: String,
    /// The user it was sent to.
    pub user_id: Option<Uuid>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used.
    pub used_at: Option<DateTime<Utc>>,
}

/// Stores a token for `user` and deletes the user's earlier unused tokens of the same purpose, so only the
/// newest email works. Returns the new token's id.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    purpose: EmailTokenPurpose,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> DbResult<Uuid> {
    diesel::delete(email_tokens::table)
        .filter(email_tokens::tenant_id.eq(tenant.as_uuid()).and(email_tokens::user_id.eq(user.as_uuid())))
        .filter(email_tokens::purpose.eq(purpose.as_str()).and(email_tokens::used_at.is_null()))
        .execute(conn)
        .await?;
    let id = Uuid::now_v7();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::tenant_id.eq(tenant.as_uuid()),
            email_tokens::id.eq(id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(token_hash),
            email_tokens::user_id.eq(user.as_uuid()),
            email_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// The tenant and id of the tenant user's token hashing to `token_hash`, in any tenant.
pub async fn lookup_by_token_hash(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> DbResult<Option<(TenantId, Uuid)>> {
    let row: Option<Routed> = diesel::sql_query("SELECT tenant_id, token_id AS row_id FROM app_lookup_email_token($1)")
        .bind::<Bytea, _>(token_hash)
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(|r| (TenantId::from_uuid(r.tenant_id), r.row_id)))
}

/// Uses the token `id` if it is of `purpose`, unused and unexpired, and returns it; `None` otherwise
/// (including other tenants' ids).
pub async fn consume(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    purpose: EmailTokenPurpose,
) -> DbResult<Option<EmailToken>> {
    Ok(diesel::update(email_tokens::table)
        .filter(email_tokens::tenant_id.eq(tenant.as_uuid()).and(email_tokens::id.eq(id)))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .filter(email_tokens::used_at.is_null().and(email_tokens::expires_at.gt(diesel::dsl::now)))
        .set(email_tokens::used_at.eq(diesel::dsl::now))
        .returning(EmailToken::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}
