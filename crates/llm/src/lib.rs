//! LLM providers behind one trait: an OpenAI-compatible provider (OpenAI, Ollama, vLLM, ...) through
//! `async-openai`, Anthropic, and a built-in local provider; retries, circuit breaking, token and cost
//! accounting, streaming and tool calls.
//!
//! May depend on: `meta-chat-shared` only. The only crate allowed to name `async-openai`.
//!
//! Status: no code yet; built in the knowledge and AI issue.
