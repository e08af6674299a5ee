//! The one message pipeline every channel and the chat API use: conversation state machine, history,
//! retrieval, LLM call, tools, confidence and human handoff, and outbound dispatch.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-events`, `meta-chat-channels`,
//! `meta-chat-llm`, `meta-chat-rag`, `meta-chat-billing`.
//!
//! Status: no code yet; built in the message pipeline issue.
