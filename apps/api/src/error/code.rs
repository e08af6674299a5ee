//! [`ErrorCode`]: the stable codes of API.md's error table, plus `METHOD_NOT_ALLOWED` (API.md is silent on
//! 405). Clients switch on them: a code is never renamed or reused.

use std::fmt;

use actix_web::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// A stable, machine-readable error code. Clients switch on it, so a code is never renamed or reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 400: the request is well-formed but its content is not acceptable (`details.fields`).
    ValidationError,
    /// 400: the body is not syntactically valid JSON.
    InvalidJson,
    /// 400: the query string could not be read.
    InvalidQuery,
    /// 401: no credentials were sent.
    Unauthorized,
    /// 401: the token is malformed, expired or of the wrong kind.
    InvalidToken,
    /// 401: a webhook signature is missing or wrong.
    InvalidSignature,
    /// 402: the tenant's plan does not allow more of this.
    PlanLimitExceeded,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 404: nothing here (also: another tenant's id).
    NotFound,
    /// 404: the tenant does not exist.
    TenantNotFound,
    /// 404: the conversation does not exist.
    ConversationNotFound,
    /// 404: the document does not exist.
    DocumentNotFound,
    /// 404: the channel does not exist.
    ChannelNotFound,
    /// 405: the path exists but not with this method; the `Allow` header lists the methods it takes.
    MethodNotAllowed,
    /// 409: the request conflicts with existing state (`details` name the field).
    Conflict,
    /// 409: the email address is already registered.
    EmailExists,
    /// 413: the body is larger than allowed.
    PayloadTooLarge,
    /// 415: the body's content type is not accepted here.
    UnsupportedMediaType,
    /// 429: too many requests; `Retry-After` says when to come back.
    RateLimited,
    /// 500: something failed on our side.
    InternalError,
    /// 502: a service we depend on answered badly.
    ExternalServiceError,
    /// 503: a dependency is unavailable; retry later.
    ServiceUnavailable,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [Self; 22] = [
        Self::ValidationError,
        Self::InvalidJson,
        Self::InvalidQuery,
        Self::Unauthorized,
        Self::InvalidToken,
        Self::InvalidSignature,
        Self::PlanLimitExceeded,
        Self::Forbidden,
        Self::NotFound,
        Self::TenantNotFound,
        Self::ConversationNotFound,
        Self::DocumentNotFound,
        Self::ChannelNotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::EmailExists,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::InternalError,
        Self::ExternalServiceError,
        Self::ServiceUnavailable,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::InvalidJson => "INVALID_JSON",
            Self::InvalidQuery => "INVALID_QUERY",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::PlanLimitExceeded => "PLAN_LIMIT_EXCEEDED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::TenantNotFound => "TENANT_NOT_FOUND",
            Self::ConversationNotFound => "CONVERSATION_NOT_FOUND",
            Self::DocumentNotFound => "DOCUMENT_NOT_FOUND",
            Self::ChannelNotFound => "CHANNEL_NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::EmailExists => "EMAIL_EXISTS",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RateLimited => "RATE_LIMITED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::ExternalServiceError => "EXTERNAL_SERVICE_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }

    /// The code used when all that is known about an error is its status (responses produced by actix
    /// or by middleware rather than by [`super::ApiError`]).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::Unauthorized,
            402 => Self::PlanLimitExceeded,
            403 => Self::Forbidden,
            404 | 410 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            429 => Self::RateLimited,
            502 | 504 => Self::ExternalServiceError,
            503 => Self::ServiceUnavailable,
            500..=599 => Self::InternalError,
            _ => Self::ValidationError,
        }
    }

    /// A generic, safe message for this code.
    pub fn default_message(self) -> &'static str {
        match self {
            Self::ValidationError => "The request is not valid.",
            Self::InvalidJson => "The request body is not valid JSON.",
            Self::InvalidQuery => "The query string is not valid.",
            Self::Unauthorized => "Authentication is required.",
            Self::InvalidToken => "The credentials are not valid.",
            Self::InvalidSignature => "The signature is missing or not valid.",
            Self::PlanLimitExceeded => "The plan limit has been reached.",
            Self::Forbidden => "You are not allowed to do this.",
            Self::NotFound
            | Self::TenantNotFound
            | Self::ConversationNotFound
            | Self::DocumentNotFound
            | Self::ChannelNotFound => "The requested resource was not found.",
            Self::MethodNotAllowed => "This method is not allowed here; the Allow header lists the allowed ones.",
            Self::Conflict | Self::EmailExists => "The request conflicts with existing data.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::UnsupportedMediaType => "The request content type is not supported.",
            Self::RateLimited => "Too many requests; retry later.",
            Self::InternalError => "An internal error occurred.",
            Self::ExternalServiceError => "An upstream service failed.",
            Self::ServiceUnavailable => "The service is temporarily unavailable; retry later.",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    fn is_upper_snake(s: &str) -> bool {
        !s.is_empty()
            && !s.starts_with('_')
            && !s.ends_with('_')
            && !s.contains("__")
            && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    }

    #[test]
    fn codes_are_unique_upper_snake_and_serialize_as_documented() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(is_upper_snake(text), "{text} is not UPPER_SNAKE");
            assert!(seen.insert(text), "{text} is listed twice");
            assert_eq!(serde_json::to_value(code).unwrap(), json!(text));
        }
    }

    #[test]
    fn every_code_is_documented_in_docs_api_md() {
        let docs = include_str!("../../../../docs/api.md");
        for code in ErrorCode::ALL {
            assert!(docs.contains(&format!("| `{}` |", code.as_str())), "{code} has no row in docs/api.md");
        }
    }

    #[test]
    fn every_variant_is_listed_in_all() {
        // Exhaustive on purpose: a new variant fails to compile here until it is added to ALL.
        let position = |code: ErrorCode| match code {
            ErrorCode::ValidationError => 0,
            ErrorCode::InvalidJson => 1,
            ErrorCode::InvalidQuery => 2,
            ErrorCode::Unauthorized => 3,
            ErrorCode::InvalidToken => 4,
            ErrorCode::InvalidSignature => 5,
            ErrorCode::PlanLimitExceeded => 6,
            ErrorCode::Forbidden => 7,
            ErrorCode::NotFound => 8,
            ErrorCode::TenantNotFound => 9,
            ErrorCode::ConversationNotFound => 10,
            ErrorCode::DocumentNotFound => 11,
            ErrorCode::ChannelNotFound => 12,
            ErrorCode::MethodNotAllowed => 13,
            ErrorCode::Conflict => 14,
            ErrorCode::EmailExists => 15,
            ErrorCode::PayloadTooLarge => 16,
            ErrorCode::UnsupportedMediaType => 17,
            ErrorCode::RateLimited => 18,
            ErrorCode::InternalError => 19,
            ErrorCode::ExternalServiceError => 20,
            ErrorCode::ServiceUnavailable => 21,
        };
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(position(code), i, "{code} is out of place in ALL");
        }
    }

    #[test]
    fn status_fallbacks_keep_5xx_generic() {
        assert_eq!(ErrorCode::for_status(StatusCode::NOT_FOUND), ErrorCode::NotFound);
        assert_eq!(ErrorCode::for_status(StatusCode::METHOD_NOT_ALLOWED), ErrorCode::MethodNotAllowed);
        assert_eq!(ErrorCode::for_status(StatusCode::BAD_GATEWAY), ErrorCode::ExternalServiceError);
        assert_eq!(ErrorCode::for_status(StatusCode::INSUFFICIENT_STORAGE), ErrorCode::InternalError);
        assert_eq!(ErrorCode::for_status(StatusCode::BAD_REQUEST), ErrorCode::ValidationError);
    }
}
