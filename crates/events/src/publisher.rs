//! Publishing with publisher confirms: a publish counts only once the broker has taken responsibility for
//! the message (persisted it in its quorum queues). One connection and one confirm channel per process,
//! shared by concurrent publishers; a failure drops them and the next publish reconnects.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::Mutex;

use crate::envelope::Envelope;
use crate::error::EventsError;
use crate::topology::Topology;

/// AMQP delivery mode 2: persistent.
const PERSISTENT: u8 = 2;

/// Header carrying the retry count of a delivery.
pub const ATTEMPT_HEADER: &str = "x-metachat-attempt";
/// Header carrying why a delivery was parked.
pub const PARK_REASON_HEADER: &str = "x-metachat-park-reason";

struct Link {
    connection: Connection,
    channel: Channel,
}

/// A publisher to the events exchange. Cheap to share (`Arc`); reconnects lazily.
pub struct Publisher {
    url: String,
    name: String,
    topology: Topology,
    timeout: Duration,
    link: Mutex<Option<Arc<Link>>>,
}

impl Publisher {
    /// A publisher to `url` (not connected until the first publish). `name` labels the connection in the
    /// broker's management UI; `timeout` bounds each publish including its confirm.
    #[must_use]
    pub fn new(url: &str, name: &str, topology: Topology, timeout: Duration) -> Self {
        Self { url: url.to_owned(), name: name.to_owned(), topology, timeout, link: Mutex::new(None) }
    }

    /// The topology this publisher declares and publishes to.
    #[must_use]
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Publishes `events` to the events exchange (routing key = event type) and waits for every confirm.
    ///
    /// # Errors
    /// The broker is unreachable, refused (nack) a message, or did not confirm within the timeout. Some of
    /// the events may have been published anyway: publishing is at-least-once and consumers deduplicate.
    pub async fn publish(&self, events: &[Envelope]) -> Result<(), EventsError> {
        if events.is_empty() {
            return Ok(());
        }
        let exchange = self.topology.exchange();
        self.bounded(async {
            let link = self.link().await?;
            let mut confirms = Vec::with_capacity(events.len());
            for event in events {
                let body = event.to_bytes().map_err(|err| EventsError::Encode(err.to_string()))?;
                let properties = BasicProperties::default()
                    .with_message_id(ShortString::from(event.id.to_string()))
                    .with_content_type("application/json".into())
                    .with_delivery_mode(PERSISTENT)
                    .with_type(ShortString::from(event.event_type.as_str()));
                let confirm = link
                    .channel
                    .basic_publish(
                        exchange.as_str().into(),
                        event.event_type.as_str().into(),
                        BasicPublishOptions::default(),
                        &body,
                        properties,
                    )
                    .await;
                confirms.push(self.checked(&link, confirm).await?);
            }
            for confirm in confirms {
                let confirmation = self.checked(&link, confirm.await).await?;
                if confirmation.is_nack() {
                    return Err(EventsError::Nacked);
                }
            }
            Ok(())
        })
        .await
    }

    /// Publishes one raw delivery to a queue through the default exchange (retries and parking), keeping its
    /// body and message id and setting `headers`, and waits for the confirm.
    ///
    /// # Errors
    /// As [`Publisher::publish`].
    pub async fn publish_to_queue(
        &self,
        queue: &str,
        body: &[u8],
        message_id: Option<ShortString>,
        headers: &[(&str, AMQPValue)],
    ) -> Result<(), EventsError> {
        self.bounded(async {
            let link = self.link().await?;
            let mut table = FieldTable::default();
            for (key, value) in headers {
                table.insert(ShortString::from(*key), value.clone());
            }
            let mut properties = BasicProperties::default()
                .with_content_type("application/json".into())
                .with_delivery_mode(PERSISTENT)
                .with_headers(table);
            if let Some(id) = message_id {
                properties = properties.with_message_id(id);
            }
            let confirm = link
                .channel
                .basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions { mandatory: false, immediate: false },
                    body,
                    properties,
                )
                .await;
            let confirm = self.checked(&link, confirm).await?;
            let confirmation = self.checked(&link, confirm.await).await?;
            if confirmation.is_nack() { Err(EventsError::Nacked) } else { Ok(()) }
        })
        .await
    }

    /// Runs `work` within the timeout; on timeout forgets the connection so the next call reconnects.
    async fn bounded<T>(&self, work: impl Future<Output = Result<T, EventsError>>) -> Result<T, EventsError> {
        if let Ok(result) = tokio::time::timeout(self.timeout, work).await {
            result
        } else {
            *self.link.lock().await = None;
            Err(EventsError::Timeout(self.timeout))
        }
    }

    /// Closes the connection, if open.
    pub async fn close(&self) {
        if let Some(link) = self.link.lock().await.take() {
            let _ = link.connection.close(200, "closing".into()).await;
        }
    }

    async fn link(&self) -> Result<Arc<Link>, EventsError> {
        let mut guard = self.link.lock().await;
        if let Some(link) = guard.as_ref()
            && link.connection.status().connected()
            && link.channel.status().connected()
        {
            return Ok(Arc::clone(link));
        }
        let properties = ConnectionProperties::default().with_connection_name(self.name.as_str().into());
        let connection = Connection::connect(&self.url, properties).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        self.topology.declare_all(&channel).await?;
        let link = Arc::new(Link { connection, channel });
        *guard = Some(Arc::clone(&link));
        Ok(link)
    }

    /// Passes `result` through; on error forgets `link` (if it is still the current one) so the next
    /// publish reconnects.
    async fn checked<T>(&self, link: &Arc<Link>, result: lapin::Result<T>) -> Result<T, EventsError> {
        match result {
            Ok(value) => Ok(value),
            Err(err) => {
                let mut guard = self.link.lock().await;
                if guard.as_ref().is_some_and(|current| Arc::ptr_eq(current, link)) {
                    *guard = None;
                }
                Err(err.into())
            }
        }
    }
}

/// The retry count a delivery carries (0 for a first delivery).
#[must_use]
pub fn attempt_of(properties: &BasicProperties) -> usize {
    let Some(headers) = properties.headers() else { return 0 };
    match headers.inner().get(&ShortString::from(ATTEMPT_HEADER)) {
        Some(AMQPValue::LongLongInt(n)) => usize::try_from(*n).unwrap_or(0),
        Some(AMQPValue::LongInt(n)) => usize::try_from(*n).unwrap_or(0),
        Some(AMQPValue::ShortShortUInt(n)) => usize::from(*n),
        _ => 0,
    }
}

/// A header value for a park reason (cut to 200 characters).
#[must_use]
pub fn reason_value(reason: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(reason.chars().take(200).collect::<String>()))
}
