//! LLM providers behind one trait: an OpenAI-compatible provider (OpenAI, Ollama, vLLM, ...) through
//! `async-openai`, Anthropic, and a built-in local provider; retries, circuit breaking, token and cost
//! accounting, streaming and tool calls.
//!
//! May depend on: `meta-chat-shared` only. The only crate allowed to name `async-openai`.
//!
//! Status: the [`Provider`] trait and the built-in [`LocalProvider`] (offline, deterministic) that the message
//! pipeline uses until the knowledge and AI issue adds the remote providers, retrieval and tools.
//!
//! Entry points: [`Provider`], [`CompletionRequest`], [`Completion`], [`LocalProvider`].
#![warn(missing_docs)]

pub mod local;

use std::future::Future;
use std::pin::Pin;

pub use local::LocalProvider;

/// Who said a turn of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end user.
    User,
    /// The assistant (or a human agent, as seen by the model).
    Assistant,
}

/// One earlier turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

/// What the model is asked.
#[derive(Debug, Clone, Default)]
pub struct CompletionRequest {
    /// The tenant's system prompt.
    pub system: String,
    /// Earlier turns, oldest first.
    pub history: Vec<Turn>,
    /// The end user's message being answered.
    pub message: String,
    /// Retrieved passages the answer may use (empty until retrieval exists).
    pub context: Vec<String>,
    /// The end user's display name, if known (for a natural greeting).
    pub user_name: Option<String>,
}

/// Tokens used by one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The reply text.
    pub text: String,
    /// How sure the model is that the reply answers the message (0–1).
    pub confidence: f64,
    /// The model called the hand-off tool: the user should talk to a person.
    pub handoff_requested: bool,
    /// Tokens used.
    pub usage: Usage,
}

/// Why a completion failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The provider could not be reached or answered with a server error; worth retrying.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (bad key, bad model, content policy).
    #[error("provider refused the request: {0}")]
    Refused(String),
}

/// The future a [`Provider`] returns.
pub type CompletionFuture<'a> = Pin<Box<dyn Future<Output = Result<Completion, LlmError>> + Send + 'a>>;

/// A language model.
pub trait Provider: Send + Sync {
    /// Answers `request`.
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a>;
}

/// A rough token count (words and punctuation), for usage accounting where the provider reports none.
#[must_use]
pub fn estimate_tokens(text: &str) -> u32 {
    let words = text.split_whitespace().count();
    u32::try_from(words + words / 3).unwrap_or(u32::MAX)
}
