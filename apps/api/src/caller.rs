//! [`Caller`]: who sends a request — a tenant user with an access token, or an API key — and what they may
//! do. Taking `Caller` in a handler makes the route authenticated for both; taking
//! [`crate::extract::TenantContext`] makes it user-only (an API key there gets 403).
//!
//! Credentials:
//! - `Authorization: Bearer <access token>`: a tenant user (see [`TenantContext`]).
//! - `Authorization: Bearer mck_…` or `X-API-Key: mck_…`: an API key, acting only inside its own tenant and
//!   scopes. A revoked, expired, unknown or malformed key is 401 `INVALID_TOKEN`; a key of a suspended tenant is
//!   403. Sending both headers is 401 `INVALID_TOKEN`: one request carries one credential.
//!
//! Authorization ([`Caller::require_scope`], [`Caller::require_role`]):
//! - a key passes a scope check when it holds the scope or `admin` ([`ApiScope::is_granted_by`]); it never
//!   passes a role check, so key management, channels and the team stay with signed-in users;
//! - a user passes a role check by role (owner > admin > agent) and a scope check per role: every role holds
//!   every scope except `admin`, which needs the admin role or above.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use meta_chat_database::audit::Actor;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, api_keys, tenants};
use meta_chat_shared::api_keys::{ApiScope, KEY_PREFIX};
use meta_chat_shared::ids::{ApiKeyId, TenantId, UserId};
use meta_chat_shared::{TenantStatus, UserRole};

use crate::accounts;
use crate::error::ApiError;
use crate::extract::{TenantContext, bearer_token};
use crate::state::AppState;

/// The header an API key may be sent in instead of `Authorization: Bearer`.
pub const API_KEY_HEADER: &str = "x-api-key";

/// An authenticated API key: its tenant, id and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyContext {
    /// The key's tenant: the only tenant it can act in.
    pub tenant_id: TenantId,
    /// The key.
    pub key_id: ApiKeyId,
    /// What it may do.
    pub scopes: Vec<ApiScope>,
}

/// The authenticated caller of a request: a tenant user or an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in tenant user.
    User(TenantContext),
    /// A server-to-server API key.
    ApiKey(ApiKeyContext),
}

impl Caller {
    /// The tenant every query of the request is scoped to.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            Self::User(ctx) => ctx.tenant_id,
            Self::ApiKey(key) => key.tenant_id,
        }
    }

    /// The user, for callers that are users.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::User(ctx) => Some(ctx.user_id),
            Self::ApiKey(_) => None,
        }
    }

    /// Who acted, for the audit log.
    pub fn actor(&self) -> Actor {
        match self {
            Self::User(ctx) => Actor::User(ctx.user_id),
            Self::ApiKey(key) => Actor::ApiKey(key.key_id),
        }
    }

    /// 403 `FORBIDDEN` unless the caller may act with `scope`: a key holding it (or `admin`), or a user whose
    /// role holds it (every role holds every scope but `admin`, which needs the admin role or above).
    pub fn require_scope(&self, scope: ApiScope) -> Result<(), ApiError> {
        match self {
            Self::User(ctx) if role_holds(ctx.role, scope) => Ok(()),
            Self::User(_) => Err(ApiError::Forbidden("Your role does not allow this.")),
            Self::ApiKey(key) if scope.is_granted_by(&key.scopes) => Ok(()),
            Self::ApiKey(_) => Err(ApiError::Forbidden("This API key does not have the scope this route requires.")),
        }
    }

    /// The user, if the caller is a user with at least `role`; 403 `FORBIDDEN` for lesser roles and for every
    /// API key (role-guarded routes are for signed-in users only).
    pub fn require_role(&self, role: UserRole) -> Result<&TenantContext, ApiError> {
        match self {
            Self::User(ctx) => ctx.require(role).map(|()| ctx),
            Self::ApiKey(_) => Err(key_refused()),
        }
    }

    /// The user; 403 `FORBIDDEN` for an API key.
    pub fn into_user(self) -> Result<TenantContext, ApiError> {
        match self {
            Self::User(ctx) => Ok(ctx),
            Self::ApiKey(_) => Err(key_refused()),
        }
    }

    /// Resolves the request's credential (see the module documentation for the answers).
    pub async fn authenticate(state: &AppState, credential: Credential) -> Result<Self, ApiError> {
        match credential {
            Credential::AccessToken(token) => accounts::authenticate(state, &token).await.map(Self::User),
            Credential::ApiKey(key) => authenticate_key(state, &key).await.map(Self::ApiKey),
        }
    }
}

fn key_refused() -> ApiError {
    ApiError::Forbidden("API keys cannot be used on this route; sign in as a user.")
}

fn role_holds(role: UserRole, scope: ApiScope) -> bool {
    match scope {
        ApiScope::Admin => role.at_least(UserRole::Admin),
        ApiScope::Chat
        | ApiScope::DocumentsRead
        | ApiScope::DocumentsWrite
        | ApiScope::ConversationsRead
        | ApiScope::ConversationsWrite
        | ApiScope::AnalyticsRead => true,
    }
}

/// A credential as presented, not yet checked. `Debug` never shows it.
#[derive(Clone)]
pub enum Credential {
    /// A JWT access token.
    AccessToken(String),
    /// An API key (`mck_…`).
    ApiKey(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::AccessToken(_) => "Credential::AccessToken([redacted])",
            Self::ApiKey(_) => "Credential::ApiKey([redacted])",
        })
    }
}

impl Credential {
    /// The request's credential: `Ok(None)` without one (→ 401 `UNAUTHORIZED`); 401 `INVALID_TOKEN` when both an
    /// `Authorization: Bearer` and an `X-API-Key` header are sent, or `X-API-Key` is not visible text.
    pub fn from_request(req: &HttpRequest) -> Result<Option<Self>, ApiError> {
        let header = req.headers().get(API_KEY_HEADER).map(|value| value.to_str().map(str::trim));
        match (bearer_token(req), header) {
            (Some(_), Some(_)) | (None, Some(Err(_))) => Err(ApiError::InvalidToken),
            (None, Some(Ok(key))) => Ok(Some(Self::ApiKey(key.to_owned()))),
            (Some(token), None) if token.starts_with(KEY_PREFIX) => Ok(Some(Self::ApiKey(token.to_owned()))),
            (Some(token), None) => Ok(Some(Self::AccessToken(token.to_owned()))),
            (None, None) => Ok(None),
        }
    }
}

impl Caller {
    /// Takes a token from the tenant's bucket and, for a key, from the key's: 429 `RATE_LIMITED` when empty.
    fn check_rate_limits(&self, state: &AppState) -> Result<(), ApiError> {
        let tenant = self.tenant_id().to_string();
        state
            .limits
            .per_tenant
            .check(&tenant)
            .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
        if let Self::ApiKey(key) = self {
            state
                .limits
                .per_key
                .check(&key.key_id.to_string())
                .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
        }
        Ok(())
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credential = Credential::from_request(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState not registered")))?;
            let credential = credential?.ok_or(ApiError::Unauthenticated)?;
            let caller = Self::authenticate(&state, credential).await?;
            caller.check_rate_limits(&state)?;
            if let Self::ApiKey(key) = &caller {
                count_api_call(&state, key.tenant_id).await?;
            }
            Ok(caller)
        })
    }
}

fn internal(err: DbError) -> ApiError {
    ApiError::Internal(err.into())
}

/// Counts an API-key call against the plan's monthly API calls: 402 `PLAN_LIMIT_EXCEEDED` beyond it (the
/// refused call is not counted). Signed-in users' calls from the dashboard are not metered.
async fn count_api_call(state: &AppState, tenant: TenantId) -> Result<(), ApiError> {
    let mut conn = state.db.get().await.map_err(|err| internal(DbError::from(err)))?;
    let config = std::sync::Arc::clone(&state.config);
    let counted = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let metric = meta_chat_database::usage::Metric::ApiCalls;
            meta_chat_billing::quota::consume(conn, tenant, metric, &config.billing).await
        })
    })
    .await
    .map_err(internal)?;
    crate::routes::billing::publish(state, tenant, counted?);
    Ok(())
}

/// Checks a presented API key and its tenant's standing.
async fn authenticate_key(state: &AppState, presented: &str) -> Result<ApiKeyContext, ApiError> {
    let mut conn = state.db.get().await.map_err(|err| internal(DbError::from(err)))?;
    let Some((tenant, key)) = api_keys::authenticate(&mut conn, presented).await.map_err(internal)? else {
        tracing::debug!("API key refused");
        return Err(ApiError::InvalidToken);
    };
    let tenant_row = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(tenants::find(conn, tenant)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::InvalidToken)?;
    if tenant_row.status().map_err(internal)? != TenantStatus::Active {
        return Err(ApiError::Forbidden("This organisation is suspended."));
    }
    Ok(ApiKeyContext { tenant_id: tenant, key_id: key.id, scopes: key.scopes })
}

#[cfg(test)]
mod tests {
    use actix_web::http::header;
    use actix_web::test::TestRequest;

    use super::*;

    const KEY: &str = "mck_abcdefgh0123456789012345678901234567890123456789012";

    fn user(role: UserRole) -> Caller {
        Caller::User(TenantContext { tenant_id: TenantId::new(), user_id: UserId::new(), role })
    }

    fn key(scopes: &[ApiScope]) -> Caller {
        Caller::ApiKey(ApiKeyContext { tenant_id: TenantId::new(), key_id: ApiKeyId::new(), scopes: scopes.to_vec() })
    }

    #[test]
    fn keys_pass_scope_checks_by_scope_and_never_role_checks() {
        let reader = key(&[ApiScope::ConversationsRead]);
        assert!(reader.require_scope(ApiScope::ConversationsRead).is_ok());
        assert!(matches!(reader.require_scope(ApiScope::ConversationsWrite), Err(ApiError::Forbidden(_))));
        let admin = key(&[ApiScope::Admin]);
        for scope in ApiScope::ALL {
            assert!(admin.require_scope(*scope).is_ok(), "{scope}");
        }
        assert!(matches!(admin.require_role(UserRole::Agent), Err(ApiError::Forbidden(_))));
        assert!(matches!(admin.into_user(), Err(ApiError::Forbidden(_))));
    }

    #[test]
    fn users_hold_every_scope_but_admin_which_needs_the_admin_role() {
        for scope in ApiScope::ALL.iter().filter(|s| **s != ApiScope::Admin) {
            assert!(user(UserRole::Agent).require_scope(*scope).is_ok(), "{scope}");
        }
        assert!(matches!(user(UserRole::Agent).require_scope(ApiScope::Admin), Err(ApiError::Forbidden(_))));
        assert!(user(UserRole::Admin).require_scope(ApiScope::Admin).is_ok());
        assert!(user(UserRole::Owner).require_role(UserRole::Admin).is_ok());
        assert!(matches!(user(UserRole::Agent).require_role(UserRole::Admin), Err(ApiError::Forbidden(_))));
    }

    #[test]
    fn credentials_are_told_apart_by_header_and_prefix() {
        let kind = |req: &HttpRequest| match Credential::from_request(req) {
            Ok(Some(Credential::AccessToken(_))) => "jwt",
            Ok(Some(Credential::ApiKey(_))) => "key",
            Ok(None) => "none",
            Err(_) => "refused",
        };
        let bearer = |value: &str| {
            TestRequest::default().insert_header((header::AUTHORIZATION, format!("Bearer {value}"))).to_http_request()
        };
        assert_eq!(kind(&bearer("eyJhbGciOi.x.y")), "jwt");
        assert_eq!(kind(&bearer(KEY)), "key");
        assert_eq!(kind(&TestRequest::default().insert_header((API_KEY_HEADER, KEY)).to_http_request()), "key");
        assert_eq!(kind(&TestRequest::default().insert_header((API_KEY_HEADER, "junk")).to_http_request()), "key");
        let both = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer eyJ.x.y"))
            .insert_header((API_KEY_HEADER, KEY))
            .to_http_request();
        assert_eq!(kind(&both), "refused");
        assert_eq!(kind(&TestRequest::default().to_http_request()), "none");
        assert!(!format!("{:?}", Credential::ApiKey(KEY.into())).contains("abcdefgh"));
    }
}
