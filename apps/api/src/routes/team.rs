//! The team: `GET /users` (every role), `POST /users` (invite), `PATCH /users/{id}` (role), `DELETE /users/{id}`
//! (owners and admins), and the public `POST /auth/accept-invitation` that an invited user opens from the email.
//!
//! Owners manage everyone; admins invite, change and remove agents; agents manage nobody (403). The last active
//! owner can be neither demoted nor removed: 409 `CONFLICT` with `details.field` naming the input (`role` for a
//! demotion, `id` for a removal). Another tenant's user id is 404.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::keyset::{Keyset, PageRequest};
use meta_chat_database::users::TenantUser;
use meta_chat_shared::UserRole;
use meta_chat_shared::ids::UserId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::extract::{ClientOrigin, TenantContext};
use crate::routes::auth::{UserEnvelope, UserResponse};
use crate::state::AppState;
use crate::tenancy::{self, InviteInput};

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").route(web::get().to(list_users)).route(web::post().to(invite_user)))
        .service(web::resource("/users/{id}").route(web::patch().to(update_user)).route(web::delete().to(remove_user)))
        .service(web::resource("/auth/accept-invitation").route(web::post().to(accept_invitation)));
}

// ---- request DTOs ----

/// Query of `GET /users`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

/// `POST /users`: invite someone by email. No `Debug`: it carries an email address.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteUserRequest {
    /// The invitee's login email.
    #[garde(email, length(max = 320))]
    #[schema(format = Email, example = "grace@acme.example")]
    pub email: String,
    /// Their name, 1 to 200 characters.
    #[garde(custom(not_blank), length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, example = "Grace Hopper")]
    pub name: String,
    /// `admin` (owners only) or `agent`.
    #[garde(custom(invitable_role))]
    #[schema(example = "agent")]
    pub role: String,
}

/// `PATCH /users/{id}`: change a user's role.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// `owner`, `admin` or `agent`. Only owners give or take the owner and admin roles.
    #[garde(custom(any_role))]
    #[schema(example = "admin")]
    pub role: String,
}

/// `POST /auth/accept-invitation`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcceptInvitationRequest {
    /// The token from the invitation link.
    #[garde(length(min = 1, max = 256))]
    pub token: String,
    /// The password to log in with, 10 to 128 characters.
    #[garde(length(chars, min = 10, max = 128))]
    #[schema(min_length = 10, max_length = 128, format = Password)]
    pub password: String,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn invitable_role(value: &str, (): &()) -> garde::Result {
    match value.parse::<UserRole>() {
        Ok(UserRole::Admin | UserRole::Agent) => Ok(()),
        _ => Err(garde::Error::new("must be `admin` or `agent` (make someone owner once they have joined)")),
    }
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde passes the (empty) context by reference")]
fn any_role(value: &str, (): &()) -> garde::Result {
    value.parse::<UserRole>().map(drop).map_err(|_| garde::Error::new("must be `owner`, `admin` or `agent`"))
}

/// A role string that passed [`invitable_role`] or [`any_role`].
fn role(value: &str) -> Result<UserRole, ApiError> {
    value.parse().map_err(|_| ApiError::Validation(vec![FieldError::new("role", "is not a role")]))
}

// ---- response DTOs ----

/// A member of the team.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberResponse {
    /// Id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `owner`, `admin` or `agent`.
    #[schema(example = "agent")]
    pub role: String,
    /// `invited` (has not accepted yet), `active` or `disabled`.
    #[schema(example = "active")]
    pub status: String,
    /// Whether the email address has been confirmed.
    pub email_verified: bool,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created (invited or signed up).
    pub created_at: DateTime<Utc>,
}

impl From<&TenantUser> for TeamMemberResponse {
    fn from(user: &TenantUser) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.clone(),
            status: user.status.clone(),
            email_verified: user.email_verified_at.is_some(),
            last_login_at: user.last_login_at,
            created_at: user.created_at,
        }
    }
}

/// A page of team members.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberList {
    /// The members, newest first.
    pub data: Vec<TeamMemberResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---- handlers ----

/// The tenant's users, newest first. Every role may list them.
#[utoipa::path(
    get,
    path = "/users",
    tag = "team",
    params(ListUsersQuery),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = TeamMemberList),
        (status = 400, description = "`VALIDATION_ERROR` or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED` or `INVALID_TOKEN`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id))]
pub async fn list_users(
    ctx: TenantContext,
    state: web::Data<AppState>,
    query: web::Query<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    let after = query
        .cursor
        .as_deref()
        .map(Keyset::decode)
        .transpose()
        .map_err(|_| ApiError::Validation(vec![FieldError::new("cursor", "is not a cursor this API returned")]))?;
    let page = PageRequest { limit: query.limit.unwrap_or(20), after };
    let (users, next_cursor) = tenancy::list_users(&state, &ctx, page).await?;
    let data = users.iter().map(TeamMemberResponse::from).collect();
    Ok(HttpResponse::Ok().json(TeamMemberList { data, next_cursor }))
}

/// Invite someone: creates an `invited` user (who cannot log in yet) and emails them a single-use link to
/// `/accept-invitation?token=…`, valid as long as a verification link. Owners invite admins and agents, admins
/// invite agents.
#[utoipa::path(
    post,
    path = "/users",
    tag = "team",
    request_body = InviteUserRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Invited; the email is on its way", body = TeamMemberResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED` or `INVALID_TOKEN`", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: agents invite nobody, admins invite only agents", body = ErrorEnvelope),
        (status = 409, description = "`EMAIL_EXISTS`: the address already has an account", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id))]
pub async fn invite_user(
    ctx: TenantContext,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    body: web::Json<InviteUserRequest>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(UserRole::Admin)?;
    let body = body.into_inner();
    body.validate()?;
    let input = InviteInput { email: body.email.trim().to_lowercase(), name: body.name, role: role(&body.role)? };
    let user = tenancy::invite(&state, &ctx, input, origin.0).await?;
    Ok(HttpResponse::Created().json(TeamMemberResponse::from(&user)))
}

/// Change a user's role. Owners give and take any role; admins manage agents only. The last active owner
/// keeps the owner role (409 `CONFLICT`).
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "team",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UpdateUserRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The user as they are now", body = TeamMemberResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED` or `INVALID_TOKEN`", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: the caller's role does not allow this change", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT` (`details.field = \"role\"`): the last active owner", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id))]
pub async fn update_user(
    ctx: TenantContext,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    ctx.require(UserRole::Admin)?;
    let body = body.into_inner();
    body.validate()?;
    let target = UserId::from_uuid(path.into_inner());
    let user = tenancy::change_role(&state, &ctx, target, role(&body.role)?, origin.0).await?;
    Ok(HttpResponse::Ok().json(TeamMemberResponse::from(&user)))
}

/// Remove a user from the team: their sessions are revoked at once. Owners remove anyone, admins remove
/// agents, and owners and admins may remove themselves. The last active owner stays (409 `CONFLICT`).
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "team",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "`UNAUTHORIZED` or `INVALID_TOKEN`", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: the caller's role does not allow this", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT` (`details.field = \"id\"`): the last active owner", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %ctx.tenant_id))]
pub async fn remove_user(
    ctx: TenantContext,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let target = UserId::from_uuid(path.into_inner());
    tenancy::remove(&state, &ctx, target, origin.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accept an invitation with the token from its link (single use): sets the password, confirms the address
/// and activates the account. Log in afterwards with `POST /auth/login`.
#[utoipa::path(
    post,
    path = "/auth/accept-invitation",
    tag = "auth",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "The account is active", body = UserEnvelope),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 401, description = "`INVALID_TOKEN`: unknown, used or expired", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<AcceptInvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let user = tenancy::accept_invitation(&state, &body.token, body.password, origin.0).await?;
    Ok(HttpResponse::Ok().json(UserEnvelope { user: UserResponse::from(&user) }))
}
