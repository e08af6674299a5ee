//! Sign-up: a new tenant, its owner and the owner's email verification token, in one transaction. A
//! failure at any step (the email is taken, a constraint refuses a value) rolls back everything, so no
//! tenant without an owner is ever left behind.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection as _;
use diesel_async::AsyncPgConnection;
use meta_chat_shared::ids::{TenantId, UserId};
use meta_chat_shared::{UserRole, UserStatus};
use serde_json::json;

use crate::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use crate::email_tokens::{self, EmailTokenPurpose};
use crate::error::{DbError, DbResult};
use crate::tenant::set_tenant;
use crate::tenants::{self, SLUG_UNIQUE, Tenant};
use crate::users::{self, NewTenantUser, TenantUser};

/// Attempts at a free slug: the plain one, then random suffixes.
const SLUG_ATTEMPTS: usize = 5;

/// What sign-up needs. The email must already be lower case and the password hashed.
#[derive(Debug, Clone)]
pub struct NewSignup<'a> {
    /// The company name; becomes the tenant's name and, slugified, its slug.
    pub company_name: &'a str,
    /// The owner's login email, lower case.
    pub email: &'a str,
    /// The owner's display name.
    pub name: &'a str,
    /// The owner's argon2id password hash.
    pub password_hash: &'a str,
    /// SHA-256 of the verification token that is emailed.
    pub verification_token_hash: &'a [u8],
    /// When the verification token expires.
    pub verification_expires_at: DateTime<Utc>,
    /// Where the request came from (audit).
    pub origin: &'a RequestOrigin,
}

/// The created tenant and owner.
#[derive(Debug, Clone)]
pub struct SignedUp {
    /// The tenant.
    pub tenant: Tenant,
    /// Its owner, not yet verified.
    pub user: TenantUser,
}

/// Creates the tenant, its owner (role `owner`, status `active`, email unverified), the verification
/// token and an `auth.signup` audit entry in one transaction. A taken email fails with
/// [`DbError::Conflict`] naming [`users::EMAIL_UNIQUE`] and leaves nothing behind; a taken slug is retried
/// with a random suffix.
pub async fn signup(conn: &mut AsyncPgConnection, new: &NewSignup<'_>) -> DbResult<SignedUp> {
    let base = tenants::slug_base(new.company_name);
    let mut slug = base.clone();
    let mut attempt = 1;
    loop {
        match signup_with_slug(conn, new, &slug).await {
            Err(DbError::Conflict(constraint)) if constraint == SLUG_UNIQUE && attempt < SLUG_ATTEMPTS => {
                attempt += 1;
                slug = tenants::slug_with_suffix(&base);
            }
            result => return result,
        }
    }
}

async fn signup_with_slug(conn: &mut AsyncPgConnection, new: &NewSignup<'_>, slug: &str) -> DbResult<SignedUp> {
    let tenant_id = TenantId::new();
    let user_id = UserId::new();
    conn.transaction(async move |conn| {
        set_tenant(conn, tenant_id).await?;
        let tenant = tenants::insert(conn, tenant_id, new.company_name, slug).await?;
        let user = users::insert(
            conn,
            tenant_id,
            &NewTenantUser {
                id: user_id.as_uuid(),
                email: new.email,
                name: new.name,
                role: UserRole::Owner.as_str(),
                status: UserStatus::Active.as_str(),
                password_hash: Some(new.password_hash),
            },
        )
        .await?;
        email_tokens::issue(
            conn,
            tenant_id,
            user_id,
            EmailTokenPurpose::VerifyEmail,
            new.verification_token_hash,
            new.verification_expires_at,
        )
        .await?;
        audit::insert(
            conn,
            tenant_id,
            &NewAuditEntry {
                actor: Actor::User(user_id),
                action: "auth.signup",
                target_type: Some("tenant"),
                target_id: Some(tenant_id.to_string()),
                origin: new.origin,
                details: json!({}),
            },
        )
        .await?;
        Ok::<_, DbError>(SignedUp { tenant, user })
    })
    .await
}
