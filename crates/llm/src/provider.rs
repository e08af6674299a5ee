//! The [`Provider`] and [`Embedder`] traits.

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt as _;
use futures_util::stream::{self, BoxStream};

use crate::{Completion, CompletionRequest, LlmError, StreamEvent};

/// The future [`Provider::complete`] returns.
pub type CompletionFuture<'a> = Pin<Box<dyn Future<Output = Result<Completion, LlmError>> + Send + 'a>>;

/// The stream [`Provider::stream`] returns: text deltas and tool calls as they arrive, then
/// [`StreamEvent::Done`]; or an error, after which nothing follows.
pub type CompletionStream<'a> = BoxStream<'a, Result<StreamEvent, LlmError>>;

/// The future [`Embedder::embed`] returns.
pub type EmbedFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Vec<f32>>, LlmError>> + Send + 'a>>;

/// A language model.
pub trait Provider: Send + Sync {
    /// Answers `request`.
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a>;

    /// Answers `request` as a stream. The default calls [`Provider::complete`] and sends its text as one delta,
    /// its tool calls, then `Done`.
    fn stream<'a>(&'a self, request: &'a CompletionRequest) -> CompletionStream<'a> {
        stream::once(self.complete(request))
            .flat_map(|result| {
                let events = match result {
                    Ok(completion) => {
                        let mut events = Vec::new();
                        if !completion.text.is_empty() {
                            events.push(Ok(StreamEvent::TextDelta(completion.text.clone())));
                        }
                        events
                            .extend(completion.tool_calls.iter().cloned().map(|call| Ok(StreamEvent::ToolCall(call))));
                        events.push(Ok(StreamEvent::Done(completion)));
                        events
                    }
                    Err(error) => vec![Err(error)],
                };
                stream::iter(events)
            })
            .boxed()
    }

    /// The provider's name for logs and metrics (`local`, `openai`, `anthropic`, `openai_compatible`).
    #[expect(clippy::unnecessary_literal_bound, reason = "implementations return their own fields")]
    fn name(&self) -> &str {
        "custom"
    }

    /// The model it asks.
    #[expect(clippy::unnecessary_literal_bound, reason = "implementations return their own fields")]
    fn model(&self) -> &str {
        "unknown"
    }
}

/// Turns texts into vectors for retrieval.
pub trait Embedder: Send + Sync {
    /// The model's name, as stored beside each vector.
    fn model(&self) -> &str;
    /// The length of every vector.
    fn dimensions(&self) -> usize;
    /// One vector per text, in order.
    fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a>;
}
