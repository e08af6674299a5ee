//! The RabbitMQ topology, declared idempotently at start-up by every process that publishes or consumes:
//!
//! - `<prefix>.events`: topic exchange; routing key = event type (`message.received`, ...).
//! - per consumer `<prefix>.<name>`: durable quorum queue bound to the event types it handles, with a
//!   delivery limit (a message that keeps crashing its consumer is dead-lettered instead of looping) and
//!   `<prefix>.dead` as dead-letter exchange.
//! - `<prefix>.<name>.retry.<ms>ms`: one quorum queue per retry delay; messages wait there for their TTL and
//!   are dead-lettered back to the consumer's queue through the default exchange (so a retry never fans
//!   out to other consumers). Delays come from configuration, and the delay is in the name, so changing
//!   them declares new queues instead of clashing with the old arguments.
//! - `<prefix>.<name>.parking`: where deliveries go after the last retry, when they cannot be parsed, or
//!   when the broker dead-letters them; an operator inspects and replays them.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

use meta_chat_shared::config::QueueType;

use crate::error::EventsError;

/// How many times the broker redelivers a message whose consumer died before dead-lettering it.
const DELIVERY_LIMIT: i64 = 20;

/// A consumer's queue and the event types (routing keys, `*`/`#` wildcards allowed) it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Short name, e.g. `orchestrator`; the queue is `<prefix>.<name>`.
    pub name: String,
    /// Routing keys bound to the events exchange.
    pub bindings: Vec<String>,
}

impl ConsumerSpec {
    /// A consumer of `bindings`.
    #[must_use]
    pub fn new(name: &str, bindings: &[&str]) -> Self {
        Self { name: name.to_owned(), bindings: bindings.iter().map(|key| (*key).to_owned()).collect() }
    }
}

/// The orchestrator's decision consumer: `message.received`.
pub const ORCHESTRATOR: &str = "orchestrator";
/// The outbound send consumer: `message.queued`.
pub const OUTBOUND: &str = "outbound";
/// The inbound media consumer: `message.received`.
pub const MEDIA: &str = "media";
/// The tenant webhook fan-out consumer: every public event.
pub const WEBHOOKS: &str = "webhooks";
/// The document ingestion consumer: `document.uploaded`.
pub const INGESTION: &str = "ingestion";

/// The platform's consumers and what they bind. Every publisher declares their queues when it connects,
/// so an event published before a consumer ever ran (a fresh broker) waits in its queue instead of being
/// dropped by an exchange with nothing bound.
#[must_use]
pub fn platform_consumers() -> Vec<ConsumerSpec> {
    let public: Vec<&str> =
        crate::EventType::ALL.iter().filter(|event| event.is_public()).map(|event| event.as_str()).collect();
    vec![
        ConsumerSpec::new(ORCHESTRATOR, &["message.received"]),
        ConsumerSpec::new(OUTBOUND, &["message.queued"]),
        ConsumerSpec::new(MEDIA, &["message.received"]),
        ConsumerSpec::new(WEBHOOKS, &public),
        ConsumerSpec::new(INGESTION, &["document.uploaded"]),
    ]
}

/// Exchange and queue names derived from a prefix, the retry delays, and the consumers whose queues are
/// declared with the exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
    retry_delays: Vec<Duration>,
    consumers: Vec<ConsumerSpec>,
    expires: Option<Duration>,
    classic: bool,
}

impl Topology {
    /// Names under `prefix` (validated by the configuration), retrying after each of `retry_delays`.
    #[must_use]
    pub fn new(prefix: &str, retry_delays: Vec<Duration>) -> Self {
        Self { prefix: prefix.to_owned(), retry_delays, consumers: Vec::new(), expires: None, classic: false }
    }

    /// The platform's topology as `amqp.prefix` and `amqp.retry_delays_ms` describe it, with the
    /// [`platform_consumers`].
    #[must_use]
    pub fn from_config(config: &meta_chat_shared::config::AmqpConfig) -> Self {
        let delays = config.retry_delays_ms.iter().map(|ms| Duration::from_millis(*ms)).collect();
        let mut topology = Self::new(&config.prefix, delays).with_consumers(platform_consumers());
        topology.classic = config.queue_type == QueueType::Classic;
        match config.queue_expires_ms {
            0 => topology,
            ms => topology.expiring_after(Duration::from_millis(ms)),
        }
    }

    /// The same topology with queues the broker deletes after `idle` without use (throw-away prefixes).
    #[must_use]
    pub fn expiring_after(mut self, idle: Duration) -> Self {
        self.expires = Some(idle);
        self
    }

    /// The same names with `consumers` declared alongside the exchanges.
    #[must_use]
    pub fn with_consumers(mut self, consumers: Vec<ConsumerSpec>) -> Self {
        self.consumers = consumers;
        self
    }

    /// The consumers declared with the exchanges.
    #[must_use]
    pub fn consumers(&self) -> &[ConsumerSpec] {
        &self.consumers
    }

    /// The declared consumer named `name`.
    #[must_use]
    pub fn consumer(&self, name: &str) -> Option<&ConsumerSpec> {
        self.consumers.iter().find(|spec| spec.name == name)
    }

    /// Declares the exchanges and every consumer's queues (idempotent): what a publisher does on connect.
    ///
    /// # Errors
    /// The broker refused a declaration.
    pub async fn declare_all(&self, channel: &Channel) -> Result<(), EventsError> {
        self.declare_exchanges(channel).await?;
        for spec in &self.consumers {
            self.declare_consumer(channel, spec).await?;
        }
        Ok(())
    }

    /// The topic exchange events are published to.
    #[must_use]
    pub fn exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// The dead-letter exchange.
    #[must_use]
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// The consumer's work queue.
    #[must_use]
    pub fn queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}", self.prefix)
    }

    /// The consumer's parking queue.
    #[must_use]
    pub fn parking_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}.parking", self.prefix)
    }

    /// The queue a delivery waits in before its `attempt`-th retry (1-based); `None` after the last.
    #[must_use]
    pub fn retry_queue(&self, consumer: &str, attempt: usize) -> Option<String> {
        let delay = self.retry_delays.get(attempt.checked_sub(1)?)?;
        Some(format!("{}.{consumer}.retry.{}ms", self.prefix, delay.as_millis()))
    }

    /// How many retries a failing delivery gets before it is parked.
    #[must_use]
    pub fn max_retries(&self) -> usize {
        self.retry_delays.len()
    }

    /// Declares the exchanges (idempotent; safe to run from every process at start-up).
    ///
    /// # Errors
    /// The broker refused a declaration.
    pub async fn declare_exchanges(&self, channel: &Channel) -> Result<(), EventsError> {
        let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel.exchange_declare(self.exchange().into(), ExchangeKind::Topic, durable, FieldTable::default()).await?;
        channel
            .exchange_declare(self.dead_letter_exchange().into(), ExchangeKind::Direct, durable, FieldTable::default())
            .await?;
        Ok(())
    }

    /// Declares the exchanges and `spec`'s work, retry and parking queues with their bindings (idempotent).
    ///
    /// # Errors
    /// The broker refused a declaration (for instance a queue exists with other arguments).
    pub async fn declare_consumer(&self, channel: &Channel, spec: &ConsumerSpec) -> Result<(), EventsError> {
        self.declare_exchanges(channel).await?;
        let queue = self.queue(&spec.name);
        let mut args = self.quorum();
        args.insert("x-dead-letter-exchange".into(), long(&self.dead_letter_exchange()));
        args.insert("x-dead-letter-routing-key".into(), long(&queue));
        if !self.classic {
            args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(DELIVERY_LIMIT));
        }
        channel.queue_declare(queue.as_str().into(), durable_queue(), args).await?;
        for key in &spec.bindings {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    self.exchange().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let parking = self.parking_queue(&spec.name);
        channel.queue_declare(parking.as_str().into(), durable_queue(), self.quorum()).await?;
        channel
            .queue_bind(
                parking.as_str().into(),
                self.dead_letter_exchange().into(),
                queue.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        for (attempt, delay) in self.retry_delays.iter().enumerate() {
            let Some(name) = self.retry_queue(&spec.name, attempt + 1) else { continue };
            let mut args = self.quorum();
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            );
            args.insert("x-dead-letter-exchange".into(), long(""));
            args.insert("x-dead-letter-routing-key".into(), long(&queue));
            if !self.classic {
                args.insert("x-dead-letter-strategy".into(), long("at-least-once"));
                args.insert("x-overflow".into(), long("reject-publish"));
            }
            channel.queue_declare(name.as_str().into(), durable_queue(), args).await?;
        }
        Ok(())
    }

    fn quorum(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), long(if self.classic { "classic" } else { "quorum" }));
        if let Some(idle) = self.expires {
            args.insert("x-expires".into(), millis(idle));
        }
        args
    }

    /// Deletes `spec`'s queues (tests and decommissioning; never called by the platform itself).
    ///
    /// # Errors
    /// The broker refused a deletion.
    pub async fn delete_consumer(&self, channel: &Channel, spec: &ConsumerSpec) -> Result<(), EventsError> {
        let mut names = vec![self.queue(&spec.name), self.parking_queue(&spec.name)];
        names.extend((1..=self.max_retries()).filter_map(|attempt| self.retry_queue(&spec.name, attempt)));
        for name in names {
            channel.queue_delete(ShortString::from(name.as_str()), QueueDeleteOptions::default()).await?;
        }
        Ok(())
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() }
}

fn millis(duration: Duration) -> AMQPValue {
    AMQPValue::LongLongInt(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

fn long(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix_and_the_delays() {
        let topology = Topology::new("t1", vec![Duration::from_millis(100), Duration::from_secs(5)]);
        assert_eq!(topology.exchange(), "t1.events");
        assert_eq!(topology.queue("orchestrator"), "t1.orchestrator");
        assert_eq!(topology.parking_queue("orchestrator"), "t1.orchestrator.parking");
        assert_eq!(topology.retry_queue("orchestrator", 1).as_deref(), Some("t1.orchestrator.retry.100ms"));
        assert_eq!(topology.retry_queue("orchestrator", 2).as_deref(), Some("t1.orchestrator.retry.5000ms"));
        assert_eq!(topology.retry_queue("orchestrator", 3), None);
        assert_eq!(topology.retry_queue("orchestrator", 0), None);
        assert_eq!(topology.max_retries(), 2);
    }
}
