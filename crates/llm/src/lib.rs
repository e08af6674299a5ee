//! LLM providers behind one trait: an OpenAI-compatible provider (OpenAI, Ollama, vLLM, ...) through
//! `async-openai`, Anthropic's Messages API, and a built-in offline [`LocalProvider`]; embedders (the built-in
//! `local-hash-384` and OpenAI-compatible); and what every remote call shares: connect and request
//! timeouts, retries with jittered backoff that honour `Retry-After`, a circuit breaker per (provider,
//! tenant), token usage and cost from the configured price table, streaming and tool calls.
//!
//! May depend on: `meta-chat-shared` only. The only crate allowed to name `async-openai`. Logs never hold
//! prompts, message text, provider answers or keys.
//!
//! Entry points: [`Providers`] (a tenant's [`Provider`] and the [`Embedder`]), [`CompletionRequest`],
//! [`Completion`], [`StreamEvent`], [`LlmError`]. See `docs/llm.md`.
#![warn(missing_docs)]

mod anthropic;
mod assemble;
mod cost;
mod embed;
mod error;
mod local;
mod openai;
mod prompt;
mod provider;
mod registry;
mod resilience;
mod sse;
mod text;
mod types;

pub use anthropic::AnthropicProvider;
pub use cost::PriceTable;
pub use embed::{LOCAL_EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL, LocalEmbedder, OpenAiEmbedder};
pub use error::LlmError;
pub use local::LocalProvider;
pub use openai::OpenAiProvider;
pub use provider::{CompletionFuture, CompletionStream, EmbedFuture, Embedder, Provider};
pub use registry::{ANTHROPIC_BASE_URL, OPENAI_BASE_URL, Providers};
pub use resilience::{RetryHook, RetryNotice};
pub use types::{
    Completion, CompletionRequest, FinishReason, HANDOFF_TOOL, Passage, Role, SEARCH_TOOL, StreamEvent, ToolCall,
    ToolExchange, ToolSpec, Turn, Usage,
};

/// A rough token count (words and punctuation), for usage accounting where the provider reports none.
#[must_use]
pub fn estimate_tokens(text: &str) -> u32 {
    let words = text.split_whitespace().count();
    u32::try_from(words + words / 3).unwrap_or(u32::MAX)
}
