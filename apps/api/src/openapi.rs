//! The OpenAPI document (utoipa). Paths are relative to the `/api/v1` server; add each new handler to
//! `paths(...)` and its types to `components(...)`.

use utoipa::OpenApi;

use crate::error::{ErrorBody, ErrorCode, ErrorEnvelope, FieldError};
use crate::routes::health;

/// The whole API's OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Meta Chat Platform API",
        description = "Multi-tenant messaging platform. Every error uses the `ErrorEnvelope` shape. \
                       The unversioned `/api/...` paths answer like `/api/v1/...` but are deprecated \
                       (`Deprecation`, `Sunset`, `Link` headers). The health routes also answer at the root \
                       (`/health`, `/health/live`, `/health/ready`)."
    ),
    servers((url = "/api/v1", description = "This server, version 1")),
    paths(health::health, health::live, health::ready),
    components(schemas(
        ErrorEnvelope,
        ErrorBody,
        ErrorCode,
        FieldError,
        health::HealthReport,
        health::HealthStatus,
        health::Checks,
        health::Check,
        health::CheckStatus,
        health::Liveness
    )),
    tags((name = "health", description = "Liveness and readiness"))
)]
pub struct ApiDoc;
