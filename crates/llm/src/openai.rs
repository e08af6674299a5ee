//! The OpenAI-compatible provider (OpenAI, Ollama's `/v1`, vLLM, LM Studio, ...) through `async-openai`'s
//! chat completions, non-streamed and streamed (SSE deltas; tool-call argument fragments are assembled).

mod convert;
pub(crate) mod transport;

use futures_util::StreamExt as _;

use crate::assemble::{Accumulator, assemble};
use crate::cost::PriceTable;
use crate::prompt::Meta;
use crate::resilience::Guard;
use crate::{CompletionFuture, CompletionRequest, CompletionStream, Provider};

pub(crate) use transport::Endpoint;

/// A chat model behind an OpenAI-compatible API.
#[derive(Debug)]
pub struct OpenAiProvider {
    name: &'static str,
    model: String,
    endpoint: Endpoint,
    guard: Guard,
    prices: PriceTable,
    legacy_max_tokens: bool,
}

impl OpenAiProvider {
    /// `name` is `openai` or `openai_compatible` (the latter sends `max_tokens` rather than
    /// `max_completion_tokens`, which older compatible servers do not read).
    pub(crate) fn new(name: &'static str, model: &str, endpoint: Endpoint, guard: Guard, prices: PriceTable) -> Self {
        Self { name, model: model.to_owned(), endpoint, guard, prices, legacy_max_tokens: name != "openai" }
    }
}

impl Provider for OpenAiProvider {
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a> {
        Box::pin(async move {
            let meta = Meta::new(&self.model, request, &self.prices);
            let wire = convert::request(&self.model, request, false, self.legacy_max_tokens);
            let response = self
                .guard
                .run(|| async {
                    let (client, outcome) = self.endpoint.client();
                    client.chat().create(wire.clone()).await.map_err(|error| outcome.error(&error))
                })
                .await?;
            let completion = convert::completion(&meta, response)?;
            tracing::debug!(
                provider = self.name,
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
        let wire = convert::request(&self.model, request, true, self.legacy_max_tokens);
        let open = async move {
            self.guard
                .run(|| async {
                    let (client, outcome) = self.endpoint.client();
                    let chunks = client.chat().create_stream(wire.clone()).await.map_err(|e| outcome.error(&e))?;
                    Ok(chunks.map(move |chunk| chunk.map_err(|e| outcome.error(&e))))
                })
                .await
        };
        assemble(open, Accumulator::new(meta), convert::chunk)
    }

    fn name(&self) -> &str {
        self.name
    }

    fn model(&self) -> &str {
        &self.model
    }
}
