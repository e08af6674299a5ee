//! The Graph API client: sends outbound WhatsApp Cloud API and Messenger messages, marks messages read, shows
//! typing, downloads inbound WhatsApp media, and turns Graph failures into a [`SendError`] whose
//! [`SendErrorKind`] tells the caller what to do (wait, retry, flag the channel, give up).
//!
//! Why one client: both products share the Graph host, versioning and error envelope, so the classification and
//! the transport rules live once. Access tokens are passed per call (each channel has its own, sealed in its
//! record) and are never stored here. Secrets and personal data stay out of logs: WhatsApp tokens travel in the
//! `Authorization` header; Messenger's Send API takes the token in the query string as Meta documents, so request
//! URLs are never logged and transport errors are reduced to their category. [`SendRateLimiter`] paces sends
//! per phone number id or page id, below Meta's per-number throughput limits.

mod content;
mod error;
mod media;
mod messenger;
mod rate_limit;
mod whatsapp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, Response};
use serde_json::Value;
use url::Url;

pub use content::{
    DownloadedMedia, MESSENGER_MAX_QUICK_REPLIES, MediaKind, MessageTag, OutboundContent, QUICK_REPLY_TITLE_MAX_CHARS,
    QuickReply, SenderAction, SentMessage, WHATSAPP_MAX_BUTTONS,
};
pub use error::{GraphError, SendError, SendErrorKind, WINDOW_CLOSED_CODE};
pub use rate_limit::SendRateLimiter;

/// Where the Graph API lives unless configuration points elsewhere (tests point it at a mock server).
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version used unless configuration says otherwise.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// Whole-request timeout, connect included: a send stuck longer than this is retried later instead.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Graph's JSON answers are a few hundred bytes; anything near this is not a Graph answer.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Error bodies past this are classified by HTTP status alone.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
/// Upper bound for pre-allocating a body buffer from a declared length, whatever the sender claims.
const MAX_PREALLOCATION: u64 = 8 * 1024 * 1024;

/// A Graph API client for one base URL and API version. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    /// `{base_url}/{api_version}`, without a trailing slash.
    root: Arc<str>,
}

impl GraphClient {
    /// Builds a client for `base_url` (for example [`DEFAULT_BASE_URL`]) and `api_version` (for example
    /// [`DEFAULT_API_VERSION`]), with a 15 s request timeout.
    pub fn new(base_url: &str, api_version: &str) -> Result<Self, GraphError> {
        let parsed = Url::parse(base_url).map_err(|_| GraphError::InvalidBaseUrl(base_url.to_owned()))?;
        let plain = matches!(parsed.scheme(), "http" | "https")
            && !parsed.cannot_be_a_base()
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.query().is_none()
            && parsed.fragment().is_none();
        if !plain {
            return Err(GraphError::InvalidBaseUrl(base_url.to_owned()));
        }
        let version_ok = api_version.strip_prefix('v').is_some_and(|rest| {
            rest.starts_with(|c: char| c.is_ascii_digit()) && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
        });
        if !version_ok {
            return Err(GraphError::InvalidApiVersion(api_version.to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("meta-chat-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(GraphError::Client)?;
        let root = format!("{}/{api_version}", parsed.as_str().trim_end_matches('/'));
        Ok(Self { http, root: root.into() })
    }

    /// `{root}/{segments joined by /}`; every caller-supplied segment has passed [`check_id`].
    fn endpoint(&self, segments: &[&str]) -> String {
        let mut url = self.root.to_string();
        for segment in segments {
            url.push('/');
            url.push_str(segment);
        }
        url
    }

    /// Sends `request`; a non-2xx answer becomes a classified [`SendError`] (logged here, once).
    async fn send(
        &self,
        operation: &'static str,
        request: RequestBuilder,
        secret: &str,
    ) -> Result<Response, SendError> {
        let started = Instant::now();
        let mut response = request.send().await.map_err(|err| transport_error(operation, &err))?;
        let status = response.status();
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if status.is_success() {
            tracing::debug!(
                graph.operation = operation,
                http.status = status.as_u16(),
                graph.latency_ms = latency_ms,
                "Graph API request succeeded"
            );
            return Ok(response);
        }
        let retry_after = retry_after(response.headers());
        // An unreadable or oversized error body still has a status to classify by.
        let body = read_capped(&mut response, MAX_ERROR_BODY_BYTES).await.unwrap_or_default();
        let failure = error::classify(status, retry_after, &body, secret);
        let kind = failure.error.kind.as_str();
        if matches!(failure.error.kind, SendErrorKind::WindowClosed) {
            tracing::info!(
                graph.operation = operation,
                http.status = status.as_u16(),
                graph.latency_ms = latency_ms,
                graph.error_code = failure.error.code,
                graph.error_subcode = failure.subcode,
                graph.fbtrace_id = failure.fbtrace_id.as_deref(),
                error.kind = kind,
                "Graph API refused: window closed"
            );
        } else {
            tracing::warn!(
                graph.operation = operation,
                http.status = status.as_u16(),
                graph.latency_ms = latency_ms,
                graph.error_code = failure.error.code,
                graph.error_subcode = failure.subcode,
                graph.fbtrace_id = failure.fbtrace_id.as_deref(),
                error.kind = kind,
                "Graph API request failed"
            );
        }
        Err(failure.error)
    }

    /// [`Self::send`], then the answer's JSON.
    async fn execute(
        &self,
        operation: &'static str,
        request: RequestBuilder,
        secret: &str,
    ) -> Result<Value, SendError> {
        let mut response = self.send(operation, request, secret).await?;
        let body = read_capped(&mut response, MAX_RESPONSE_BYTES).await.map_err(|err| match err {
            ReadError::TooLarge => unexpected_response(operation),
            ReadError::Transport(err) => transport_error(operation, &err),
        })?;
        serde_json::from_slice(&body).map_err(|_| unexpected_response(operation))
    }
}

/// Refuses ids that are not plain Graph ids before they become URL path segments or recipients.
fn check_id(what: &'static str, id: &str) -> Result<(), SendError> {
    let ok =
        !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(SendError::permanent(format!("{what} is not a valid Graph id"))) }
}

/// A 2xx answer this client cannot read. Permanent on purpose: the message may have gone out, and a retry
/// could deliver it twice.
fn unexpected_response(operation: &'static str) -> SendError {
    tracing::warn!(graph.operation = operation, "Graph API answered 2xx with an unreadable body");
    SendError::permanent("Graph API returned an unexpected response")
}

/// The category of a transport failure; never the error's own text, which can contain the URL and its token.
fn transport_error(operation: &'static str, err: &reqwest::Error) -> SendError {
    let error = if err.is_builder() {
        SendError::permanent("request could not be built (malformed token or URL)")
    } else if err.is_timeout() {
        SendError::transient("request to Graph API timed out")
    } else if err.is_connect() {
        SendError::transient("could not connect to Graph API")
    } else {
        SendError::transient("request to Graph API failed")
    };
    tracing::warn!(graph.operation = operation, error.kind = error.kind.as_str(), error.message = %error.message,
        "Graph API request did not complete");
    error
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
}

/// Why [`read_capped`] stopped.
#[derive(Debug)]
enum ReadError {
    /// More than the cap was announced or arrived.
    TooLarge,
    /// The connection failed mid-body.
    Transport(reqwest::Error),
}

/// Reads the body chunk by chunk, refusing it as soon as it is announced or grows past `max` bytes, so a lying
/// or endless sender costs at most `max` bytes of memory.
async fn read_capped(response: &mut Response, max: u64) -> Result<Vec<u8>, ReadError> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > max) {
        return Err(ReadError::TooLarge);
    }
    let hint = usize::try_from(declared.unwrap_or(0).min(max).min(MAX_PREALLOCATION)).unwrap_or(0);
    let mut body = Vec::with_capacity(hint);
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        let total = u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX);
        if total > max {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_media;
#[cfg(test)]
mod tests_messenger;
#[cfg(test)]
mod tests_whatsapp;
