//! Extractors: [`TenantContext`] (the authenticated tenant user; taking it is what makes a route
//! authenticated), [`PlatformAdmin`] (the `/admin/*` routes) and [`ClientOrigin`] (where a request came from,
//! for the audit log and sessions).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use meta_chat_database::audit::RequestOrigin;
use meta_chat_shared::UserRole;
use meta_chat_shared::ids::{AdminId, TenantId, UserId};

use crate::caller::Caller;
use crate::error::ApiError;
use crate::middleware::request_id::RequestId;
use crate::platform;
use crate::state::AppState;

/// The caller and their tenant, from a tenant-user access token checked against the database: the tenant
/// is active, the user exists and is active, and `role` is the user's role now (not at token issue).
///
/// Fails closed: no `Authorization: Bearer` header → 401 `UNAUTHORIZED`; a malformed, expired, foreign or
/// wrong-kind token, or a user that no longer exists → 401 `INVALID_TOKEN`; a suspended tenant or a
/// disabled user → 403 `FORBIDDEN`. Routes that take it are user-only: a valid API key gets 403 `FORBIDDEN`
/// (routes open to keys take [`crate::caller::Caller`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantContext {
    /// The caller's tenant: every query of the request is scoped to it.
    pub tenant_id: TenantId,
    /// The caller.
    pub user_id: UserId,
    /// The caller's current role.
    pub role: UserRole,
}

impl TenantContext {
    /// 403 `FORBIDDEN` unless the caller has at least `role` (owner > admin > agent).
    pub fn require(&self, role: UserRole) -> Result<(), ApiError> {
        if self.role.at_least(role) { Ok(()) } else { Err(ApiError::Forbidden("Your role does not allow this.")) }
    }
}

impl FromRequest for TenantContext {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move { caller.await?.into_user() })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive); `None` without one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A platform administrator, from a `platform_admin` access token (`POST /admin/auth/login`) whose account
/// still exists and is enabled. Only `/admin/*` routes take it; it is the only thing those routes accept.
///
/// Fails closed: no `Authorization: Bearer` header → 401 `UNAUTHORIZED`; a tenant-user, widget or otherwise
/// invalid token, an API key, or an admin that no longer exists → 401 `INVALID_TOKEN`; a disabled admin →
/// 403 `FORBIDDEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformAdmin {
    /// The admin.
    pub admin_id: AdminId,
}

impl FromRequest for PlatformAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req).map(str::to_owned);
        let api_key = req.headers().contains_key(crate::caller::API_KEY_HEADER);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState not registered")))?;
            match token {
                Some(token) => platform::authenticate(&state, &token).await,
                None if api_key => Err(ApiError::InvalidToken),
                None => Err(ApiError::Unauthenticated),
            }
        })
    }
}

/// Where the request came from: the peer address (the proxy's, behind one), `User-Agent` and request id.
#[derive(Debug, Clone, Default)]
pub struct ClientOrigin(pub RequestOrigin);

impl FromRequest for ClientOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        ready(Ok(Self(RequestOrigin {
            ip: req.peer_addr().map(|addr| addr.ip()),
            user_agent,
            request_id: req.extensions().get::<RequestId>().map(|id| id.as_str().to_owned()),
        })))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn require_allows_the_role_and_above() {
        let ctx = |role| TenantContext { tenant_id: TenantId::new(), user_id: UserId::new(), role };
        assert!(ctx(UserRole::Owner).require(UserRole::Admin).is_ok());
        assert!(ctx(UserRole::Admin).require(UserRole::Admin).is_ok());
        let refused = ctx(UserRole::Agent).require(UserRole::Admin).unwrap_err();
        assert!(matches!(refused, ApiError::Forbidden(_)));
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header_only() {
        let with = |value: &str| TestRequest::default().insert_header((header::AUTHORIZATION, value)).to_http_request();
        assert_eq!(bearer_token(&with("Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer_token(&with("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("Basic YWRhOnB3")), None);
        assert_eq!(bearer_token(&with("Bearer")), None);
        assert_eq!(bearer_token(&TestRequest::default().to_http_request()), None);
    }
}
