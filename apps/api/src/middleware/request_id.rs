//! `X-Request-Id`: echo a sane client value, otherwise generate a UUIDv7. The id goes into the request's
//! tracing span, into the response header and, through [`current`], into every error envelope.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _};
use tracing::Instrument as _;

/// The request id header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied id accepted.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being served; also stored in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The id as sent in `X-Request-Id`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of the request whose handler or middleware is running, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// 1 to 128 characters of `[A-Za-z0-9._-]`: safe to log, to echo and to put in a header.
pub fn is_sane(value: &str) -> bool {
    (1..=MAX_LEN).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn from_request(req: &ServiceRequest) -> RequestId {
    let client = req.headers().get(X_REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| is_sane(v));
    RequestId(client.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned))
}

/// Middleware: see the module documentation.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = from_request(&req);
    req.extensions_mut().insert(id.clone());
    // Path only: query strings may carry tokens (`?session=`) and must not reach the logs.
    let span = tracing::info_span!(
        "http_request",
        request_id = %id.as_str(),
        http.method = %req.method(),
        http.path = %req.path(),
        http.route = tracing::field::Empty,
        http.status = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = CURRENT.scope(id.clone(), async move { next.call(req).await }).instrument(span.clone()).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(mut res) => {
            if let Ok(value) = HeaderValue::from_str(id.as_str()) {
                res.headers_mut().insert(X_REQUEST_ID, value);
            }
            let status = res.status().as_u16();
            span.record("http.status", status);
            if let Some(route) = res.request().match_pattern() {
                span.record("http.route", route);
            }
            span.in_scope(|| tracing::info!(latency_ms, "request completed"));
            Ok(res)
        }
        Err(err) => {
            span.in_scope(|| tracing::warn!(latency_ms, error = %err, "request failed without a response"));
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_short_plain_ids() {
        assert!(is_sane("abc-123_x.y"));
        assert!(is_sane(&"a".repeat(128)));
        assert!(!is_sane(""));
        assert!(!is_sane(&"a".repeat(129)));
        assert!(!is_sane("has space"));
        assert!(!is_sane("line\nbreak"));
        assert!(!is_sane("quote\""));
        assert!(!is_sane("ünïcode"));
    }
}
