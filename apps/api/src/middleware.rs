//! The middleware stack, outermost first (each is a small `from_fn` function):
//!
//! 1. [`legacy_alias`]: maps the unversioned `/api/X` to `/api/v1/X` before routing and marks the answer
//!    deprecated. It must stay outermost: rewriting a request needs sole ownership of it.
//! 2. [`request_id`]: accepts or generates `X-Request-Id`, opens the request's tracing span, echoes the id.
//! 3. [`http_metrics`]: counts requests and their latency by method, route pattern and status.
//! 4. [`security_headers`]: `nosniff`, `DENY`, `no-referrer`, CSP, HSTS (https only), `no-store` on JSON.
//! 5. [`error_envelope`]: rewrites any error response that is not yet an envelope into one.
//! 6. [`rate_limit`]: per-IP limit on the sign-in routes (429 `RATE_LIMITED` with `Retry-After`).
//!
//! CORS ([`cors`]) wraps only the `/api/v1` scope.

pub mod cors;
pub mod error_envelope;
pub mod http_metrics;
pub mod legacy_alias;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
