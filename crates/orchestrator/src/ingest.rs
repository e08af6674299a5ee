//! Accepting a channel webhook delivery: everything the API does before answering `200`, in the one tenant
//! transaction the caller opens — receipts (deduplication), contacts, conversations, messages, delivery
//! statuses and their outbox events. No provider calls and no LLM here: that is the worker's part, so the
//! answer goes back in milliseconds and a crash after commit loses nothing (the events are in the outbox).

use meta_chat_channels::{DeliveryReceipt, InboundBatch, InboundMessage, ReceiptTarget};
use meta_chat_database::delivery::{self, Applied, StatusReport};
use meta_chat_database::inbound::{self, ContactIdentity, NewInbound, Opened};
use meta_chat_database::{AsyncPgConnection, DbError};
use meta_chat_events::{Envelope, EventType};
use meta_chat_shared::ids::{ChannelId, TenantId};
use meta_chat_shared::{ChannelType, DeliveryStatus};
use serde_json::{Value, json};

/// The channel a delivery was routed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelRoute {
    /// The channel's tenant.
    pub tenant: TenantId,
    /// The channel.
    pub channel: ChannelId,
    /// Its type.
    pub channel_type: ChannelType,
}

/// What a delivery changed.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    /// New messages stored.
    pub stored: usize,
    /// Messages the provider had delivered before (ignored).
    pub duplicates: usize,
    /// Status changes applied to outbound messages.
    pub statuses: usize,
    /// The events recorded in the outbox, to publish after commit.
    pub events: Vec<Envelope>,
}

/// Stores `batch` for `route` and records the events, in the caller's tenant transaction. Idempotent: a
/// redelivered message is recognised by its receipt, a repeated status changes nothing.
///
/// # Errors
/// A database failure; the caller's transaction rolls back and the provider retries later.
pub async fn ingest(
    conn: &mut AsyncPgConnection,
    route: ChannelRoute,
    batch: &InboundBatch,
) -> Result<Ingested, DbError> {
    let mut out = Ingested::default();
    for message in &batch.messages {
        store_message(conn, route, message, &mut out).await?;
    }
    for receipt in &batch.receipts {
        apply_receipt(conn, route, receipt, &mut out).await?;
    }
    // counted with their receipts: a redelivery stores nothing and counts nothing
    let stored = i64::try_from(out.stored).unwrap_or(i64::MAX);
    meta_chat_database::usage::increment(
        conn,
        route.tenant,
        meta_chat_database::usage::Metric::InboundMessages,
        stored,
    )
    .await?;
    meta_chat_events::record(conn, route.tenant, &out.events).await?;
    Ok(out)
}

async fn store_message(
    conn: &mut AsyncPgConnection,
    route: ChannelRoute,
    message: &InboundMessage,
    out: &mut Ingested,
) -> Result<(), DbError> {
    let Some((id, created_at)) =
        inbound::claim_receipt(conn, route.tenant, route.channel, &message.external_id).await?
    else {
        out.duplicates += 1;
        return Ok(());
    };
    let who = ContactIdentity {
        external_id: &message.contact.external_id,
        phone: message.contact.phone.as_deref(),
        display_name: message.contact.display_name.as_deref(),
    };
    let contact = inbound::upsert_contact(conn, route.tenant, route.channel, &who).await?;
    let (conversation, opened) = inbound::open_conversation(conn, route.tenant, route.channel, contact).await?;
    let conversation_data = json!({
        "conversationId": conversation.id,
        "channelId": route.channel,
        "contactId": contact,
        "status": conversation.status,
    });
    match opened {
        Opened::Existing => {}
        Opened::Created => out.events.push(Envelope::new(
            EventType::ConversationCreated,
            route.tenant,
            Some(conversation.id),
            conversation_data,
        )),
        Opened::Reopened => {
            let mut data = conversation_data;
            data["change"] = json!("reopened");
            out.events.push(Envelope::new(EventType::ConversationUpdated, route.tenant, Some(conversation.id), data));
        }
    }
    let mut payload = match &message.payload {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    if let Some(action) = &message.action {
        payload["action"] = json!(action);
    }
    payload["providerTimestamp"] = json!(message.sent_at);
    let kind = message.message_type.as_str();
    inbound::insert_message(
        conn,
        route.tenant,
        &NewInbound {
            id,
            created_at,
            conversation: &conversation,
            kind,
            text: message.text.as_deref(),
            payload: &payload,
            external_id: &message.external_id,
            reply_to: message.reply_to.as_deref(),
        },
    )
    .await?;
    out.stored += 1;
    out.events.push(Envelope::new(
        EventType::MessageReceived,
        route.tenant,
        Some(id),
        json!({
            "messageId": id,
            "conversationId": conversation.id,
            "contactId": contact,
            "channelId": route.channel,
            "channelType": route.channel_type,
            "type": kind,
            "createdAt": created_at,
        }),
    ));
    Ok(())
}

async fn apply_receipt(
    conn: &mut AsyncPgConnection,
    route: ChannelRoute,
    receipt: &DeliveryReceipt,
    out: &mut Ingested,
) -> Result<(), DbError> {
    let code = receipt.error.as_ref().map(|error| error.code.to_string());
    let reason = receipt.error.as_ref().map(|error| match &error.detail {
        Some(detail) => format!("{}: {detail}", error.title),
        None => error.title.clone(),
    });
    let report = StatusReport {
        status: receipt.status,
        at: receipt.at,
        error_code: code.as_deref(),
        error_message: reason.as_deref(),
    };
    let applied = match &receipt.target {
        ReceiptTarget::Message { external_id } => {
            delivery::apply_to_message(conn, route.tenant, external_id, &report).await?
        }
        ReceiptTarget::UpTo { contact_external_id, watermark } => {
            delivery::apply_up_to(conn, route.tenant, route.channel, contact_external_id, *watermark, &report).await?
        }
    };
    for change in applied {
        if let Some(event) = status_event(route.tenant, &change) {
            out.statuses += 1;
            out.events.push(event);
        }
    }
    Ok(())
}

/// The event announcing an applied status change.
#[must_use]
pub fn status_event(tenant: TenantId, change: &Applied) -> Option<Envelope> {
    let status: DeliveryStatus = change.status.parse().ok()?;
    let event_type = match status {
        DeliveryStatus::Sent => EventType::MessageSent,
        DeliveryStatus::Delivered => EventType::MessageDelivered,
        DeliveryStatus::Read => EventType::MessageRead,
        DeliveryStatus::Failed => EventType::MessageFailed,
        DeliveryStatus::Received | DeliveryStatus::Queued => return None,
    };
    let mut data = json!({
        "messageId": change.message_id,
        "conversationId": change.conversation_id,
        "status": status,
    });
    if status == DeliveryStatus::Failed {
        data["error"] = json!({ "code": change.error_code, "message": change.error_message });
    }
    Some(Envelope::new(event_type, tenant, Some(change.message_id), data))
}
