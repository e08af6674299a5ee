//! Platform administration: `POST /admin/auth/login`, `GET /admin/tenants`, `GET/PATCH /admin/tenants/{id}`
//! (suspend, resume, plan override) and `GET /admin/audit-log`. Every route but login takes
//! [`PlatformAdmin`], so only a platform-admin token opens them (a tenant token is 401); every call is
//! audited by [`crate::platform`].

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::audit::{AuditEntry, AuditFilter};
use meta_chat_database::keyset::{Keyset, PageRequest};
use meta_chat_database::platform::{TenantChange, TenantFilter, TenantRecord};
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::{Plan, TenantStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::extract::{ClientOrigin, PlatformAdmin};
use crate::platform::{self, AdminSession, TenantOverview};
use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/auth/login").route(web::post().to(admin_login)))
        .service(web::resource("/admin/tenants").route(web::get().to(list_tenants)))
        .service(
            web::resource("/admin/tenants/{id}").route(web::get().to(get_tenant)).route(web::patch().to(update_tenant)),
        )
        .service(web::resource("/admin/audit-log").route(web::get().to(list_audit_log)));
}

// ---- validation helpers ----

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
fn tenant_status(value: &str, (): &()) -> garde::Result {
    value.parse::<TenantStatus>().map(drop).map_err(|e| garde::Error::new(e.to_string()))
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
fn plan(value: &str, (): &()) -> garde::Result {
    value.parse::<Plan>().map(drop).map_err(|e| garde::Error::new(e.to_string()))
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
fn action_prefix(value: &str, (): &()) -> garde::Result {
    let valid = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if valid { Ok(()) } else { Err(garde::Error::new("may contain only a-z, 0-9, `_` and `.`")) }
}

fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let after = cursor
        .map(Keyset::decode)
        .transpose()
        .map_err(|_| ApiError::Validation(vec![FieldError::new("cursor", "is not a cursor this API returned")]))?;
    Ok(PageRequest { limit: limit.unwrap_or(20), after })
}

/// `Option<Option<T>>` from JSON: absent → `None`, `null` → `Some(None)`, value → `Some(Some(v))`.
mod double_option {
    use serde::{Deserialize, Deserializer};

    #[expect(clippy::option_option, reason = "absent, null and a value are three different requests")]
    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

// ---- wire enums (documentation; requests carry strings so errors can name the field) ----

/// A tenant's status.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatusDto {
    /// In service.
    Active,
    /// Its users and API keys get 403 on every route.
    Suspended,
}

/// A plan.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanDto {
    /// Free.
    Free,
    /// Starter.
    Starter,
    /// Pro.
    Pro,
    /// Enterprise.
    Enterprise,
}

// ---- request DTOs ----

/// `POST /admin/auth/login` (no `Debug`: it carries a password).
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdminLoginRequest {
    /// The admin's login email.
    #[garde(email, length(max = 320))]
    #[schema(format = Email)]
    pub email: String,
    /// Password.
    #[garde(length(chars, min = 1, max = 128))]
    #[schema(format = Password)]
    pub password: String,
}

/// Query of `GET /admin/tenants`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListTenantsQuery {
    /// `active` or `suspended`.
    #[garde(inner(custom(tenant_status)))]
    pub status: Option<String>,
    /// Substring of the name or slug, case-insensitive (1–200 characters).
    #[garde(inner(length(chars, min = 1, max = 200)))]
    pub q: Option<String>,
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

/// `PATCH /admin/tenants/{id}`: give at least one field.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateTenantRequest {
    /// `suspended` blocks every user and API key of the tenant (403); `active` resumes it.
    #[garde(inner(custom(tenant_status)))]
    #[schema(value_type = Option<TenantStatusDto>)]
    pub status: Option<String>,
    /// Why it is suspended (1–500 characters); only with `status: "suspended"`.
    #[garde(inner(custom(not_blank), length(chars, min = 1, max = 500)))]
    pub suspended_reason: Option<String>,
    /// A plan that wins over the one bought; `null` removes the override.
    #[garde(inner(inner(custom(plan))))]
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<PlanDto>, nullable)]
    pub plan_override: Option<Option<String>>,
}

impl UpdateTenantRequest {
    /// The change, once [`Validate`] has passed; 400 naming the field for combinations that make no sense.
    fn into_change(self) -> Result<TenantChange, ApiError> {
        let status = self
            .status
            .as_deref()
            .map(str::parse::<TenantStatus>)
            .transpose()
            .map_err(|e| ApiError::Validation(vec![FieldError::new("status", e.to_string())]))?;
        if status.is_none() && self.suspended_reason.is_none() && self.plan_override.is_none() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "status",
                "give at least one of status, suspendedReason, planOverride",
            )]));
        }
        if self.suspended_reason.is_some() && status != Some(TenantStatus::Suspended) {
            return Err(ApiError::Validation(vec![FieldError::new(
                "suspendedReason",
                "is only accepted with status \"suspended\"",
            )]));
        }
        let plan_override = self
            .plan_override
            .map(|plan| plan.as_deref().map(str::parse::<Plan>).transpose())
            .transpose()
            .map_err(|e| ApiError::Validation(vec![FieldError::new("planOverride", e.to_string())]))?;
        Ok(TenantChange {
            status,
            suspended_reason: self.suspended_reason.map(|reason| reason.trim().to_owned()),
            plan_override,
        })
    }
}

/// Query of `GET /admin/audit-log`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAuditQuery {
    /// Only this tenant's entries.
    #[garde(skip)]
    pub tenant: Option<Uuid>,
    /// Only actions starting with this (`admin.`, `auth.login`); a-z, 0-9, `_` and `.`, up to 100 characters.
    #[garde(inner(length(min = 1, max = 100), custom(action_prefix)))]
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[garde(skip)]
    pub since: Option<DateTime<Utc>>,
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

// ---- response DTOs ----

/// A platform admin.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminResponse {
    /// Id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// An admin access token (`POST /admin/auth/login`). There is no refresh token: log in again when it expires.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminSessionResponse {
    /// Bearer token for the `/admin/*` routes (and only those).
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
    /// The admin.
    pub admin: AdminResponse,
}

impl From<AdminSession> for AdminSessionResponse {
    fn from(session: AdminSession) -> Self {
        Self {
            access_token: session.access.token,
            token_type: "Bearer",
            expires_in: session.access.expires_in,
            expires_at: session.access.expires_at,
            admin: AdminResponse { id: session.admin.id, email: session.admin.email, name: session.admin.name },
        }
    }
}

/// How much a tenant has.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantCountsResponse {
    /// Team members (any status).
    pub users: i64,
    /// Connected channels.
    pub channels: i64,
    /// Conversations (any status).
    pub conversations: i64,
}

/// A tenant as platform admins see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTenantResponse {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// URL-safe handle.
    pub slug: String,
    /// `active` or `suspended`.
    #[schema(value_type = TenantStatusDto)]
    pub status: String,
    /// The plan in force (the override if set, else the plan bought).
    #[schema(value_type = PlanDto)]
    pub plan: String,
    /// The plan bought.
    #[schema(value_type = PlanDto)]
    pub plan_id: String,
    /// The plan set by a platform admin, if any.
    #[schema(value_type = Option<PlanDto>)]
    pub plan_override: Option<String>,
    /// When it was suspended (set exactly while suspended).
    pub suspended_at: Option<DateTime<Utc>>,
    /// Why it was suspended.
    pub suspended_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Users, channels and conversations: in `GET` and `PATCH /admin/tenants/{id}`, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<TenantCountsResponse>,
}

impl From<TenantRecord> for AdminTenantResponse {
    fn from(tenant: TenantRecord) -> Self {
        Self {
            plan: tenant.plan().to_owned(),
            id: tenant.id,
            name: tenant.name,
            slug: tenant.slug,
            status: tenant.status,
            plan_id: tenant.plan_id,
            plan_override: tenant.plan_override,
            suspended_at: tenant.suspended_at,
            suspended_reason: tenant.suspended_reason,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
            counts: None,
        }
    }
}

impl From<TenantOverview> for AdminTenantResponse {
    fn from(overview: TenantOverview) -> Self {
        let counts = overview.counts;
        Self {
            counts: Some(TenantCountsResponse {
                users: counts.users,
                channels: counts.channels,
                conversations: counts.conversations,
            }),
            ..Self::from(overview.tenant)
        }
    }
}

/// A page of tenants.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminTenantList {
    /// The tenants, newest first.
    pub data: Vec<AdminTenantResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One audit log entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryResponse {
    /// Id.
    pub id: Uuid,
    /// The tenant concerned; `null` for platform-level actions.
    pub tenant_id: Option<Uuid>,
    /// `user`, `admin`, `api_key` or `system`.
    pub actor_type: String,
    /// The actor's id (`null` for `system`).
    pub actor_id: Option<Uuid>,
    /// What happened, e.g. `admin.tenant.suspended`.
    pub action: String,
    /// The kind of object acted on.
    pub target_type: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// Structured context.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            tenant_id: entry.tenant_id,
            actor_type: entry.actor_type,
            actor_id: entry.actor_id,
            action: entry.action,
            target_type: entry.target_type,
            target_id: entry.target_id,
            ip: entry.ip,
            user_agent: entry.user_agent,
            request_id: entry.request_id,
            details: entry.details,
            created_at: entry.created_at,
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogList {
    /// The entries, newest first.
    pub data: Vec<AuditEntryResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---- handlers ----

/// Logs a platform admin in. Admin accounts are created with `meta-chat-worker create-admin`; the token
/// opens the `/admin/*` routes and nothing else.
#[utoipa::path(
    post,
    path = "/admin/auth/login",
    tag = "admin",
    request_body = AdminLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AdminSessionResponse),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 401, description = "`UNAUTHORIZED`: unknown email or wrong password (one answer for both)", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: the admin account is disabled", body = ErrorEnvelope),
        (status = 429, description = "`RATE_LIMITED`: see `Retry-After`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all)]
pub async fn admin_login(
    state: web::Data<AppState>,
    origin: ClientOrigin,
    body: web::Json<AdminLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let email = body.email.trim().to_lowercase();
    let session = platform::login(&state, &email, body.password, origin.0).await?;
    Ok(HttpResponse::Ok().json(AdminSessionResponse::from(session)))
}

/// Every tenant, newest first; filter by status, search by name or slug.
#[utoipa::path(
    get,
    path = "/admin/tenants",
    tag = "admin",
    params(ListTenantsQuery),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = AdminTenantList),
        (status = 400, description = "`VALIDATION_ERROR` naming the parameter, or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No token, or not a platform-admin token", body = ErrorEnvelope),
        (status = 403, description = "`FORBIDDEN`: the admin account is disabled", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(admin.id = %admin.admin_id))]
pub async fn list_tenants(
    admin: PlatformAdmin,
    state: web::Data<AppState>,
    origin: ClientOrigin,
    query: web::Query<ListTenantsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<TenantStatus>)
        .transpose()
        .map_err(|e| ApiError::Validation(vec![FieldError::new("status", e.to_string())]))?;
    let filter = TenantFilter { status, query: query.q };
    let (tenants, next_cursor) = platform::list_tenants(&state, admin, filter, page, origin.0).await?;
    let data = tenants.into_iter().map(AdminTenantResponse::from).collect();
    Ok(HttpResponse::Ok().json(AdminTenantList { data, next_cursor }))
}

/// One tenant with the number of its users, channels and conversations.
#[utoipa::path(
    get,
    path = "/admin/tenants/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The tenant", body = AdminTenantResponse),
        (status = 401, description = "No token, or not a platform-admin token", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such tenant", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(admin.id = %admin.admin_id))]
pub async fn get_tenant(
    admin: PlatformAdmin,
    state: web::Data<AppState>,
    origin: ClientOrigin,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let tenant = TenantId::from_uuid(path.into_inner());
    let overview = platform::get_tenant(&state, admin, tenant, origin.0).await?;
    Ok(HttpResponse::Ok().json(AdminTenantResponse::from(overview)))
}

/// Suspend or resume a tenant, and/or override its plan. A suspended tenant's users and API keys get 403
/// `FORBIDDEN` on every route until it is resumed.
#[utoipa::path(
    patch,
    path = "/admin/tenants/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body = UpdateTenantRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The updated tenant", body = AdminTenantResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field", body = ErrorEnvelope),
        (status = 401, description = "No token, or not a platform-admin token", body = ErrorEnvelope),
        (status = 404, description = "`NOT_FOUND`: no such tenant", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(admin.id = %admin.admin_id))]
pub async fn update_tenant(
    admin: PlatformAdmin,
    state: web::Data<AppState>,
    origin: ClientOrigin,
    path: web::Path<Uuid>,
    body: web::Json<UpdateTenantRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let change = body.into_change()?;
    let tenant = TenantId::from_uuid(path.into_inner());
    let overview = platform::update_tenant(&state, admin, tenant, change, origin.0).await?;
    Ok(HttpResponse::Ok().json(AdminTenantResponse::from(overview)))
}

/// The audit log across tenants, newest first: who did what, when and from where.
#[utoipa::path(
    get,
    path = "/admin/audit-log",
    tag = "admin",
    params(ListAuditQuery),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = AuditLogList),
        (status = 400, description = "`VALIDATION_ERROR` naming the parameter, or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No token, or not a platform-admin token", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(admin.id = %admin.admin_id))]
pub async fn list_audit_log(
    admin: PlatformAdmin,
    state: web::Data<AppState>,
    origin: ClientOrigin,
    query: web::Query<ListAuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let filter =
        AuditFilter { tenant: query.tenant.map(TenantId::from_uuid), action_prefix: query.action, since: query.since };
    let (entries, next_cursor) = platform::list_audit(&state, admin, filter, page, origin.0).await?;
    let data = entries.into_iter().map(AuditEntryResponse::from).collect();
    Ok(HttpResponse::Ok().json(AuditLogList { data, next_cursor }))
}
