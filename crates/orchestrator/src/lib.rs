//! The one message pipeline every channel and the chat API use: conversation state machine, history,
//! retrieval, LLM call, tools, confidence and human handoff, and outbound dispatch.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-events`, `meta-chat-channels`,
//! `meta-chat-llm`, `meta-chat-rag`, `meta-chat-billing`.
//!
//! Status: [`ingest`] stores webhook deliveries (the API's part of the pipeline); [`ReplyHandler`] decides
//! once per inbound message (reply, hand-off or silence); [`OutboundHandler`] sends queued messages; [`MediaHandler`] keeps inbound media. History
//! and the local provider answer today; retrieval and remote LLMs arrive with the knowledge issue.
//!
//! Entry points: [`ingest::ingest`], [`ReplyHandler`], [`OutboundHandler`], [`MediaHandler`].
#![warn(missing_docs)]

pub mod assistant;
pub mod chat;
pub mod documents;
pub mod ingest;
pub mod media;
pub mod outbound;
pub mod reply;

pub use assistant::Assistant;
pub use chat::ChatService;
pub use documents::IngestHandler;
pub use ingest::{ChannelRoute, Ingested, ingest};
pub use media::MediaHandler;
pub use outbound::OutboundHandler;
pub use reply::ReplyHandler;
