//! The error envelope of API.md and [`ApiError`], the one place that knows HTTP status codes.
//!
//! Every error the API sends has the shape
//! `{"error": {"code", "message", "details", "requestId", "timestamp"}}`. Handlers return [`ApiError`];
//! actix's own errors (bad JSON, unknown route, wrong method, ...) are turned into the same shape by the
//! extractor configuration in [`crate::payload`] and by [`crate::middleware::error_envelope`].
//! Messages of 5xx responses are generic: the cause is logged with the request id, never returned.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::middleware::request_id;

mod code;

pub use code::ErrorCode;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The `error` member of [`ErrorEnvelope`].
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation; generic for 5xx.
    pub message: String,
    /// Structured context, e.g. `fields` for `VALIDATION_ERROR`; an empty object when there is none.
    #[schema(value_type = Object)]
    pub details: Value,
    /// The request's `X-Request-Id`; quote it when reporting a problem.
    pub request_id: String,
    /// When the error was produced (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: String,
}

/// One invalid input in `details.fields` of a `VALIDATION_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the problem is: a body field name, `path` or `query`; empty when it cannot be located.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// Marks a response whose body already is an [`ErrorEnvelope`], so the envelope middleware leaves it alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enveloped;

/// Builds an envelope response. `request_id` is the id of the request being answered.
pub(crate) fn envelope_response(
    mut builder: HttpResponseBuilder,
    code: ErrorCode,
    message: String,
    details: Value,
    request_id: &str,
) -> HttpResponse {
    let body = ErrorEnvelope {
        error: ErrorBody {
            code,
            message,
            details,
            request_id: request_id.to_owned(),
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        },
    };
    let mut response = builder.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store"))).json(body);
    response.extensions_mut().insert(Enveloped);
    response
}

/// The empty `details` object.
pub(crate) fn no_details() -> Value {
    Value::Object(Map::new())
}

/// What a handler can fail with. Each variant maps to one status and one [`ErrorCode`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not syntactically valid JSON (or could not be read).
    #[error("malformed JSON body: {0}")]
    InvalidJson(String),
    /// The query string could not be deserialized.
    #[error("malformed query string: {0}")]
    InvalidQuery(String),
    /// The input is well-formed but not acceptable.
    #[error("request failed validation")]
    Validation(Vec<FieldError>),
    /// No credentials were sent (no `Authorization: Bearer` header).
    #[error("authentication required")]
    Unauthenticated,
    /// A login with an unknown email or a wrong password: one answer for both, so neither can be told apart.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A bearer, refresh or emailed token is malformed, expired, revoked, unknown or of the wrong kind.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A webhook's signature (Meta `X-Hub-Signature-256`, Stripe) is missing or does not match the body.
    #[error("missing or invalid webhook signature")]
    InvalidSignature,
    /// Authenticated, but not allowed: the reason is safe to show (role, unverified email, suspended tenant,
    /// disabled account).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Sign-up with an email address that is already registered.
    #[error("email address already registered")]
    EmailExists,
    /// The request conflicts with existing data; `field` names the input at fault (`details.field`), e.g.
    /// `config.phoneNumberId` of a number another channel already connects.
    #[error("conflict on {field}")]
    Conflict {
        /// JSON path of the conflicting input.
        field: &'static str,
        /// What conflicts, safe to show.
        message: &'static str,
    },
    /// Too many attempts; the client may retry after this many seconds (`Retry-After`).
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// No such route or resource (another tenant's ids included).
    #[error("not found")]
    NotFound,
    /// The body is larger than `limit` bytes.
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// No such document (another tenant's ids included): 404 `DOCUMENT_NOT_FOUND`.
    #[error("document not found")]
    DocumentNotFound,
    /// A document's content is not an accepted type, or not the type it claims: 415, the reason is shown.
    #[error("unsupported document: {0}")]
    UnsupportedDocument(String),
    /// The body's content type is not the one this route reads.
    #[error("unsupported content type, expected {expected}")]
    UnsupportedMediaType {
        /// The content type the route expects.
        expected: &'static str,
    },
    /// The action would take the tenant beyond its plan's limit for `metric`.
    #[error("plan limit for {metric} reached ({used} of {limit})")]
    PlanLimitExceeded {
        /// The limited metric (`channels`, `team_members`, `api_calls`, ...).
        metric: &'static str,
        /// The plan's limit.
        limit: u64,
        /// What is used now.
        used: u64,
    },
    /// A third-party service (Stripe, ...) failed or refused; the cause is logged, `service` is shown.
    #[error("{service} failed: {cause}")]
    ExternalService {
        /// Which service, safe to show.
        service: &'static str,
        /// What happened, for the log only.
        cause: String,
    },
    /// A dependency is down; `details` say which (never why: that is logged).
    #[error("dependencies unavailable")]
    ServiceUnavailable {
        /// Public details, e.g. the failing dependency names.
        details: Value,
    },
    /// Anything else: logged with the request id, answered with a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The stable code clients switch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidJson(_) => ErrorCode::InvalidJson,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::Validation(_) => ErrorCode::ValidationError,
            Self::Unauthenticated | Self::InvalidCredentials => ErrorCode::Unauthorized,
            Self::InvalidToken => ErrorCode::InvalidToken,
            Self::InvalidSignature => ErrorCode::InvalidSignature,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::EmailExists => ErrorCode::EmailExists,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::NotFound => ErrorCode::NotFound,
            Self::DocumentNotFound => ErrorCode::DocumentNotFound,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType { .. } | Self::UnsupportedDocument(_) => ErrorCode::UnsupportedMediaType,
            Self::ServiceUnavailable { .. } => ErrorCode::ServiceUnavailable,
            Self::PlanLimitExceeded { .. } => ErrorCode::PlanLimitExceeded,
            Self::ExternalService { .. } => ErrorCode::ExternalServiceError,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The message shown to the client: specific for 4xx, generic for 5xx.
    fn public_message(&self) -> String {
        match self {
            Self::InvalidJson(reason) => format!("The request body is not valid JSON: {reason}."),
            Self::InvalidQuery(reason) => format!("The query string is not valid: {reason}."),
            Self::PayloadTooLarge { limit } => format!("The request body is larger than {limit} bytes."),
            Self::UnsupportedMediaType { expected } => format!("The request content type must be {expected}."),
            Self::UnsupportedDocument(reason) => reason.clone(),
            Self::InvalidCredentials => "The email address or password is not correct.".to_owned(),
            Self::InvalidToken => "The token is not valid or has expired.".to_owned(),
            Self::Forbidden(reason) => (*reason).to_owned(),
            Self::EmailExists => "An account with this email address already exists.".to_owned(),
            Self::Conflict { message, .. } => (*message).to_owned(),
            Self::PlanLimitExceeded { metric, limit, used } => {
                format!(
                    "The plan allows {limit} {}; {used} are used. Upgrade the plan to go beyond.",
                    metric.replace('_', " ")
                )
            }
            Self::RateLimited { retry_after_secs } => {
                format!("Too many attempts; retry in {retry_after_secs} seconds.")
            }
            Self::Validation(_)
            | Self::Unauthenticated
            | Self::InvalidSignature
            | Self::NotFound
            | Self::DocumentNotFound
            | Self::ServiceUnavailable { .. }
            | Self::ExternalService { .. }
            | Self::Internal(_) => self.code().default_message().to_owned(),
        }
    }

    fn details(&self) -> Value {
        match self {
            Self::Validation(fields) => json!({ "fields": fields }),
            Self::PayloadTooLarge { limit } => json!({ "limitBytes": limit }),
            Self::UnsupportedMediaType { expected } => json!({ "expected": expected }),
            Self::UnsupportedDocument(_) => json!({ "accepted": ACCEPTED_DOCUMENT_TYPES }),
            Self::ServiceUnavailable { details } => details.clone(),
            Self::PlanLimitExceeded { metric, limit, used } => {
                json!({ "metric": metric, "limit": limit, "used": used })
            }
            Self::ExternalService { service, .. } => json!({ "service": service }),
            Self::EmailExists => json!({ "field": "email" }),
            Self::Conflict { field, .. } => json!({ "field": field }),
            Self::RateLimited { retry_after_secs } => json!({ "retryAfterSeconds": retry_after_secs }),
            Self::InvalidJson(_)
            | Self::InvalidQuery(_)
            | Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::InvalidToken
            | Self::InvalidSignature
            | Self::Forbidden(_)
            | Self::NotFound
            | Self::DocumentNotFound
            | Self::Internal(_) => no_details(),
        }
    }
}

/// The document types the knowledge base accepts (`details.accepted` of a 415 on a document).
pub const ACCEPTED_DOCUMENT_TYPES: [&str; 6] = [
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/html",
    "text/markdown",
    "text/plain",
    "text/csv",
];

impl From<meta_chat_billing::Exceeded> for ApiError {
    /// 402 `PLAN_LIMIT_EXCEEDED` naming the metric, the limit and what is used.
    fn from(exceeded: meta_chat_billing::Exceeded) -> Self {
        Self::PlanLimitExceeded { metric: exceeded.metric.as_str(), limit: exceeded.limit, used: exceeded.used }
    }
}

impl From<garde::Report> for ApiError {
    /// `details.fields` names each invalid field by its JSON (camelCase) name: garde reports Rust field names.
    fn from(report: garde::Report) -> Self {
        Self::Validation(
            report
                .iter()
                .map(|(path, error)| FieldError::new(camel_case(&path.to_string()), error.message()))
                .collect(),
        )
    }
}

/// `company_name` → `companyName`, segment by segment (`items[0].unit_price` → `items[0].unitPrice`).
fn camel_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('_', Some(next)) if next.is_ascii_lowercase() && !out.is_empty() && !out.ends_with('.') => {
                out.push(next.to_ascii_uppercase());
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidQuery(_) | Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials | Self::InvalidToken | Self::InvalidSignature => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::EmailExists | Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound | Self::DocumentNotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } | Self::UnsupportedDocument(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::PlanLimitExceeded { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::ExternalService { .. } => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // the request span carries the request id, so these lines can be matched to the response
        if let Self::Internal(cause) = self {
            tracing::error!(error.code = %self.code(), error.cause = format!("{cause:#}"), "request failed");
        } else if status.is_server_error() {
            tracing::warn!(error.code = %self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(error.code = %self.code(), error = %self, "request rejected");
        }
        let request_id = request_id::current().unwrap_or_default();
        let mut builder = HttpResponse::build(status);
        match self {
            // RFC 6750: a bearer-protected resource names its scheme when it refuses a request
            Self::Unauthenticated => {
                builder.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::InvalidToken => {
                builder.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                ));
            }
            Self::RateLimited { retry_after_secs } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        envelope_response(builder, self.code(), self.public_message(), self.details(), &request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_paths_use_json_names() {
        assert_eq!(camel_case("company_name"), "companyName");
        assert_eq!(camel_case("email"), "email");
        assert_eq!(camel_case("items[0].unit_price"), "items[0].unitPrice");
        assert_eq!(camel_case("_private"), "_private");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("relation \"secrets\" does not exist"));
        assert_eq!(err.public_message(), "An internal error occurred.");
        assert_eq!(err.details(), json!({}));
    }
}
