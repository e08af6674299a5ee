//! The Anthropic provider: `POST {base}/v1/messages` over `reqwest` with `x-api-key` and
//! `anthropic-version: 2023-06-01`; tools as `input_schema`, `tool_use` blocks as [`crate::ToolCall`]s;
//! streaming through the SSE events `message_start`, `content_block_start`, `content_block_delta`
//! (`text_delta`, `input_json_delta`), `message_delta` and `message_stop`.

mod wire;

use futures_util::StreamExt as _;

use crate::assemble::{Accumulator, assemble};
use crate::cost::PriceTable;
use crate::prompt::Meta;
use crate::resilience::{Guard, retry_after};
use crate::{CompletionFuture, CompletionRequest, CompletionStream, LlmError, Provider, sse};

/// The API version header value this provider speaks.
const API_VERSION: &str = "2023-06-01";

/// A Claude model.
pub struct AnthropicProvider {
    model: String,
    url: String,
    api_key: String,
    http: reqwest::Client,
    guard: Guard,
    prices: PriceTable,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider").field("model", &self.model).field("url", &self.url).finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    pub(crate) fn new(
        model: &str,
        base_url: &str,
        api_key: &str,
        http: reqwest::Client,
        guard: Guard,
        prices: PriceTable,
    ) -> Self {
        let url = format!("{}/v1/messages", base_url.trim_end_matches('/'));
        Self { model: model.to_owned(), url, api_key: api_key.to_owned(), http, guard, prices }
    }

    /// One attempt: the response when its status is a success, else the error it maps to (body unread).
    async fn send(&self, body: &wire::Request) -> Result<reqwest::Response, LlmError> {
        let response = self
            .http
            .post(&self.url)
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(body)
            .send()
            .await
            .map_err(|error| LlmError::from_reqwest(&error))?;
        let status = response.status();
        if status.is_success() {
            Ok(response)
        } else {
            Err(LlmError::from_status(status.as_u16(), retry_after(response.headers())))
        }
    }
}

impl Provider for AnthropicProvider {
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a> {
        Box::pin(async move {
            let meta = Meta::new(&self.model, request, &self.prices);
            let body = wire::request(&self.model, request, false);
            let response: wire::Response = self
                .guard
                .run(|| async {
                    let response = self.send(&body).await?;
                    let bytes = response.bytes().await.map_err(|error| LlmError::from_reqwest(&error))?;
                    serde_json::from_slice(&bytes).map_err(|_| LlmError::InvalidResponse("malformed JSON"))
                })
                .await?;
            let completion = wire::completion(&meta, response);
            tracing::debug!(
                provider = "anthropic",
                model = %completion.model,
                prompt_tokens = completion.usage.prompt_tokens,
                completion_tokens = completion.usage.completion_tokens,
                tool_calls = completion.tool_calls.len(),
                latency_ms = completion.latency_ms,
                "llm completion"
            );
            Ok(completion)
        })
    }

    fn stream<'a>(&'a self, request: &'a CompletionRequest) -> CompletionStream<'a> {
        let meta = Meta::new(&self.model, request, &self.prices);
        let body = wire::request(&self.model, request, true);
        let open = async move {
            let response = self.guard.run(|| self.send(&body)).await?;
            let events = sse::events(response.bytes_stream())
                .take_while(|event| std::future::ready(!matches!(event, Ok(e) if e.event == "message_stop")))
                .filter(|event| std::future::ready(!matches!(event, Ok(e) if e.event == "ping" || e.data.is_empty())))
                .map(|event| event.and_then(|e| wire::parse_event(&e.data)));
            Ok(events)
        };
        assemble(open, Accumulator::new(meta), wire::event)
    }

    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }
}
