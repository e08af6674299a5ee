//! The HTTP transport under `async-openai`: our shared `reqwest` client plugged in as a tower service, so
//! the client's built-in retry middleware (`OpenAIRetryLayer`, up to 3 retries, which would multiply ours)
//! is not in the path. It also keeps `async-openai` from ever reading an error body: an unsuccessful status
//! is recorded (with its `Retry-After`) and the call fails before the body is read, so provider error
//! texts, which may echo the prompt, are neither logged nor carried in errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use crate::LlmError;
use crate::resilience::retry_after;

/// What went wrong at the HTTP level of one attempt.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome(Arc<Mutex<Option<LlmError>>>);

impl Outcome {
    fn set(&self, error: LlmError) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    fn take(&self) -> Option<LlmError> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// The [`LlmError`] for a failed `async-openai` call: the recorded HTTP failure if there was one.
    pub(crate) fn error(&self, error: &OpenAIError) -> LlmError {
        if let Some(recorded) = self.take() {
            return recorded;
        }
        match error {
            OpenAIError::Reqwest(error) => LlmError::from_reqwest(error),
            OpenAIError::JSONDeserialize(..) => LlmError::InvalidResponse("malformed JSON"),
            OpenAIError::StreamError(_) => LlmError::Unavailable { status: None },
            _ => LlmError::InvalidResponse("unexpected client error"),
        }
    }
}

/// Executes `async-openai`'s requests with our client, recording failures in an [`Outcome`].
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
    outcome: Outcome,
}

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        let outcome = self.outcome.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = http.execute(request).await.map_err(|error| {
                outcome.set(LlmError::from_reqwest(&error));
                OpenAIError::Reqwest(error)
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            outcome.set(LlmError::from_status(status.as_u16(), retry_after(response.headers())));
            // the body is dropped unread
            Err(OpenAIError::InvalidArgument(format!("HTTP {}", status.as_u16())))
        })
    }
}

/// Where and how to reach an OpenAI-compatible API.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub http: reqwest::Client,
    pub config: OpenAIConfig,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &async_openai::config::Config::api_base(&self.config))
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub(crate) fn new(http: reqwest::Client, base_url: &str, api_key: &str) -> Self {
        // set every field: `OpenAIConfig::default()` reads OPENAI_* environment variables
        let config = OpenAIConfig::default()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key)
            .with_org_id("")
            .with_project_id("");
        Self { http, config }
    }

    /// A client for one attempt, with the [`Outcome`] its failures are recorded in.
    pub(crate) fn client(&self) -> (Client<OpenAIConfig>, Outcome) {
        let outcome = Outcome::default();
        let transport = Transport { http: self.http.clone(), outcome: outcome.clone() };
        (Client::build(self.http.clone(), self.config.clone()).with_http_service(transport), outcome)
    }
}

/// The shared HTTP client: connect timeout, and a read timeout that bounds a stalled stream.
pub(crate) fn http_client(connect_timeout: Duration, read_timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .user_agent(concat!("meta-chat/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| LlmError::NotConfigured("the HTTP client could not be built"))
}
