//! Per-IP limit on the sign-in routes (`/api/v1/auth/*`, `/api/v1/admin/auth/*`): credential stuffing and
//! sign-up spam are stopped before any password hashing. The per-tenant and per-key limits of the
//! authenticated API are applied where the caller is known (the authentication extractors).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError as _, web};

use crate::error::ApiError;
use crate::state::AppState;

/// Whether `path` (after the legacy rewrite) is a sign-in route.
fn is_sign_in(path: &str) -> bool {
    path.starts_with("/api/v1/auth/") || path.starts_with("/api/v1/admin/auth/")
}

/// Middleware: see the module documentation. The key is the peer address (behind a reverse proxy, the
/// proxy's; put the limit there too).
pub async fn sign_in_per_ip(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if is_sign_in(req.path())
        && let Some(state) = req.app_data::<web::Data<AppState>>()
    {
        let ip = req.peer_addr().map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string());
        if let Err(retry_after_secs) = state.limits.auth_per_ip.check(&ip) {
            tracing::warn!(route.kind = "sign_in", "rate limited");
            let response = ApiError::RateLimited { retry_after_secs }.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
