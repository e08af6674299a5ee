//! Events: the event envelope and types, the transactional outbox relay, the RabbitMQ topology, publisher
//! and consumer, and signed tenant webhook delivery. Most of it arrives with the messaging issue; today the
//! crate offers the broker reachability check the API's readiness probe uses.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`. The only crate allowed to name `lapin`: every
//! other crate talks to RabbitMQ through the functions and types exported here.
//!
//! Entry points: [`broker::ping`], [`EventsError`].
#![warn(missing_docs)]

pub mod broker;
pub mod error;

pub use error::EventsError;
