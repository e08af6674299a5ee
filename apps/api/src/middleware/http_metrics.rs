//! `http_requests_total` and `http_request_duration_seconds`, labelled by method, route and status. The
//! route is the matched PATTERN (`/api/v1/conversations/{id}`), never the raw path, and `unmatched` when
//! no route matched, so label cardinality stays bounded whatever clients send.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// Counter name.
pub const REQUESTS_TOTAL: &str = "http_requests_total";
/// Histogram name (seconds).
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";
/// Route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The method label: the standard methods, everything else `OTHER` (clients can invent methods).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: see the module documentation.
pub async fn http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let method = method_label(req.method());
    let started = Instant::now();
    let result = next.call(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (route, status) = match &result {
        Ok(res) => (res.request().match_pattern().unwrap_or_else(|| UNMATCHED.to_owned()), res.status().as_u16()),
        Err(err) => (UNMATCHED.to_owned(), err.as_response_error().status_code().as_u16()),
    };
    let status = status.to_string();
    metrics::counter!(REQUESTS_TOTAL, "method" => method, "route" => route.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route, "status" => status).record(elapsed);
    result
}
