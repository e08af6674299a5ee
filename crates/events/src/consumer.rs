//! Consuming events: a [`Handler`] gets each delivery of its queue as a parsed [`Envelope`]. A delivery is
//! acknowledged only after the handler returns, i.e. after its database transaction committed; handlers
//! must be idempotent because any delivery may come again (a crash before the ack, a sweeper republish).
//!
//! Failures never crash the consumer: a handler error asks for a retry after the next configured delay
//! (through the retry queues), and after the last retry, or for a delivery that cannot be parsed, the
//! delivery is moved to the parking queue. A panicking handler counts as a retryable failure. A lost
//! connection is re-established with exponential backoff.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use tokio::sync::watch;

use crate::envelope::Envelope;
use crate::error::EventsError;
use crate::publisher::{ATTEMPT_HEADER, PARK_REASON_HEADER, Publisher, attempt_of, reason_value};
use crate::topology::ConsumerSpec;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// First wait after a lost connection.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

/// Why a handler did not finish a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleError {
    /// A transient failure (database, provider, network): try again later.
    Retry(String),
    /// The delivery can never succeed (for instance it refers to data that does not exist): park it.
    Park(String),
}

/// Processes one event. Must be idempotent; returns only after its effects are committed.
pub trait Handler: Send + Sync + 'static {
    /// Handles `event`; `attempt` is 0 for the first delivery and counts retries.
    fn handle(&self, event: Envelope, attempt: usize) -> impl Future<Output = Result<(), HandleError>> + Send;
}

/// Runs one consumer of a queue until `shutdown` turns true.
pub struct Consumer<H> {
    url: String,
    spec: ConsumerSpec,
    prefetch: u16,
    handler: Arc<H>,
    publisher: Arc<Publisher>,
}

enum Outcome {
    Ack,
    Retry(usize, String),
    Park(String),
}

impl<H: Handler> Consumer<H> {
    /// A consumer of `spec`'s queue at `url` holding at most `prefetch` unacknowledged deliveries; retries
    /// and parking are published through `publisher` (whose topology names the queues).
    #[must_use]
    pub fn new(url: &str, spec: ConsumerSpec, prefetch: u16, handler: Arc<H>, publisher: Arc<Publisher>) -> Self {
        Self { url: url.to_owned(), spec, prefetch: prefetch.max(1), handler, publisher }
    }

    /// Consumes until `shutdown` becomes true, reconnecting with backoff whenever the connection drops.
    /// In-flight deliveries at shutdown are not acknowledged and come again to the next consumer.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        while !*shutdown.borrow() {
            let mut connected = false;
            let result = self.session(&mut shutdown, &mut connected).await;
            if *shutdown.borrow() {
                break;
            }
            if connected {
                backoff = MIN_BACKOFF;
            }
            match result {
                Ok(()) => tracing::warn!(consumer = %self.spec.name, "consumer: delivery stream ended; reconnecting"),
                Err(err) => {
                    tracing::warn!(consumer = %self.spec.name, error = %err, "consumer: broker unavailable; reconnecting");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        tracing::info!(consumer = %self.spec.name, "consumer stopped");
    }

    async fn session(&self, shutdown: &mut watch::Receiver<bool>, connected: &mut bool) -> Result<(), EventsError> {
        let name = format!("meta-chat-{}", self.spec.name);
        let properties = ConnectionProperties::default().with_connection_name(name.as_str().into());
        let connection = Connection::connect(&self.url, properties).await?;
        let channel = connection.create_channel().await?;
        let topology = self.publisher.topology();
        topology.declare_consumer(&channel, &self.spec).await?;
        channel.basic_qos(self.prefetch, BasicQosOptions::default()).await?;
        let tag = format!("{name}-{}", uuid::Uuid::now_v7());
        let deliveries = channel
            .basic_consume(
                topology.queue(&self.spec.name).as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        *connected = true;
        tracing::info!(consumer = %self.spec.name, "consumer: consuming");
        let work = deliveries.for_each_concurrent(usize::from(self.prefetch), |delivery| async move {
            match delivery {
                Ok(delivery) => self.process(delivery).await,
                Err(err) => tracing::warn!(consumer = %self.spec.name, error = %err, "consumer: delivery error"),
            }
        });
        tokio::select! {
            () = work => {}
            _ = shutdown.changed() => {}
        }
        let _ = connection.close(200, "consumer stopping".into()).await;
        Ok(())
    }

    async fn process(&self, delivery: Delivery) {
        let attempt = attempt_of(&delivery.properties);
        let outcome = match Envelope::from_bytes(&delivery.data) {
            Err(_) => Outcome::Park("the delivery is not a valid event envelope".into()),
            Ok(event) => {
                let event_type = event.event_type;
                let handled = AssertUnwindSafe(self.handler.handle(event, attempt)).catch_unwind().await;
                let result = handled.unwrap_or_else(|_| Err(HandleError::Retry("the handler panicked".into())));
                match result {
                    Ok(()) => Outcome::Ack,
                    Err(HandleError::Retry(reason)) if attempt < self.publisher.topology().max_retries() => {
                        tracing::warn!(consumer = %self.spec.name, %event_type, attempt, %reason, "consumer: will retry");
                        Outcome::Retry(attempt + 1, reason)
                    }
                    Err(HandleError::Retry(reason) | HandleError::Park(reason)) => Outcome::Park(reason),
                }
            }
        };
        let label = match &outcome {
            Outcome::Ack => "ack",
            Outcome::Retry(..) => "retry",
            Outcome::Park(_) => "park",
        };
        metrics::counter!("metachat_consumer_deliveries_total", "consumer" => self.spec.name.clone(), "outcome" => label)
            .increment(1);
        let forwarded = match outcome {
            Outcome::Ack => Ok(()),
            Outcome::Retry(next, reason) => {
                let queue = self.publisher.topology().retry_queue(&self.spec.name, next).unwrap_or_default();
                let headers = [
                    (ATTEMPT_HEADER, AMQPValue::LongLongInt(i64::try_from(next).unwrap_or(i64::MAX))),
                    (PARK_REASON_HEADER, reason_value(&reason)),
                ];
                self.publisher
                    .publish_to_queue(&queue, &delivery.data, delivery.properties.message_id().clone(), &headers)
                    .await
            }
            Outcome::Park(reason) => {
                tracing::error!(consumer = %self.spec.name, attempt, %reason, "consumer: delivery parked");
                let queue = self.publisher.topology().parking_queue(&self.spec.name);
                let headers = [
                    (ATTEMPT_HEADER, AMQPValue::LongLongInt(i64::try_from(attempt).unwrap_or(i64::MAX))),
                    (PARK_REASON_HEADER, reason_value(&reason)),
                ];
                self.publisher
                    .publish_to_queue(&queue, &delivery.data, delivery.properties.message_id().clone(), &headers)
                    .await
            }
        };
        let acked = match forwarded {
            Ok(()) => delivery.ack(BasicAckOptions::default()).await,
            Err(err) => {
                tracing::warn!(consumer = %self.spec.name, error = %err, "consumer: could not forward; requeueing");
                delivery.nack(BasicNackOptions { requeue: true, multiple: false }).await
            }
        };
        if let Err(err) = acked {
            tracing::warn!(consumer = %self.spec.name, error = %err, "consumer: acknowledgement failed; it will be redelivered");
        }
    }
}
