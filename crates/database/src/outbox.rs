//! The transactional outbox: events are inserted in the transaction of the change they describe, so the
//! change and its event commit together or not at all. The relay (crate `meta-chat-events`) publishes them
//! after commit and marks them published; the sweeper republishes anything left behind (a crash between
//! commit and publish, a broker outage).
//!
//! Reading across tenants ([`unpublished`]) needs a role that bypasses row-level security: the worker's
//! owner pool. Inserting and marking run in a tenant transaction like every other write.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

use crate::error::DbResult;
use crate::schema::outbox_events;

/// An event to record. `event_type` must be one of the platform's event names (a CHECK enforces it).
#[derive(Debug, Clone)]
pub struct NewOutboxEvent<'a> {
    /// The event's id: the AMQP message id and the tenant webhook delivery's event id.
    pub id: Uuid,
    /// Dotted event name, e.g. `message.received`.
    pub event_type: &'a str,
    /// Envelope schema version.
    pub schema_version: i16,
    /// The entity the event is about (message, conversation, document, ...).
    pub aggregate_id: Option<Uuid>,
    /// The event's data (a JSON object).
    pub payload: &'a serde_json::Value,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// An event as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxEvent {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Event id.
    pub id: Uuid,
    /// Dotted event name.
    pub event_type: String,
    /// Envelope schema version.
    pub schema_version: i16,
    /// The entity the event is about.
    pub aggregate_id: Option<Uuid>,
    /// The event's data.
    pub payload: serde_json::Value,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When the broker confirmed it; `None` while unpublished.
    pub published_at: Option<DateTime<Utc>>,
    /// How many publish attempts failed or were made by the sweeper.
    pub publish_attempts: i32,
}

/// Records `events` for `tenant` in the caller's (tenant) transaction.
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, events: &[NewOutboxEvent<'_>]) -> DbResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = events
        .iter()
        .map(|event| {
            (
                outbox_events::tenant_id.eq(tenant.as_uuid()),
                outbox_events::id.eq(event.id),
                outbox_events::event_type.eq(event.event_type),
                outbox_events::schema_version.eq(event.schema_version),
                outbox_events::aggregate_id.eq(event.aggregate_id),
                outbox_events::payload.eq(event.payload),
                outbox_events::occurred_at.eq(event.occurred_at),
            )
        })
        .collect();
    diesel::insert_into(outbox_events::table).values(rows).execute(conn).await?;
    Ok(())
}

/// Marks `ids` of `tenant` published (in the caller's tenant transaction). Already published rows keep
/// their first timestamp.
pub async fn mark_published(conn: &mut AsyncPgConnection, tenant: TenantId, ids: &[Uuid]) -> DbResult<usize> {
    let updated = diesel::update(outbox_events::table)
        .filter(outbox_events::tenant_id.eq(tenant.as_uuid()))
        .filter(outbox_events::id.eq_any(ids))
        .filter(outbox_events::published_at.is_null())
        .set(outbox_events::published_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(updated)
}

/// Records a failed publish attempt for `ids` of `tenant` (error text cut to 1000 characters).
pub async fn record_failure(conn: &mut AsyncPgConnection, tenant: TenantId, ids: &[Uuid], error: &str) -> DbResult<()> {
    let error: String = error.chars().take(1000).collect();
    diesel::update(outbox_events::table)
        .filter(outbox_events::tenant_id.eq(tenant.as_uuid()))
        .filter(outbox_events::id.eq_any(ids))
        .filter(outbox_events::published_at.is_null())
        .set((
            outbox_events::publish_attempts.eq(outbox_events::publish_attempts + 1),
            outbox_events::last_error.eq(error),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Unpublished events of every tenant that occurred before `older_than`, oldest first, at most `limit`.
/// Needs a role that bypasses row-level security (the owner pool); the runtime role sees nothing here.
pub async fn unpublished(
    conn: &mut AsyncPgConnection,
    older_than: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<OutboxEvent>> {
    let rows = outbox_events::table
        .filter(outbox_events::published_at.is_null())
        .filter(outbox_events::occurred_at.lt(older_than))
        .order(outbox_events::occurred_at.asc())
        .limit(limit)
        .select(OutboxEvent::as_select())
        .load(conn)
        .await?;
    Ok(rows)
}

/// One tenant's events of `event_type`, newest first, at most `limit` (tests and diagnostics).
pub async fn recent(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event_type: &str,
    limit: i64,
) -> DbResult<Vec<OutboxEvent>> {
    let rows = outbox_events::table
        .filter(outbox_events::tenant_id.eq(tenant.as_uuid()))
        .filter(outbox_events::event_type.eq(event_type))
        .order(outbox_events::occurred_at.desc())
        .limit(limit)
        .select(OutboxEvent::as_select())
        .load(conn)
        .await?;
    Ok(rows)
}
