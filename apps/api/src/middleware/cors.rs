//! CORS for `/api/v1`: only the origins listed in `http.cors_allowed_origins` (none by default).

use actix_cors::Cors;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName};

use super::request_id::X_REQUEST_ID;

/// Seconds a browser may cache a preflight answer.
const MAX_AGE_SECS: usize = 3600;

/// The CORS policy for the given origins (each `scheme://host[:port]`, validated by the configuration).
pub fn policy(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            X_REQUEST_ID,
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([X_REQUEST_ID, header::RETRY_AFTER])
        .max_age(MAX_AGE_SECS);
    origins.iter().fold(cors, |cors, origin| cors.allowed_origin(origin))
}
