//! The account flows behind `/auth/*`, `GET /me` and [`crate::extract::TenantContext`]: sign-up, email
//! verification, login with back-off, refresh-token rotation, logout, password reset. Each flow composes
//! `meta_chat_shared::auth` (hashing, tokens) and the database's query functions; there is no SQL here.
//!
//! Rules the flows keep:
//! - Unknown email and wrong password get the same answer after the same work (one argon2 verification).
//! - Argon2 runs on a blocking thread and no database connection is held meanwhile.
//! - Refresh, verification and reset tokens are random, handed out once and stored only as SHA-256.
//! - `resend-verification` and `forgot-password` answer the same whether or not the address exists; the
//!   email itself is sent in the background, so timing does not tell either.
//! - Nothing here logs an email address, password or token.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use meta_chat_database::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use meta_chat_database::email_tokens::{self, EmailTokenPurpose};
use meta_chat_database::sessions::{self, NewRefreshSession, Rotation};
use meta_chat_database::signup::{self, NewSignup};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::tenants::{self, Tenant};
use meta_chat_database::users::{self, EMAIL_UNIQUE, TenantUser};
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_shared::auth::{IssuedToken, LoginBackoff, OpaqueToken, Subject, TokenKind, opaque, password};
use meta_chat_shared::ids::{TenantId, UserId};
use meta_chat_shared::mail::Email;
use meta_chat_shared::{TenantStatus, UserStatus};
use serde_json::json;

use crate::error::ApiError;
use crate::extract::TenantContext;
use crate::state::AppState;

/// A user with their tenant.
#[derive(Debug, Clone)]
pub struct Account {
    /// The user.
    pub user: TenantUser,
    /// Their tenant.
    pub tenant: Tenant,
}

/// What a login or refresh hands out. `Debug` shows neither token.
#[derive(Clone)]
pub struct Session {
    /// The signed access token.
    pub access: IssuedToken,
    /// The opaque refresh token (shown once; only its hash is stored).
    pub refresh_token: String,
    /// The user it belongs to.
    pub user: TenantUser,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("access", &self.access).field("user", &self.user).finish_non_exhaustive()
    }
}

/// Sign-up input, already validated; `email` lower case.
#[derive(Clone)]
pub struct SignupInput {
    /// Login email, lower case.
    pub email: String,
    /// Plain password (hashed here, never stored or logged).
    pub password: String,
    /// Owner's name.
    pub name: String,
    /// The tenant's name.
    pub company_name: String,
}

pub(crate) fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}

pub(crate) async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    state.db.get().await.map_err(|err| internal(DbError::from(err)))
}

/// Runs CPU-heavy work (argon2) off the async worker.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(internal)
}

pub(crate) fn from_now(secs: u64) -> DateTime<Utc> {
    Utc::now() + TimeDelta::try_seconds(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(TimeDelta::MAX)
}

/// Whole seconds from now until `until`, at least 1 (a `Retry-After` of 0 invites a busy loop).
fn secs_until(until: DateTime<Utc>) -> u64 {
    let millis = (until - Utc::now()).num_milliseconds().max(0);
    u64::try_from(millis).unwrap_or(0).div_ceil(1000).max(1)
}

/// "48 hours", "60 minutes": how long a link stays valid.
pub(crate) fn lifetime_text(secs: u64) -> String {
    if secs.is_multiple_of(3_600) && secs >= 7_200 {
        format!("{} hours", secs / 3_600)
    } else {
        format!("{} minutes", secs / 60)
    }
}

/// Sends `email` in the background; a failure is logged by kind, never with the address.
pub(crate) fn send_later(state: &AppState, email: Email, kind: &'static str) {
    let mailer = Arc::clone(&state.mailer);
    tokio::spawn(async move {
        if let Err(err) = mailer.send(email).await {
            tracing::warn!(mail.kind = kind, error = %err, "email not sent");
        }
    });
}

pub(crate) fn link(state: &AppState, page: &str, token: &str) -> String {
    format!("{}/{page}?token={token}", state.config.mail.link_base_url.trim_end_matches('/'))
}

fn verification_email(state: &AppState, user: &TenantUser, company: &str, token: &str) -> Email {
    let link = link(state, "verify-email", token);
    let valid = lifetime_text(state.config.auth.verification_token_ttl_secs);
    Email {
        to: user.email.clone(),
        subject: "Confirm your email address".into(),
        text: format!(
            "Hello {},\n\nplease confirm your email address for {company} on Meta Chat by opening this link:\n\n\
             {link}\n\nThe link is valid for {valid}. If you did not sign up, ignore this message.\n",
            user.name
        ),
    }
}

fn reset_email(state: &AppState, user: &TenantUser, token: &str) -> Email {
    let link = link(state, "reset-password", token);
    let valid = lifetime_text(state.config.auth.reset_token_ttl_secs);
    Email {
        to: user.email.clone(),
        subject: "Reset your Meta Chat password".into(),
        text: format!(
            "Hello {},\n\nsomeone asked to reset the password of your Meta Chat account. To choose a new one, \
             open this link:\n\n{link}\n\nThe link is valid for {valid} and works once. Resetting signs you out \
             everywhere. If you did not ask for this, ignore this message: your password stays as it is.\n",
            user.name
        ),
    }
}

/// 403 unless the tenant is active and the user is active.
fn check_standing(user: &TenantUser, tenant: &Tenant) -> Result<(), ApiError> {
    if tenant.status().map_err(internal)? != TenantStatus::Active {
        return Err(ApiError::Forbidden("This organisation is suspended."));
    }
    match user.status().map_err(internal)? {
        UserStatus::Active => Ok(()),
        UserStatus::Disabled | UserStatus::Invited => Err(ApiError::Forbidden("This account is disabled.")),
    }
}

/// The user and tenant, read under the tenant's row-level security.
async fn load_account(
    conn: &mut PooledConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Account>, ApiError> {
    in_tenant_tx(conn, tenant, move |conn| {
        Box::pin(async move {
            let user = users::find(conn, tenant, user).await?;
            let tenant = tenants::find(conn, tenant).await?;
            Ok::<_, DbError>(user.zip(tenant).map(|(user, tenant)| Account { user, tenant }))
        })
    })
    .await
    .map_err(internal)
}

/// Resolves a tenant-user access token to the caller (see [`TenantContext`] for the answers).
pub async fn authenticate(state: &AppState, token: &str) -> Result<TenantContext, ApiError> {
    let verified = state.jwt.verify(token, TokenKind::TenantUser).map_err(|err| {
        tracing::debug!(error = %err, "access token refused");
        ApiError::InvalidToken
    })?;
    let Subject::TenantUser { user, tenant, .. } = verified.subject else {
        return Err(ApiError::InvalidToken);
    };
    let mut conn = connection(state).await?;
    let account = load_account(&mut conn, tenant, user).await?.ok_or(ApiError::InvalidToken)?;
    check_standing(&account.user, &account.tenant)?;
    Ok(TenantContext { tenant_id: tenant, user_id: user, role: account.user.role().map_err(internal)? })
}

/// The caller's user and tenant (`GET /me`).
pub async fn me(state: &AppState, ctx: &TenantContext) -> Result<Account, ApiError> {
    let mut conn = connection(state).await?;
    load_account(&mut conn, ctx.tenant_id, ctx.user_id).await?.ok_or(ApiError::InvalidToken)
}

/// Creates the tenant and its owner in one transaction and emails a verification link.
pub async fn signup(state: &AppState, input: SignupInput, origin: RequestOrigin) -> Result<Account, ApiError> {
    let plain = input.password;
    let password_hash = blocking(move || password::hash(&plain)).await?.map_err(internal)?;
    let token = OpaqueToken::generate().map_err(internal)?;
    let mut conn = connection(state).await?;
    let done = signup::signup(
        &mut conn,
        &NewSignup {
            company_name: input.company_name.trim(),
            email: &input.email,
            name: input.name.trim(),
            password_hash: &password_hash,
            verification_token_hash: &token.hash(),
            verification_expires_at: from_now(state.config.auth.verification_token_ttl_secs),
            origin: &origin,
        },
    )
    .await
    .map_err(|err| match err {
        DbError::Conflict(constraint) if constraint == EMAIL_UNIQUE => ApiError::EmailExists,
        other => internal(other),
    })?;
    tracing::info!(tenant.id = %done.tenant.id, user.id = %done.user.id, "tenant signed up");
    send_later(state, verification_email(state, &done.user, &done.tenant.name, token.expose()), "verify_email");
    Ok(Account { user: done.user, tenant: done.tenant })
}

/// Uses a verification token: marks the address verified. 401 for unknown, used or expired tokens.
pub async fn verify_email(state: &AppState, token: &str, origin: RequestOrigin) -> Result<Account, ApiError> {
    let mut conn = connection(state).await?;
    let (tenant, token_id) = email_tokens::lookup_by_token_hash(&mut conn, &opaque::hash(token))
        .await
        .map_err(internal)?
        .ok_or(ApiError::InvalidToken)?;
    let verified = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let consumed = email_tokens::consume(conn, tenant, token_id, EmailTokenPurpose::VerifyEmail).await?;
            let Some(user_id) = consumed.and_then(|t| t.user_id).map(UserId::from_uuid) else {
                return Ok(None);
            };
            let Some(user) = users::mark_email_verified(conn, tenant, user_id).await? else {
                return Ok(None);
            };
            audit::insert(conn, tenant, &user_event(user_id, "auth.email_verified", &origin, json!({}))).await?;
            Ok::<_, DbError>(tenants::find(conn, tenant).await?.map(|tenant| Account { user, tenant }))
        })
    })
    .await
    .map_err(internal)?;
    verified.ok_or(ApiError::InvalidToken)
}

fn user_event<'a>(
    user: UserId,
    action: &'a str,
    origin: &'a RequestOrigin,
    details: serde_json::Value,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        actor: Actor::User(user),
        action,
        target_type: Some("user"),
        target_id: Some(user.to_string()),
        origin,
        details,
    }
}

/// Sends a new verification link if `email` belongs to an active, unverified user; otherwise does nothing.
/// The caller answers 202 either way.
pub async fn resend_verification(state: &AppState, email: &str) -> Result<(), ApiError> {
    let mut conn = connection(state).await?;
    let Some((tenant, user_id)) = users::lookup_by_email(&mut conn, email).await.map_err(internal)? else {
        return Ok(());
    };
    let token = OpaqueToken::generate().map_err(internal)?;
    let (hash, expires_at) = (token.hash(), from_now(state.config.auth.verification_token_ttl_secs));
    let pending = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(user) = users::find(conn, tenant, user_id).await? else { return Ok(None) };
            if user.email_verified_at.is_some() || user.status()? != UserStatus::Active {
                return Ok(None);
            }
            email_tokens::issue(conn, tenant, user_id, EmailTokenPurpose::VerifyEmail, &hash, expires_at).await?;
            Ok::<_, DbError>(tenants::find(conn, tenant).await?.map(|tenant| (user, tenant.name)))
        })
    })
    .await
    .map_err(internal)?;
    if let Some((user, company)) = pending {
        send_later(state, verification_email(state, &user, &company, token.expose()), "verify_email");
    }
    Ok(())
}

/// Answers an unknown account after the same work as a wrong password.
async fn reject_unknown(plain: String) -> Result<Session, ApiError> {
    blocking(move || password::verify_dummy(&plain)).await?;
    Err(ApiError::InvalidCredentials)
}

/// Logs in: 401 for an unknown email or a wrong password (same body), 429 while the account is locked,
/// 403 for an unverified address, a disabled account or a suspended tenant (only once the password is right).
pub async fn login(state: &AppState, email: &str, plain: String, origin: RequestOrigin) -> Result<Session, ApiError> {
    // progressive back-off per client IP, and per address for addresses without an account (the database
    // keeps it for real accounts), so that locking reveals nothing about which addresses exist
    let limits = &state.limits;
    let ip_key = format!("ip:{}", origin.ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()));
    let email_key = format!("email:{email}");
    if let Some(retry_after_secs) =
        limits.ip_failures.locked(&ip_key).or(limits.unknown_account_failures.locked(&email_key))
    {
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    let result = login_checked(state, email, plain, origin).await;
    match &result {
        Err(ApiError::InvalidCredentials) => limits.ip_failures.record_failure(&ip_key),
        Ok(_) => limits.ip_failures.reset(&ip_key),
        Err(_) => {}
    }
    result
}

async fn login_checked(
    state: &AppState,
    email: &str,
    plain: String,
    origin: RequestOrigin,
) -> Result<Session, ApiError> {
    let unknown = |state: &AppState| state.limits.unknown_account_failures.record_failure(&format!("email:{email}"));
    let (tenant, user_id, account) = {
        let mut conn = connection(state).await?;
        let Some((tenant, user_id)) = users::lookup_by_email(&mut conn, email).await.map_err(internal)? else {
            unknown(state);
            return reject_unknown(plain).await;
        };
        (tenant, user_id, load_account(&mut conn, tenant, user_id).await?)
    };
    let Some(Account { user, tenant: tenant_row }) = account else {
        unknown(state);
        return reject_unknown(plain).await;
    };
    if let Some(until) = user.locked_until.filter(|until| *until > Utc::now()) {
        return Err(ApiError::RateLimited { retry_after_secs: secs_until(until) });
    }
    let Some(hash) = user.password_hash.clone() else {
        return reject_unknown(plain).await;
    };
    if !blocking(move || password::verify(&plain, &hash)).await? {
        record_failed_login(state, tenant, user_id, origin).await?;
        return Err(ApiError::InvalidCredentials);
    }
    check_standing(&user, &tenant_row)?;
    if user.email_verified_at.is_none() {
        return Err(ApiError::Forbidden("Confirm your email address before logging in."));
    }
    start_session(state, user, origin).await
}

async fn record_failed_login(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    origin: RequestOrigin,
) -> Result<(), ApiError> {
    let backoff = LoginBackoff::from_config(&state.config.auth);
    let mut conn = connection(state).await?;
    let locked = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let failures = users::record_failed_login(conn, tenant, user).await?.unwrap_or(0);
            let lock = backoff.lock_for(failures);
            if let Some(lock) = lock {
                users::lock_until(conn, tenant, user, from_now(lock.as_secs())).await?;
            }
            let details = json!({ "failures": failures, "lockedForSeconds": lock.map(|l| l.as_secs()) });
            audit::insert(conn, tenant, &user_event(user, "auth.login_failed", &origin, details)).await?;
            Ok::<_, DbError>(lock)
        })
    })
    .await
    .map_err(internal)?;
    if let Some(lock) = locked {
        let lock_secs = lock.as_secs();
        tracing::info!(tenant.id = %tenant, user.id = %user, lock_secs, "account locked after failed logins");
    }
    Ok(())
}

fn access_token(state: &AppState, user: &TenantUser) -> Result<IssuedToken, ApiError> {
    let subject =
        Subject::TenantUser { user: user.user_id(), tenant: user.tenant(), role: user.role().map_err(internal)? };
    state.jwt.issue(&subject, Duration::from_secs(state.config.auth.access_token_ttl_secs)).map_err(internal)
}

/// Starts a session family for a user who has just proved their password.
async fn start_session(state: &AppState, user: TenantUser, origin: RequestOrigin) -> Result<Session, ApiError> {
    let refresh = OpaqueToken::generate().map_err(internal)?;
    let (hash, expires_at) = (refresh.hash(), from_now(state.config.auth.refresh_token_ttl_secs));
    let (tenant, user_id) = (user.tenant(), user.user_id());
    let mut conn = connection(state).await?;
    in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let new = NewRefreshSession {
                token_hash: &hash,
                expires_at,
                user_agent: origin.user_agent.as_deref(),
                ip: origin.ip,
            };
            let session = sessions::start(conn, tenant, user_id, &new).await?;
            users::record_login(conn, tenant, user_id).await?;
            let details = json!({ "sessionFamily": session.family_id });
            audit::insert(conn, tenant, &user_event(user_id, "auth.login", &origin, details)).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .map_err(internal)?;
    let access = access_token(state, &user)?;
    Ok(Session { access, refresh_token: refresh.expose().to_owned(), user })
}

enum Refreshed {
    Rotated(Box<Account>),
    Reused,
    Invalid,
}

/// Exchanges a refresh token for a new pair. A token that was already exchanged revokes its whole family
/// (401); so do unknown, expired and revoked tokens (401, nothing revoked).
pub async fn refresh(state: &AppState, token: &str, origin: RequestOrigin) -> Result<Session, ApiError> {
    let mut conn = connection(state).await?;
    let (tenant, session) = sessions::lookup_by_token_hash(&mut conn, &opaque::hash(token))
        .await
        .map_err(internal)?
        .ok_or(ApiError::InvalidToken)?;
    let next = OpaqueToken::generate().map_err(internal)?;
    let (hash, expires_at) = (next.hash(), from_now(state.config.auth.refresh_token_ttl_secs));
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let new = NewRefreshSession {
                token_hash: &hash,
                expires_at,
                user_agent: origin.user_agent.as_deref(),
                ip: origin.ip,
            };
            Ok::<_, DbError>(match sessions::rotate(conn, tenant, session, &new).await? {
                Rotation::Rotated(rotated) => {
                    let user = users::find(conn, tenant, rotated.user()).await?;
                    let tenant = tenants::find(conn, tenant).await?;
                    user.zip(tenant).map_or(Refreshed::Invalid, |(user, tenant)| {
                        Refreshed::Rotated(Box::new(Account { user, tenant }))
                    })
                }
                Rotation::Reused { user, family } => {
                    let entry = NewAuditEntry {
                        actor: Actor::System,
                        action: "auth.refresh_token_reused",
                        target_type: Some("user"),
                        target_id: Some(user.to_string()),
                        origin: &origin,
                        details: json!({ "sessionFamily": family }),
                    };
                    audit::insert(conn, tenant, &entry).await?;
                    Refreshed::Reused
                }
                Rotation::Dead | Rotation::NotFound => Refreshed::Invalid,
            })
        })
    })
    .await
    .map_err(internal)?;
    match outcome {
        Refreshed::Rotated(account) => {
            let Account { user, tenant } = *account;
            check_standing(&user, &tenant)?;
            let access = access_token(state, &user)?;
            Ok(Session { access, refresh_token: next.expose().to_owned(), user })
        }
        Refreshed::Reused => {
            tracing::warn!(tenant.id = %tenant, "rotated refresh token presented again: session family revoked");
            Err(ApiError::InvalidToken)
        }
        Refreshed::Invalid => Err(ApiError::InvalidToken),
    }
}

/// Ends the session family of a refresh token. Unknown or already revoked tokens are fine (idempotent).
pub async fn logout(state: &AppState, token: &str, origin: RequestOrigin) -> Result<(), ApiError> {
    let mut conn = connection(state).await?;
    let Some((tenant, session)) =
        sessions::lookup_by_token_hash(&mut conn, &opaque::hash(token)).await.map_err(internal)?
    else {
        return Ok(());
    };
    in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(current) = sessions::find_for_update(conn, tenant, session).await? else { return Ok(()) };
            let revoked = sessions::revoke_family(conn, tenant, current.family_id).await?;
            if revoked > 0 {
                let details = json!({ "sessionFamily": current.family_id });
                audit::insert(conn, tenant, &user_event(current.user(), "auth.logout", &origin, details)).await?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await
    .map_err(internal)
}

/// Emails a reset link if `email` belongs to an active user; otherwise does nothing. The caller answers 202
/// either way.
pub async fn forgot_password(state: &AppState, email: &str, origin: RequestOrigin) -> Result<(), ApiError> {
    let mut conn = connection(state).await?;
    let Some((tenant, user_id)) = users::lookup_by_email(&mut conn, email).await.map_err(internal)? else {
        return Ok(());
    };
    let token = OpaqueToken::generate().map_err(internal)?;
    let (hash, expires_at) = (token.hash(), from_now(state.config.auth.reset_token_ttl_secs));
    let user = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(user) = users::find(conn, tenant, user_id).await? else { return Ok(None) };
            if user.status()? != UserStatus::Active {
                return Ok(None);
            }
            email_tokens::issue(conn, tenant, user_id, EmailTokenPurpose::ResetPassword, &hash, expires_at).await?;
            let entry = user_event(user_id, "auth.password_reset_requested", &origin, json!({}));
            audit::insert(conn, tenant, &entry).await?;
            Ok::<_, DbError>(Some(user))
        })
    })
    .await
    .map_err(internal)?;
    if let Some(user) = user {
        send_later(state, reset_email(state, &user, token.expose()), "reset_password");
    }
    Ok(())
}

/// Sets a new password with a reset token (single use), confirms the address the token was sent to, and
/// revokes every session of the user. 401 for unknown, used or expired tokens.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: String,
    origin: RequestOrigin,
) -> Result<(), ApiError> {
    let (tenant, token_id) = {
        let mut conn = connection(state).await?;
        email_tokens::lookup_by_token_hash(&mut conn, &opaque::hash(token))
            .await
            .map_err(internal)?
            .ok_or(ApiError::InvalidToken)?
    };
    let password_hash = blocking(move || password::hash(&new_password)).await?.map_err(internal)?;
    let mut conn = connection(state).await?;
    let reset = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let consumed = email_tokens::consume(conn, tenant, token_id, EmailTokenPurpose::ResetPassword).await?;
            let Some(user) = consumed.and_then(|t| t.user_id).map(UserId::from_uuid) else { return Ok(false) };
            if !users::set_password(conn, tenant, user, &password_hash).await? {
                return Ok(false);
            }
            users::mark_email_verified(conn, tenant, user).await?;
            let revoked = sessions::revoke_all_for_user(conn, tenant, user).await?;
            let details = json!({ "sessionsRevoked": revoked });
            audit::insert(conn, tenant, &user_event(user, "auth.password_reset", &origin, details)).await?;
            Ok::<_, DbError>(true)
        })
    })
    .await
    .map_err(internal)?;
    if reset { Ok(()) } else { Err(ApiError::InvalidToken) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_at_least_one_second_and_rounds_up() {
        assert_eq!(secs_until(Utc::now() - TimeDelta::seconds(5)), 1);
        assert_eq!(secs_until(Utc::now() + TimeDelta::milliseconds(29_500)), 30);
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(lifetime_text(48 * 3_600), "48 hours");
        assert_eq!(lifetime_text(3_600), "60 minutes");
        assert_eq!(lifetime_text(900), "15 minutes");
    }
}
