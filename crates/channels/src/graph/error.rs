//! What Graph calls fail with: [`GraphError`] when building the client, [`SendError`] for every call, and the
//! classification of Graph's error envelope and HTTP status into a [`SendErrorKind`] the caller can act on.
//!
//! Sources for the codes: Meta's "Graph API error handling", WhatsApp Cloud API "Error codes" and Messenger
//! Send API "Error codes" pages. Codes not listed here fall back to the HTTP status.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

/// WhatsApp's "re-engagement message" error: the 24 hour customer service window is closed, so only an approved
/// template can be sent.
pub const WINDOW_CLOSED_CODE: i64 = 131_047;

/// Throttling: app (4), user (17), page (32), call-rate (613), Business Use Case (80007), WhatsApp pair and
/// throughput limits (130429, 131048, 131056).
const RATE_LIMIT_CODES: &[i64] = &[4, 17, 32, 613, 80_007, 130_429, 131_048, 131_056];
/// Unknown or temporary server-side failures, worth retrying.
const TRANSIENT_CODES: &[i64] = &[1, 2, 131_000, 131_016];
/// Invalid parameter, undeliverable, unsupported message type: retrying sends the same refusal.
const PERMANENT_CODES: &[i64] = &[100, 131_026, 131_051];
/// Messenger's generic permission code; with [`MESSENGER_WINDOW_SUBCODE`] it means "outside the window".
const MESSENGER_PERMISSION_CODE: i64 = 10;
/// Messenger: "This message is sent outside of allowed window".
const MESSENGER_WINDOW_SUBCODE: i64 = 2_018_278;
/// Messenger: the person cannot be messaged right now (outside the window or not reachable by the page).
const MESSENGER_UNAVAILABLE_CODE: i64 = 551;
/// Messenger: no matching user or conversation window for this message.
const MESSENGER_OUTSIDE_WINDOW_SUBCODE: i64 = 2_018_108;
/// Token and session errors: expired or invalid token (190), session key invalid (102).
const AUTH_CODES: &[i64] = &[102, 190];
/// Graph's permission error range.
const PERMISSION_CODES: std::ops::RangeInclusive<i64> = 200..=299;
/// Longest [`SendError::message`], in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// Building a [`GraphClient`](super::GraphClient) failed; a configuration problem found at startup.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The base URL is not an absolute `http(s)` URL without credentials, query or fragment.
    #[error("invalid Graph API base URL `{0}`")]
    InvalidBaseUrl(String),
    /// The API version is not of the form `v23.0`.
    #[error("invalid Graph API version `{0}`: expected the form v23.0")]
    InvalidApiVersion(String),
    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// A failed Graph call. `message` is Graph's own explanation (or this client's), at most 500 characters; it
/// never contains the access token or the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What the caller should do about it.
    pub kind: SendErrorKind,
    /// Graph's numeric error code, when Graph sent one.
    pub code: Option<i64>,
    /// Graph's message and details, or a description of the local or transport failure.
    pub message: String,
}

/// The caller-facing class of a [`SendError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendErrorKind {
    /// Throttled (HTTP 429 or a throttling code): retry after `retry_after` (from `Retry-After`) or a backoff.
    RateLimited {
        /// How long Graph asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// Outside the customer service window: WhatsApp needs a template, Messenger a message tag.
    WindowClosed,
    /// The token is invalid, expired or lacks a permission: flag the channel for its owner; retrying will not help.
    Auth,
    /// A server-side or network failure (5xx, timeout, connection error): retry with backoff.
    Transient,
    /// Anything else (invalid parameter, undeliverable, media too large, unsupported content): do not retry.
    Permanent,
}

impl SendErrorKind {
    /// A stable `snake_case` name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::WindowClosed => "window_closed",
            Self::Auth => "auth",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }
}

impl fmt::Display for SendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SendError {
    /// Whether sending again later can succeed: [`SendErrorKind::RateLimited`] and [`SendErrorKind::Transient`].
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, SendErrorKind::RateLimited { .. } | SendErrorKind::Transient)
    }

    /// A permanent failure found before or after talking to Graph.
    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        Self { kind: SendErrorKind::Permanent, code: None, message: truncate(message.into()) }
    }

    /// A transient failure found before or after talking to Graph.
    pub(crate) fn transient(message: impl Into<String>) -> Self {
        Self { kind: SendErrorKind::Transient, code: None, message: truncate(message.into()) }
    }

    /// Media larger than the caller's cap (declared or streamed): permanent.
    pub(crate) fn too_large(max_bytes: u64) -> Self {
        Self::permanent(format!("media is larger than the {max_bytes} byte limit"))
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "Graph API call failed ({}, code {code}): {}", self.kind, self.message),
            None => write!(f, "Graph API call failed ({}): {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for SendError {}

/// A classified failure plus the fields that are only logged.
#[derive(Debug)]
pub(super) struct Classified {
    pub(super) error: SendError,
    pub(super) subcode: Option<i64>,
    pub(super) fbtrace_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    error: GraphErrorBody,
}

#[derive(Debug, Deserialize)]
struct GraphErrorBody {
    message: Option<String>,
    code: Option<i64>,
    error_subcode: Option<i64>,
    fbtrace_id: Option<String>,
    /// An object `{details}` on WhatsApp; some older endpoints send a JSON string instead.
    error_data: Option<Value>,
}

/// Classifies a non-2xx answer. `secret` (the access token) is scrubbed from Graph's message in case it is echoed.
pub(super) fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8], secret: &str) -> Classified {
    let parsed = serde_json::from_slice::<Envelope>(body).ok().map(|envelope| envelope.error);
    let (code, subcode) = parsed.as_ref().map_or((None, None), |error| (error.code, error.error_subcode));
    let kind = kind_for(status, code, subcode, retry_after);
    let message =
        parsed.as_ref().and_then(describe).unwrap_or_else(|| format!("Graph API answered HTTP {}", status.as_u16()));
    let message = if secret.is_empty() { message } else { message.replace(secret, "[redacted]") };
    Classified {
        error: SendError { kind, code, message: truncate(message) },
        subcode,
        fbtrace_id: parsed.and_then(|error| error.fbtrace_id),
    }
}

fn kind_for(
    status: StatusCode,
    code: Option<i64>,
    subcode: Option<i64>,
    retry_after: Option<Duration>,
) -> SendErrorKind {
    if let Some(code) = code {
        if RATE_LIMIT_CODES.contains(&code) {
            return SendErrorKind::RateLimited { retry_after };
        }
        let window_closed = code == WINDOW_CLOSED_CODE
            || (code == MESSENGER_PERMISSION_CODE && subcode == Some(MESSENGER_WINDOW_SUBCODE))
            || code == MESSENGER_UNAVAILABLE_CODE
            || subcode == Some(MESSENGER_OUTSIDE_WINDOW_SUBCODE);
        if window_closed {
            return SendErrorKind::WindowClosed;
        }
        if code == MESSENGER_PERMISSION_CODE || AUTH_CODES.contains(&code) || PERMISSION_CODES.contains(&code) {
            return SendErrorKind::Auth;
        }
        if TRANSIENT_CODES.contains(&code) {
            return SendErrorKind::Transient;
        }
        if PERMANENT_CODES.contains(&code) {
            return SendErrorKind::Permanent;
        }
    }
    match status {
        StatusCode::TOO_MANY_REQUESTS => SendErrorKind::RateLimited { retry_after },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendErrorKind::Auth,
        status if status.is_server_error() => SendErrorKind::Transient,
        _ => SendErrorKind::Permanent,
    }
}

/// `message` and WhatsApp's `error_data.details`, whichever are present.
fn describe(error: &GraphErrorBody) -> Option<String> {
    let details = match &error.error_data {
        Some(Value::Object(data)) => data.get("details").and_then(Value::as_str),
        _ => None,
    };
    match (error.message.as_deref(), details) {
        (Some(message), Some(details)) if message != details => Some(format!("{message}: {details}")),
        (Some(message), _) => Some(message.to_owned()),
        (None, Some(details)) => Some(details.to_owned()),
        (None, None) => None,
    }
}

fn truncate(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => message[..cut].to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn graph(status: u16, error: &Value) -> SendError {
        let body = serde_json::to_vec(&json!({ "error": error })).unwrap();
        classify(StatusCode::from_u16(status).unwrap(), None, &body, "TOKEN123").error
    }

    fn kind(status: u16, code: i64, subcode: Option<i64>) -> SendErrorKind {
        graph(status, &json!({ "message": "m", "code": code, "error_subcode": subcode })).kind
    }

    #[test]
    fn codes_map_to_the_documented_kinds() {
        let limited = SendErrorKind::RateLimited { retry_after: None };
        for code in [4, 17, 32, 613, 80_007, 130_429, 131_048, 131_056] {
            assert_eq!(kind(400, code, None), limited, "code {code}");
        }
        assert_eq!(kind(400, 131_047, None), SendErrorKind::WindowClosed);
        assert_eq!(kind(400, 10, Some(2_018_278)), SendErrorKind::WindowClosed);
        assert_eq!(kind(400, 551, Some(1_545_041)), SendErrorKind::WindowClosed);
        assert_eq!(kind(400, 100, Some(2_018_108)), SendErrorKind::WindowClosed);
        for code in [190, 102, 10, 200, 230, 299] {
            assert_eq!(kind(400, code, None), SendErrorKind::Auth, "code {code}");
        }
        for code in [1, 2, 131_000, 131_016] {
            assert_eq!(kind(400, code, None), SendErrorKind::Transient, "code {code}");
        }
        for code in [100, 131_026, 131_051, 368] {
            assert_eq!(kind(400, code, None), SendErrorKind::Permanent, "code {code}");
        }
        // A known permanent code wins over a 5xx status; an unknown one falls back to the status.
        assert_eq!(kind(500, 100, None), SendErrorKind::Permanent);
        assert_eq!(kind(503, 999_999, None), SendErrorKind::Transient);
    }

    #[test]
    fn status_decides_when_the_body_is_not_a_graph_error() {
        let classify_status = |status: u16| classify(StatusCode::from_u16(status).unwrap(), None, b"<html>", "").error;
        assert_eq!(classify_status(429).kind, SendErrorKind::RateLimited { retry_after: None });
        assert_eq!(classify_status(401).kind, SendErrorKind::Auth);
        assert_eq!(classify_status(403).kind, SendErrorKind::Auth);
        assert_eq!(classify_status(502).kind, SendErrorKind::Transient);
        assert_eq!(classify_status(404).kind, SendErrorKind::Permanent);
        let error = classify_status(502);
        assert_eq!((error.code, error.message.as_str()), (None, "Graph API answered HTTP 502"));
    }

    #[test]
    fn message_joins_details_scrubs_the_token_and_is_truncated() {
        let error = graph(
            400,
            &json!({ "message": "Bad token TOKEN123", "code": 190,
            "error_data": { "details": "details here" } }),
        );
        assert_eq!(error.message, "Bad token [redacted]: details here");
        assert_eq!(error.code, Some(190));
        let long = "é".repeat(800);
        let error = graph(400, &json!({ "message": long, "code": 100 }));
        assert_eq!(error.message.chars().count(), 500);
        let error = graph(400, &json!({ "message": "m", "code": 100, "error_data": "{\"legacy\":true}" }));
        assert_eq!(error.message, "m");
    }

    #[test]
    fn only_rate_limits_and_transient_failures_are_retryable() {
        let error = |kind| SendError { kind, code: None, message: String::new() };
        assert!(error(SendErrorKind::RateLimited { retry_after: Some(Duration::from_secs(1)) }).is_retryable());
        assert!(error(SendErrorKind::Transient).is_retryable());
        assert!(!error(SendErrorKind::WindowClosed).is_retryable());
        assert!(!error(SendErrorKind::Auth).is_retryable());
        assert!(!error(SendErrorKind::Permanent).is_retryable());
    }
}
