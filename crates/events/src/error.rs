//! [`EventsError`]: what talking to the broker can fail with.

use std::time::Duration;

/// A broker or event-delivery failure. Messages never include credentials from the broker URL.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The broker refused or dropped the connection, or spoke the protocol wrongly.
    #[error("broker connection failed: {0}")]
    Broker(#[from] lapin::Error),
    /// The broker did not complete the operation within the allowed time.
    #[error("broker did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The broker refused responsibility for a published message.
    #[error("broker refused a published message")]
    Nacked,
    /// An event could not be encoded.
    #[error("event could not be encoded: {0}")]
    Encode(String),
    /// Reading or writing the outbox failed.
    #[error("outbox: {0}")]
    Database(#[from] meta_chat_database::DbError),
}
