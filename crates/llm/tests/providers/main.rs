//! Black-box tests of the providers and embedders against local fake servers (wiremock): request shapes,
//! answers, streaming, tool calls, retries, the circuit breaker, and that errors never carry bodies.
#![expect(clippy::unwrap_used, reason = "tests")]

mod anthropic;
mod embeddings;
mod openai;
mod registry;
mod support;
