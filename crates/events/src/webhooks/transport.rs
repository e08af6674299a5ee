//! One HTTP attempt of a webhook delivery, and the retry schedule.
//!
//! The client is built per attempt: it resolves the URL's host only to the addresses the SSRF guard
//! checked (`resolve_to_addrs`), ignores proxy environment variables (a proxy would resolve the name again),
//! follows no redirects (a 3xx is a failed attempt: a redirect could point anywhere), and gives the whole
//! exchange one timeout. At most [`MAX_RESPONSE_BYTES`] of the answer are read.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meta_chat_database::webhooks::AttemptOutcome;
use reqwest::redirect::Policy;
use url::{Host, Url};

use super::signing::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// The most of a receiver's answer that is read (and kept, cut further, as the attempt's error).
pub const MAX_RESPONSE_BYTES: usize = 4096;
/// Room for the status line in a stored error of at most 1000 characters.
const MAX_EXCERPT_CHARS: usize = 900;
/// The first retry waits about this long; each further one doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(10);
/// No wait between attempts is longer.
const MAX_RETRY: Duration = Duration::from_secs(3600);
/// `User-Agent` of deliveries.
const USER_AGENT: &str = concat!("MetaChat-Webhooks/", env!("CARGO_PKG_VERSION"));

/// A signed request, ready to send.
pub(crate) struct Signed<'a> {
    pub event_type: &'a str,
    pub delivery_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Vec<u8>,
}

/// What an attempt came to: delivered on 2xx, otherwise the status (if any) and what went wrong, in words
/// that are safe to show the tenant (never a secret, never the platform's internals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

impl Answer {
    pub fn failed(error: impl Into<String>) -> Self {
        Self { status_code: None, error: Some(error.into()) }
    }

    pub fn delivered(&self) -> bool {
        self.error.is_none() && self.status_code.is_some()
    }

    /// The attempt as the delivery log records it; a failure is retried at `retry_at` (`None`: given up).
    pub fn outcome(&self, retry_at: Option<DateTime<Utc>>) -> AttemptOutcome<'_> {
        match (&self.error, self.status_code) {
            (None, Some(status_code)) => AttemptOutcome::Delivered { status_code },
            (error, status_code) => {
                AttemptOutcome::Failed { status_code, error: error.as_deref().unwrap_or("no answer"), retry_at }
            }
        }
    }
}

/// POSTs `request` to `url`, connecting only to `addrs`.
pub(crate) async fn send(url: &Url, addrs: &[SocketAddr], timeout: Duration, request: Signed<'_>) -> Answer {
    let mut builder = reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(USER_AGENT);
    if let Some(Host::Domain(name)) = url.host() {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    let Ok(client) = builder.build() else {
        return Answer::failed("the HTTP client could not be set up");
    };
    let sent = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, request.event_type)
        .header(DELIVERY_HEADER, request.delivery_id)
        .header(TIMESTAMP_HEADER, request.timestamp.to_string())
        .header(SIGNATURE_HEADER, request.signature)
        .body(request.body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(err) if err.is_timeout() => {
            return Answer::failed(format!("no answer within {} ms", timeout.as_millis()));
        }
        Err(err) if err.is_connect() => return Answer::failed("could not connect to the receiver"),
        Err(_) => return Answer::failed("the request failed before an answer arrived"),
    };
    let code = response.status().as_u16();
    if response.status().is_success() {
        return Answer { status_code: Some(code), error: None };
    }
    let mut excerpt = Vec::new();
    while excerpt.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk[..chunk.len().min(MAX_RESPONSE_BYTES - excerpt.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    let mut error = format!("HTTP {code}");
    if response.status().is_redirection() {
        error.push_str(" (redirects are not followed)");
    }
    let excerpt = printable(&excerpt);
    if !excerpt.is_empty() {
        error.push_str(": ");
        error.push_str(&excerpt);
    }
    // the column CHECKs 100-599; anything else stays in the text only
    Answer { status_code: (100..=599).contains(&code).then_some(code), error: Some(error) }
}

/// The start of an answer as text: lossy UTF-8, control characters (PostgreSQL refuses NUL) as spaces,
/// whitespace collapsed, at most [`MAX_EXCERPT_CHARS`] characters.
fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_EXCERPT_CHARS).collect()
}

/// When to try a delivery created at `created_at` again after its `attempts`-th failed attempt at `now`:
/// about 10 s doubling per attempt, at most 1 h, minus up to a quarter (`jitter` in `[0, 1)`) so that
/// receivers coming back are not hit by every retry at once; never after `created_at + window`. `None`
/// once the window has passed: give up.
pub(crate) fn retry_at(
    created_at: DateTime<Utc>,
    attempts: i32,
    now: DateTime<Utc>,
    window: Duration,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    let deadline = created_at + chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    if now >= deadline {
        return None;
    }
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = FIRST_RETRY.saturating_mul(2_u32.saturating_pow(doublings)).min(MAX_RETRY);
    let delay = delay.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0));
    let next = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    Some(next.min(deadline))
}

/// A uniform value in `[0, 1)` from the system's random source (0.5 if it fails: jitter is not security).
pub(crate) fn jitter() -> f64 {
    let mut bytes = [0_u8; 2];
    match meta_chat_shared::random::fill(&mut bytes) {
        Ok(()) => f64::from(u16::from_le_bytes(bytes)) / 65_536.0,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_from_ten_seconds_up_to_an_hour() {
        let waits: Vec<i64> =
            (1..=12).map(|n| (retry_at(at(0), n, at(0), DAY, 0.0).unwrap() - at(0)).num_seconds()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]);
        assert_eq!((retry_at(at(0), 1_000, at(0), DAY, 0.0).unwrap() - at(0)).num_seconds(), 3600);
    }

    #[test]
    fn jitter_shortens_by_at_most_a_quarter() {
        for (j, expected) in [(0.0, 80.0), (0.5, 70.0), (0.999, 60.02)] {
            let wait = (retry_at(at(0), 4, at(0), DAY, j).unwrap() - at(0)).as_seconds_f64();
            assert!((wait - expected).abs() < 0.01, "jitter {j}: {wait}");
        }
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn gives_up_after_the_window_and_never_schedules_past_it() {
        assert_eq!(retry_at(at(0), 3, at(86_400), DAY, 0.0), None);
        assert_eq!(retry_at(at(0), 3, at(90_000), DAY, 0.0), None);
        // the last retry lands exactly on the deadline
        assert_eq!(retry_at(at(0), 30, at(86_000), DAY, 0.0), Some(at(86_400)));
    }

    #[test]
    fn answers_are_cut_and_made_printable() {
        assert_eq!(printable(b"  bad\0request\n\n here "), "bad request here");
        assert_eq!(printable(&[b'x'; 5000]).len(), MAX_EXCERPT_CHARS);
        assert_eq!(printable(&[0xff, b'a']), "\u{fffd}a");
    }
}
