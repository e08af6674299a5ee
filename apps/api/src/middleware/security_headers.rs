//! Security headers on every response. API responses get a CSP that allows nothing; the interactive docs
//! get one that allows their own (local) scripts and styles. HSTS only when the public URL is https, and
//! `Cache-Control: no-store` on JSON, which may carry tenant data.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// CSP of every API response: nothing may be loaded, nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// CSP of the docs page: Swagger UI's own files, served by this API; inline styles (it sets them at
/// runtime); the OpenAPI document fetched from this origin; nothing from elsewhere.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                            img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                            frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// Path prefix of the docs page and its assets.
pub const DOCS_PREFIX: &str = "/api/v1/docs";
/// One year, subdomains included.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Middleware: see the module documentation. `hsts` is whether `http.public_base_url` is https.
pub async fn security_headers(
    hsts: bool,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let docs = req.path().starts_with(DOCS_PREFIX);
    let mut res = next.call(req).await?;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if docs { DOCS_CSP } else { API_CSP }));
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if json && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
