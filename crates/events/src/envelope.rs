//! The event envelope every domain event travels in — on RabbitMQ, in the outbox and (as the body of a
//! tenant webhook delivery) to tenants' URLs: `{id, type, tenantId, occurredAt, version, data}`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use meta_chat_shared::ids::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the envelope layout written today.
pub const ENVELOPE_VERSION: i16 = 1;

macro_rules! event_types {
    ($($variant:ident => $name:literal: $doc:literal,)+) => {
        /// The platform's event names (API.md "Events"); also the RabbitMQ routing keys.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $(#[doc = $doc] $variant,)+
        }

        impl EventType {
            /// Every event type.
            pub const ALL: &'static [EventType] = &[$(Self::$variant,)+];

            /// The dotted name, e.g. `message.received`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)+ }
            }
        }

        impl FromStr for EventType {
            type Err = UnknownEventType;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text { $($name => Ok(Self::$variant),)+ _ => Err(UnknownEventType(text.chars().take(64).collect())) }
            }
        }
    };
}

event_types! {
    MessageReceived => "message.received": "A contact's message was stored.",
    MessageQueued => "message.queued": "Internal: an outbound message waits to be sent (never sent to tenants).",
    MessageSent => "message.sent": "The provider accepted an outbound message.",
    MessageDelivered => "message.delivered": "An outbound message reached the contact's device.",
    MessageRead => "message.read": "The contact read an outbound message.",
    MessageFailed => "message.failed": "An outbound message failed for good (reason in the data).",
    ConversationCreated => "conversation.created": "A new conversation started.",
    ConversationUpdated => "conversation.updated": "Status or assignee changed.",
    ConversationHandoffRequested => "conversation.handoff_requested": "The conversation needs a human agent.",
    ConversationClosed => "conversation.closed": "The conversation was closed.",
    DocumentUploaded => "document.uploaded": "A document was stored and waits for ingestion.",
    DocumentReady => "document.ready": "A document is searchable.",
    DocumentFailed => "document.failed": "Ingestion failed.",
    SubscriptionUpdated => "subscription.updated": "The tenant's plan or subscription state changed.",
    UsageLimitReached => "usage.limit_reached": "A metered quota is used up.",
}

impl EventType {
    /// Whether tenants may subscribe to it (API.md "Events"); internal events only drive the pipeline.
    #[must_use]
    pub const fn is_public(self) -> bool {
        !matches!(self, Self::MessageQueued)
    }
}

/// A name that is not one of the platform's event types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}`")]
pub struct UnknownEventType(pub String);

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One event. `data` is a JSON object; it never carries secrets. Events are immutable once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// Unique id (UUIDv7): the AMQP message id and the idempotency key of every consumer.
    pub id: Uuid,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The tenant it happened in.
    pub tenant_id: TenantId,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Envelope layout version.
    pub version: i16,
    /// The entity it is about (message, conversation, document), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_id: Option<Uuid>,
    /// Event-specific data.
    pub data: serde_json::Value,
}

impl Envelope {
    /// A new event happening now. A `data` that is not a JSON object is wrapped as `{"value": data}`.
    #[must_use]
    pub fn new(
        event_type: EventType,
        tenant_id: TenantId,
        aggregate_id: Option<Uuid>,
        data: serde_json::Value,
    ) -> Self {
        let data = if data.is_object() { data } else { serde_json::json!({ "value": data }) };
        Self {
            id: Uuid::now_v7(),
            event_type,
            tenant_id,
            occurred_at: Utc::now(),
            version: ENVELOPE_VERSION,
            aggregate_id,
            data,
        }
    }

    /// The JSON bytes published to the broker.
    ///
    /// # Errors
    /// Never in practice (the envelope is plain data); serde's error otherwise.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Parses a published envelope.
    ///
    /// # Errors
    /// Malformed JSON, unknown fields or event type.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_round_trips_through_its_name() {
        for event_type in EventType::ALL {
            assert_eq!(event_type.as_str().parse::<EventType>(), Ok(*event_type));
        }
        assert_eq!(EventType::ALL.len(), 15);
        assert_eq!(EventType::ALL.iter().filter(|t| t.is_public()).count(), 14);
        assert!("message.unknown".parse::<EventType>().is_err());
    }

    #[test]
    fn envelope_round_trips_and_rejects_unknown_fields() {
        let event = Envelope::new(EventType::MessageReceived, TenantId::new(), None, serde_json::json!({"a": 1}));
        let bytes = event.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""type":"message.received""#), "{text}");
        assert!(text.contains(r#""tenantId""#), "{text}");
        assert_eq!(Envelope::from_bytes(&bytes).unwrap(), event);
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        value["extra"] = serde_json::json!(1);
        assert!(Envelope::from_bytes(&serde_json::to_vec(&value).unwrap()).is_err());
    }

    #[test]
    fn non_object_data_is_wrapped() {
        let event = Envelope::new(EventType::DocumentReady, TenantId::new(), None, serde_json::json!(3));
        assert_eq!(event.data, serde_json::json!({"value": 3}));
    }
}
