//! Turns every error response that is not already an envelope (actix's 404/405/413, a payload error,
//! a CORS refusal, a library's plain-text 500, ...) into the API.md envelope, keeping its status and
//! headers (`Allow`, `Retry-After`). A 5xx gets a generic message; its cause is logged.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _, HttpResponse};
use serde_json::{Value, json};

use super::request_id::RequestId;
use crate::error::{Enveloped, ErrorCode, envelope_response, no_details};

/// Headers of the original response that describe its old body and must not be copied.
fn describes_body(name: &header::HeaderName) -> bool {
    name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH || name == header::CONTENT_ENCODING
}

fn details_for<B>(code: ErrorCode, original: &HttpResponse<B>) -> Value {
    if code == ErrorCode::MethodNotAllowed {
        let allowed: Vec<&str> = original
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').map(str::trim).filter(|m| !m.is_empty()).collect())
            .unwrap_or_default();
        return json!({ "allowedMethods": allowed });
    }
    no_details()
}

/// The envelope for a non-envelope error response `original`.
fn envelope_for<B>(original: &HttpResponse<B>, request_id: &str) -> HttpResponse {
    let status = original.status();
    let code = ErrorCode::for_status(status);
    let cause = original.error().map(ToString::to_string);
    if status.is_server_error() {
        tracing::error!(http.status = status.as_u16(), error.code = %code, error.cause = cause.as_deref(), "request failed");
    } else {
        tracing::debug!(http.status = status.as_u16(), error.code = %code, error.cause = cause.as_deref(), "request rejected");
    }
    let mut builder = HttpResponse::build(status);
    for (name, value) in original.headers() {
        if !describes_body(name) {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    envelope_response(builder, code, code.default_message().to_owned(), details_for(code, original), request_id)
}

/// Middleware: see the module documentation.
pub async fn error_envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let request_id = req.extensions().get::<RequestId>().map(|id| id.as_str().to_owned()).unwrap_or_default();
    match next.call(req).await {
        Ok(res) => {
            let status = res.status();
            let enveloped = res.response().extensions().get::<Enveloped>().is_some();
            if !(status.is_client_error() || status.is_server_error()) || enveloped {
                return Ok(res.map_into_left_body());
            }
            let (req, original) = res.into_parts();
            let replacement = envelope_for(&original, &request_id);
            Ok(ServiceResponse::new(req, replacement).map_into_right_body())
        }
        // A middleware below failed without producing a response, so there is no request left to answer
        // with here. Hand actix an error whose response already is the envelope.
        Err(err) => {
            let response = envelope_for(&err.error_response(), &request_id);
            Err(InternalError::from_response(err.to_string(), response).into())
        }
    }
}
