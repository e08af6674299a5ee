//! The transactional outbox, from the publishing side: [`record`] writes events in the caller's tenant
//! transaction; after commit, [`Relay::publish_committed`] publishes them with confirms and marks them
//! published; [`Relay::sweep`] (run periodically by the worker) republishes whatever the relay left
//! behind — a crash between commit and publish, or a broker outage. Nothing committed is ever lost; a
//! crash after publishing but before marking publishes twice, which consumers tolerate (they deduplicate
//! on the event id).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use meta_chat_database::outbox::{self, NewOutboxEvent, OutboxEvent};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{AsyncPgConnection, DbError, DbPool};
use meta_chat_shared::ids::TenantId;

use crate::envelope::{Envelope, EventType};
use crate::error::EventsError;
use crate::publisher::Publisher;

/// Writes `events` to the outbox in the caller's transaction for `tenant` (every event must belong to it).
///
/// # Errors
/// The insert failed, or an event names another tenant ([`DbError::InvalidInput`]).
pub async fn record(conn: &mut AsyncPgConnection, tenant: TenantId, events: &[Envelope]) -> Result<(), DbError> {
    if events.iter().any(|event| event.tenant_id != tenant) {
        return Err(DbError::InvalidInput("event of another tenant".into()));
    }
    let rows: Vec<NewOutboxEvent<'_>> = events
        .iter()
        .map(|event| NewOutboxEvent {
            id: event.id,
            event_type: event.event_type.as_str(),
            schema_version: event.version,
            aggregate_id: event.aggregate_id,
            payload: &event.data,
            occurred_at: event.occurred_at,
        })
        .collect();
    outbox::insert(conn, tenant, &rows).await
}

/// Publishes outbox events and marks them published.
#[derive(Clone)]
pub struct Relay {
    publisher: Arc<Publisher>,
    pool: DbPool,
}

impl Relay {
    /// A relay publishing through `publisher` and marking rows through `pool` (runtime or owner role).
    #[must_use]
    pub fn new(publisher: Arc<Publisher>, pool: DbPool) -> Self {
        Self { publisher, pool }
    }

    /// The publisher, for consumers that republish (retries, parking).
    #[must_use]
    pub fn publisher(&self) -> &Arc<Publisher> {
        &self.publisher
    }

    /// Publishes `events` of `tenant`, just committed, and marks them published. Failures are logged and
    /// left to the sweeper; this never fails the caller, whose change is already committed.
    pub async fn publish_committed(&self, tenant: TenantId, events: Vec<Envelope>) {
        if events.is_empty() {
            return;
        }
        let ids: Vec<_> = events.iter().map(|event| event.id).collect();
        let outcome = self.publisher.publish(&events).await;
        if let Err(err) = self.mark(tenant, &ids, outcome.as_ref().err()).await {
            tracing::warn!(error = %err, events = ids.len(), "outbox: could not record the publish outcome");
        }
        match outcome {
            Ok(()) => {
                metrics::counter!("metachat_outbox_published_total", "path" => "relay").increment(ids.len() as u64);
            }
            Err(err) => tracing::warn!(error = %err, events = ids.len(), "outbox: publish failed; the sweeper retries"),
        }
    }

    /// Publishes up to `limit` events of any tenant that are unpublished and older than `after`, through
    /// `owner` (a pool whose role bypasses row-level security). Returns how many were published.
    ///
    /// # Errors
    /// Reading the outbox failed, or the broker refused; the events stay unpublished for the next sweep.
    pub async fn sweep(&self, owner: &DbPool, after: Duration, limit: i64) -> Result<usize, EventsError> {
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(after).unwrap_or(chrono::Duration::zero());
        let rows = {
            let mut conn = owner.get().await.map_err(DbError::from)?;
            outbox::unpublished(&mut conn, cutoff, limit).await?
        };
        let mut by_tenant: BTreeMap<TenantId, Vec<Envelope>> = BTreeMap::new();
        for row in rows {
            match envelope_of(row) {
                Ok(event) => by_tenant.entry(event.tenant_id).or_default().push(event),
                Err(id) => tracing::error!(event_id = %id, "outbox: stored event cannot be read; left unpublished"),
            }
        }
        let mut published = 0;
        for (tenant, events) in by_tenant {
            let ids: Vec<_> = events.iter().map(|event| event.id).collect();
            let outcome = self.publisher.publish(&events).await;
            self.mark(tenant, &ids, outcome.as_ref().err()).await?;
            outcome?;
            published += ids.len();
        }
        if published > 0 {
            tracing::info!(events = published, "outbox: sweeper published events the relay had left");
            metrics::counter!("metachat_outbox_published_total", "path" => "sweeper").increment(published as u64);
        }
        Ok(published)
    }

    async fn mark(&self, tenant: TenantId, ids: &[uuid::Uuid], error: Option<&EventsError>) -> Result<(), DbError> {
        let mut conn = self.pool.get().await?;
        let error = error.map(ToString::to_string);
        let ids = ids.to_vec();
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                match error {
                    None => outbox::mark_published(conn, tenant, &ids).await.map(drop),
                    Some(error) => outbox::record_failure(conn, tenant, &ids, &error).await,
                }
            })
        })
        .await
    }
}

/// The envelope of a stored event; the event id when the stored type is not a known one.
fn envelope_of(row: OutboxEvent) -> Result<Envelope, uuid::Uuid> {
    let event_type: EventType = row.event_type.parse().map_err(|_| row.id)?;
    Ok(Envelope {
        id: row.id,
        event_type,
        tenant_id: TenantId::from_uuid(row.tenant_id),
        occurred_at: row.occurred_at,
        version: row.schema_version,
        aggregate_id: row.aggregate_id,
        data: row.payload,
    })
}
