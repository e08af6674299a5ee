//! Request and response bodies of the webhook routes. Requests have no `Debug`: a URL may carry a token in
//! its query string. Responses never carry the signing secret, except [`CreatedWebhookResponse`].

use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::webhooks::{Webhook, WebhookDelivery};
use meta_chat_events::webhooks::TestDelivery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An event type tenants can subscribe to (the public `meta_chat_events::EventType`s).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum EventTypeDto {
    /// A contact's message was stored.
    #[serde(rename = "message.received")]
    MessageReceived,
    /// The provider accepted an outbound message.
    #[serde(rename = "message.sent")]
    MessageSent,
    /// An outbound message reached the contact's device.
    #[serde(rename = "message.delivered")]
    MessageDelivered,
    /// The contact read an outbound message.
    #[serde(rename = "message.read")]
    MessageRead,
    /// An outbound message failed for good.
    #[serde(rename = "message.failed")]
    MessageFailed,
    /// A new conversation started.
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// Status or assignee changed.
    #[serde(rename = "conversation.updated")]
    ConversationUpdated,
    /// The conversation needs a human agent.
    #[serde(rename = "conversation.handoff_requested")]
    ConversationHandoffRequested,
    /// The conversation was closed.
    #[serde(rename = "conversation.closed")]
    ConversationClosed,
    /// A document was stored and waits for ingestion.
    #[serde(rename = "document.uploaded")]
    DocumentUploaded,
    /// A document is searchable.
    #[serde(rename = "document.ready")]
    DocumentReady,
    /// Ingestion failed.
    #[serde(rename = "document.failed")]
    DocumentFailed,
    /// The plan or subscription state changed.
    #[serde(rename = "subscription.updated")]
    SubscriptionUpdated,
    /// A metered quota is used up.
    #[serde(rename = "usage.limit_reached")]
    UsageLimitReached,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// `POST /webhooks`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateWebhookRequest {
    /// Where to send events: `https://` (or `http://`), at most 2048 characters, no credentials, and not
    /// resolving to a private, loopback or link-local address.
    #[garde(custom(not_blank), length(max = 2048))]
    #[schema(max_length = 2048, example = "https://hooks.example.com/metachat")]
    pub url: String,
    /// The events to receive: at least one; duplicates are ignored.
    #[garde(length(min = 1, max = 50), inner(length(max = 64)))]
    #[schema(value_type = Vec<EventTypeDto>, min_items = 1)]
    pub events: Vec<String>,
    /// A note, at most 500 characters.
    #[garde(inner(length(chars, max = 500)))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Whether deliveries start at once; default `true`.
    #[garde(skip)]
    pub enabled: Option<bool>,
}

/// `PATCH /webhooks/{id}`: every member optional; `description: null` removes the note. Enabling a webhook
/// the platform disabled clears its failure count and `disabledReason`.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateWebhookRequest {
    /// New destination (checked like at creation).
    #[garde(inner(custom(not_blank), length(max = 2048)))]
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// New event list (at least one).
    #[garde(inner(length(min = 1, max = 50), inner(length(max = 64))))]
    #[schema(value_type = Option<Vec<EventTypeDto>>)]
    pub events: Option<Vec<String>>,
    /// New note (at most 500 characters), or `null` to remove it.
    #[garde(inner(inner(length(chars, max = 500))))]
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    /// Enable or disable.
    #[garde(skip)]
    pub enabled: Option<bool>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    #[expect(clippy::option_option, reason = "absent, null and a value are three different requests")]
    pub(super) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// A webhook. The signing secret is never part of it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    /// Id.
    pub id: Uuid,
    /// Destination.
    pub url: String,
    /// Subscribed events.
    #[schema(value_type = Vec<EventTypeDto>)]
    pub events: Vec<String>,
    /// The tenant's note.
    pub description: Option<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Failed attempts since the last delivered one; at `webhooks.disable_after_failures` the platform
    /// disables the webhook.
    pub consecutive_failures: i32,
    /// Why the platform disabled it; `null` otherwise.
    pub disabled_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookResponse {
    fn from(hook: Webhook) -> Self {
        Self {
            id: hook.id.as_uuid(),
            url: hook.url,
            events: hook.events,
            description: hook.description,
            enabled: hook.enabled,
            consecutive_failures: hook.consecutive_failures,
            disabled_reason: hook.disabled_reason,
            created_at: hook.created_at,
            updated_at: hook.updated_at,
        }
    }
}

/// A webhook just created, with its signing secret: shown this once, store it now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookResponse {
    /// Id.
    pub id: Uuid,
    /// Destination.
    pub url: String,
    /// Subscribed events.
    #[schema(value_type = Vec<EventTypeDto>)]
    pub events: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// The tenant's note.
    pub description: Option<String>,
    /// The signing secret (`whsec_…`): the HMAC-SHA256 key of `X-MetaChat-Signature`. Never shown again.
    #[schema(example = "whsec_…")]
    pub secret: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A page of webhooks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookList {
    /// The webhooks, newest first.
    pub data: Vec<WebhookResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A delivery status on the wire.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatusDto {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up.
    Failed,
}

/// One delivery of an event to a webhook.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    /// Id: the `X-MetaChat-Delivery` header, the same on every retry.
    pub id: Uuid,
    /// The event's id (the body's `id`).
    pub event_id: Uuid,
    /// The event type.
    #[schema(value_type = EventTypeDto)]
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = DeliveryStatusDto)]
    pub status: &'static str,
    /// Attempts made.
    pub attempts: i32,
    /// HTTP status of the last attempt, if the receiver answered.
    pub last_status_code: Option<i32>,
    /// What went wrong on the last attempt (up to 1000 characters, including the start of the answer).
    pub last_error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<WebhookDelivery> for DeliveryResponse {
    fn from(delivery: WebhookDelivery) -> Self {
        Self {
            id: delivery.id,
            event_id: delivery.event_id,
            event: delivery.event_type,
            status: delivery.status.as_str(),
            attempts: delivery.attempts,
            last_status_code: delivery.last_status_code,
            last_error: delivery.last_error,
            next_attempt_at: delivery.next_attempt_at,
            delivered_at: delivery.delivered_at,
            created_at: delivery.created_at,
        }
    }
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryList {
    /// The deliveries, newest first.
    pub data: Vec<DeliveryResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The outcome of `POST /webhooks/{id}/test`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDeliveryResponse {
    /// The delivery recorded for it.
    pub delivery_id: Uuid,
    /// The synthetic event's id.
    pub event_id: Uuid,
    /// The event type sent (the webhook's first), with `data: {"test": true}`.
    #[schema(value_type = EventTypeDto)]
    pub event: String,
    /// Whether the receiver answered 2xx.
    pub delivered: bool,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

impl From<TestDelivery> for TestDeliveryResponse {
    fn from(test: TestDelivery) -> Self {
        Self {
            delivery_id: test.delivery_id,
            event_id: test.event_id,
            event: test.event_type.as_str().to_owned(),
            delivered: test.delivered,
            status_code: test.status_code,
            error: test.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use meta_chat_events::EventType;

    use super::*;

    #[test]
    fn the_documented_event_types_are_exactly_the_real_ones() {
        let documented = [
            EventTypeDto::MessageReceived,
            EventTypeDto::MessageSent,
            EventTypeDto::MessageDelivered,
            EventTypeDto::MessageRead,
            EventTypeDto::MessageFailed,
            EventTypeDto::ConversationCreated,
            EventTypeDto::ConversationUpdated,
            EventTypeDto::ConversationHandoffRequested,
            EventTypeDto::ConversationClosed,
            EventTypeDto::DocumentUploaded,
            EventTypeDto::DocumentReady,
            EventTypeDto::DocumentFailed,
            EventTypeDto::SubscriptionUpdated,
            EventTypeDto::UsageLimitReached,
        ];
        let documented: Vec<_> = documented.iter().map(|d| serde_json::to_value(d).unwrap()).collect();
        let real: Vec<_> =
            EventType::ALL.iter().filter(|e| e.is_public()).map(|e| serde_json::Value::from(e.as_str())).collect();
        assert_eq!(documented, real);
    }
}
