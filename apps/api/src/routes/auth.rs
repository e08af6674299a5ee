//! Sign-up and sessions: `POST /auth/signup`, `/auth/verify-email`, `/auth/resend-verification`,
//! `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/forgot-password`, `/auth/reset-password`, and
//! `GET /me`. Handlers validate, call one flow of [`crate::accounts`] and map the result to a response DTO.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::tenants::Tenant;
use meta_chat_database::users::TenantUser;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accounts::{self, Account, Session, SignupInput};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ClientOrigin, TenantContext};
use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/signup").route(web::post().to(signup)))
        .service(web::resource("/auth/verify-email").route(web::post().to(verify_email)))
        .service(web::resource("/auth/resend-verification").route(web::post().to(resend_verification)))
        .service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/auth/refresh").route(web::post().to(refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/auth/forgot-password").route(web::post().to(forgot_password)))
        .service(web::resource("/auth/reset-password").route(web::post().to(reset_password)))
        .service(web::resource("/me").route(web::get().to(get_me)));
}

// ---- validation helpers ----

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// Login emails are stored and compared in lower case.
fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

// ---- request DTOs (no Debug: they carry passwords and tokens) ----

/// `POST /auth/signup`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignupRequest {
    /// The owner's login email.
    #[garde(email, length(max = 320))]
    #[schema(format = Email, example = "ada@acme.example")]
    pub email: String,
    /// 10 to 128 characters.
    #[garde(length(chars, min = 10, max = 128))]
    #[schema(min_length = 10, max_length = 128, format = Password)]
    pub password: String,
    /// The owner's name, 1 to 200 characters.
    #[garde(custom(not_blank), length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "Ada Lovelace")]
    pub name: String,
    /// The organisation's name, 1 to 200 characters.
    #[garde(custom(not_blank), length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "Acme Corp")]
    pub company_name: String,
}

/// A token received by email (`POST /auth/verify-email`).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyEmailRequest {
    /// The token from the verification link.
    #[garde(length(min = 1, max = 256))]
    pub token: String,
}

/// An email address (`POST /auth/resend-verification`, `POST /auth/forgot-password`).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmailRequest {
    /// The account's login email.
    #[garde(email, length(max = 320))]
    #[schema(format = Email)]
    pub email: String,
}

/// `POST /auth/login`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginRequest {
    /// Login email.
    #[garde(email, length(max = 320))]
    #[schema(format = Email)]
    pub email: String,
    /// Password.
    #[garde(length(chars, min = 1, max = 128))]
    #[schema(format = Password)]
    pub password: String,
}

/// A refresh token (`POST /auth/refresh`, `POST /auth/logout`).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[garde(length(min = 1, max = 256))]
    pub refresh_token: String,
}

/// `POST /auth/reset-password`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    #[garde(length(min = 1, max = 256))]
    pub token: String,
    /// The new password, 10 to 128 characters.
    #[garde(length(chars, min = 10, max = 128))]
    #[schema(min_length = 10, max_length = 128, format = Password)]
    pub password: String,
}

// ---- response DTOs ----

/// A tenant user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// Id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `owner`, `admin` or `agent`.
    #[schema(example = "owner")]
    pub role: String,
    /// The user's tenant.
    pub tenant_id: Uuid,
    /// Whether the email address has been confirmed.
    pub email_verified: bool,
}

impl From<&TenantUser> for UserResponse {
    fn from(user: &TenantUser) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.clone(),
            tenant_id: user.tenant_id,
            email_verified: user.email_verified_at.is_some(),
        }
    }
}

/// A tenant as its users see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantResponse {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// URL-safe handle.
    pub slug: String,
    /// The plan in force (`free`, `starter`, `pro`, `enterprise`).
    pub plan: String,
    /// `active` or `suspended`.
    pub status: String,
}

impl From<&Tenant> for TenantResponse {
    fn from(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id,
            name: tenant.name.clone(),
            slug: tenant.slug.clone(),
            plan: tenant.plan().to_owned(),
            status: tenant.status.clone(),
        }
    }
}

/// A user and their tenant (`POST /auth/signup`, `GET /me`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountResponse {
    /// The user.
    pub user: UserResponse,
    /// The tenant.
    pub tenant: TenantResponse,
}

impl From<&Account> for AccountResponse {
    fn from(account: &Account) -> Self {
        Self { user: UserResponse::from(&account.user), tenant: TenantResponse::from(&account.tenant) }
    }
}

/// A user (`POST /auth/verify-email`).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserEnvelope {
    /// The user.
    pub user: UserResponse,
}

/// A new token pair (`POST /auth/login`, `POST /auth/refresh`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// Bearer token for the API (`Authorization: Bearer …`).
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// Exchange it at `POST /auth/refresh` for a new pair; it works once.
    pub refresh_token: String,
    /// The user.
    pub user: UserResponse,
}

impl From<Session> for SessionResponse {
    fn from(session: Session) -> Self {
        Self {
            access_token: session.access.token,
            token_type: "Bearer",
            expires_in: session.access.expires_in,
            expires_at: session.access.expires_at,
            refresh_token: session.refresh_token,
            user: UserResponse::from(&session.user),
        }
    }
}

// ---- handlers ----

/// Creates a tenant and its owner in one transaction and emails a verification link. The owner can log in
/// once the address is verified.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Tenant and owner created; a verification email is on its way", body = AccountResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field", body = ErrorEnvelope),
        (status = 409, description = "`EMAIL_EXISTS`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn signup(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<SignupRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let input = SignupInput {
        email: normalize_email(&body.email),
        password: body.password,
        name: body.name,
        company_name: body.company_name,
    };
    let account = accounts::signup(&state, input, origin.0).await?;
    Ok(HttpResponse::Created().json(AccountResponse::from(&account)))
}

/// Confirms an email address with the token from the verification link (single use).
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Address confirmed", body = UserEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 401, description = "`INVALID_TOKEN`: unknown, used or expired", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let account = accounts::verify_email(&state, &body.token, origin.0).await?;
    Ok(HttpResponse::Ok().json(UserEnvelope { user: UserResponse::from(&account.user) }))
}

/// Sends a new verification link if the address belongs to an unverified account. Always 202, so the
/// answer does not tell whether an account exists.
#[utoipa::path(
    post,
    path = "/auth/resend-verification",
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted (whether or not the address is registered)"),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn resend_verification(
    state: web::Data<AppState>,
    body: web::Json<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    accounts::resend_verification(&state, &normalize_email(&body.email)).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Logs in with email and password and returns an access token and a refresh token. Repeated failures lock
/// the account for a growing time (429 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = SessionResponse),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED`: unknown email or wrong password (one answer for both)", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: email not verified, account disabled or organisation suspended", body = ErrorEnvelope),
        (status = 429, description = "`RATE_LIMITED`: too many failed attempts; see `Retry-After`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let session = accounts::login(&state, &normalize_email(&body.email), body.password, origin.0).await?;
    Ok(HttpResponse::Ok().json(SessionResponse::from(session)))
}

/// Exchanges a refresh token for a new access token and a new refresh token. Each refresh token works once;
/// presenting one again revokes every session descended from the same login.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = SessionResponse),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 401, description = "`INVALID_TOKEN`: unknown, expired, revoked or already used", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: account disabled or organisation suspended", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn refresh(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let session = accounts::refresh(&state, &body.refresh_token, origin.0).await?;
    Ok(HttpResponse::Ok().json(SessionResponse::from(session)))
}

/// Ends the session of a refresh token (and every earlier or later token of the same login). Idempotent.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn logout(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    accounts::logout(&state, &body.refresh_token, origin.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Emails a password reset link if the address belongs to an account. Always 202.
#[utoipa::path(
    post,
    path = "/auth/forgot-password",
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted (whether or not the address is registered)"),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn forgot_password(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<EmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    accounts::forgot_password(&state, &normalize_email(&body.email), origin.0).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Sets a new password with the token from the reset link (single use) and signs the user out everywhere:
/// every refresh token of the account stops working.
#[utoipa::path(
    post,
    path = "/auth/reset-password",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password changed; all sessions revoked"),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 401, description = "`INVALID_TOKEN`: unknown, used or expired", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn reset_password(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<ResetPasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    accounts::reset_password(&state, &body.token, body.password, origin.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller and their tenant.
#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The caller", body = AccountResponse),
        (status = 401, description = "`UNAUTHORIZED` without a token, `INVALID_TOKEN` for a bad, expired or wrong-kind token", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: account disabled or organisation suspended", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id, user.id = %ctx.user_id))]
pub async fn get_me(ctx: TenantContext, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let account = accounts::me(&state, &ctx).await?;
    Ok(HttpResponse::Ok().json(AccountResponse::from(&account)))
}
