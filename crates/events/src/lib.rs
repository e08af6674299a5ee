//! Events: the event envelope and types, the transactional outbox and its relay, the RabbitMQ topology,
//! publisher (with confirms) and consumer (retries, parking, reconnects), and tenant outbound webhooks (signed,
//! retried, SSRF-guarded).
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`. The only crate allowed to name `lapin`: every
//! other crate talks to RabbitMQ through the functions and types exported here.
//!
//! Entry points: [`Envelope`], [`outbox::record`], [`outbox::Relay`], [`Publisher`], [`Consumer`],
//! [`Topology`], [`broker::ping`], [`webhooks::fan_out`], [`webhooks::deliver_due`].
#![warn(missing_docs)]

pub mod broker;
pub mod consumer;
pub mod envelope;
pub mod error;
pub mod outbox;
pub mod publisher;
pub mod topology;
pub mod webhooks;

pub use consumer::{Consumer, HandleError, Handler};
pub use envelope::{ENVELOPE_VERSION, Envelope, EventType, UnknownEventType};
pub use error::EventsError;
pub use outbox::{Relay, record};
pub use publisher::Publisher;
pub use topology::{ConsumerSpec, Topology};
