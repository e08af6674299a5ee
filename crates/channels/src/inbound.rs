//! The channel-neutral shape of an inbound webhook delivery: the messages contacts sent and the delivery
//! receipts for messages the platform sent, as [`crate::parse_whatsapp`] and [`crate::parse_messenger`]
//! produce them. The types serialise as camelCase JSON so they can travel inside events unchanged.
//!
//! Everything here already fits the database: ids, names and text are bounded as the `contacts` and
//! `messages` CHECK constraints require and cleared of NUL characters (which PostgreSQL text and jsonb
//! refuse), so a persisted batch cannot fail on a hostile or malformed field.

use chrono::{DateTime, Utc};
use meta_chat_shared::domain::{DeliveryStatus, MessageType};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) mod limits;

/// Everything one webhook delivery carried, in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundBatch {
    /// Messages sent by contacts.
    pub messages: Vec<InboundMessage>,
    /// Status updates for messages the platform sent.
    pub receipts: Vec<DeliveryReceipt>,
    /// Items that were dropped: structurally broken, or of a kind this crate does not handle. Worth a metric;
    /// never a reason to reject the delivery (Meta would retry it forever).
    pub skipped: usize,
}

impl InboundBatch {
    /// Counts one dropped item. `reason` is a fixed description, never content from the payload.
    pub(crate) fn skip(&mut self, reason: &'static str) {
        self.skipped += 1;
        tracing::debug!(reason, "skipped an item of an inbound webhook delivery");
    }
}

/// One message a contact sent, normalised across channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundMessage {
    /// The business account it was sent to: the WhatsApp `phone_number_id` or the Messenger page id (matches
    /// `channels.external_id`, 1–64 characters).
    pub account_id: String,
    /// The provider's message id (wamid, Messenger mid), 1–256 characters; a Messenger postback without a
    /// mid gets the deterministic `postback:<sender>:<timestamp_ms>`, so a retried delivery deduplicates.
    pub external_id: String,
    /// Who sent it.
    pub contact: InboundContact,
    /// When the provider says it was sent.
    pub sent_at: DateTime<Utc>,
    /// The content type.
    pub message_type: MessageType,
    /// Human-readable text: the body, a media caption, the title of the tapped button or list row, a
    /// postback title, a reaction emoji or a location name. At most 65 536 characters.
    pub text: Option<String>,
    /// The machine-readable choice, for routing: the id of an interactive reply, a button or quick-reply
    /// payload, or a postback payload (for example `talk_to_agent`).
    pub action: Option<String>,
    /// The provider id of the message this one replies to (WhatsApp `context.id`, Messenger `reply_to.mid`).
    pub reply_to: Option<String>,
    /// A JSON object with the normalised type-specific content (`media`, `location`, `contacts`, `reaction`,
    /// `interactive`, `attachments` or `unsupported`); `{}` when there is none.
    pub payload: Value,
}

/// The sender of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundContact {
    /// The stable id on the channel: WhatsApp `wa_id` (or the business-scoped user id when no phone number is
    /// shared), Messenger PSID. 1–128 characters.
    pub external_id: String,
    /// `+` and 5–20 digits, when the channel reveals a phone number.
    pub phone: Option<String>,
    /// The profile name, at most 200 characters.
    pub display_name: Option<String>,
}

/// A status update for a message the platform sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReceipt {
    /// The business account (phone number id or page id) that sent the message.
    pub account_id: String,
    /// Which message or messages the update is about.
    pub target: ReceiptTarget,
    /// The new state: only `Sent`, `Delivered`, `Read` or `Failed` occur.
    pub status: DeliveryStatus,
    /// When the provider recorded the change.
    pub at: DateTime<Utc>,
    /// Why sending failed, when the provider says.
    pub error: Option<ProviderError>,
}

/// The message(s) a [`DeliveryReceipt`] applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ReceiptTarget {
    /// One message, by provider id.
    Message {
        /// The provider message id (wamid, mid).
        external_id: String,
    },
    /// Every message sent to the contact up to and including `watermark` (Messenger watermarks).
    UpTo {
        /// The contact's channel id (PSID).
        contact_external_id: String,
        /// Messages sent at or before this instant are covered.
        watermark: DateTime<Utc>,
    },
}

/// An error the provider reported for a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderError {
    /// The provider's numeric code (for example 131047: outside the 24-hour window); 0 when absent.
    pub code: i64,
    /// The short description, at most 256 characters.
    pub title: String,
    /// The longer explanation, at most 1000 characters.
    pub detail: Option<String>,
}

/// Why a webhook body could not be read at all (→ 400). Messages never contain content from the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON.
    #[error("webhook body is not valid JSON")]
    InvalidJson,
    /// The top-level `object` is missing or not the one this parser handles (a Messenger body sent to the
    /// WhatsApp endpoint, say).
    #[error("webhook body is not a `{expected}` notification")]
    WrongObject {
        /// The `object` value the parser expected.
        expected: &'static str,
    },
    /// The top-level structure is wrong (not an object, or no `entry` array).
    #[error("webhook body has the wrong shape: {0}")]
    Shape(String),
}

/// Parses a Meta webhook document, checks its `object` and returns its `entry` array.
pub(crate) fn meta_entries(raw: &[u8], object: &'static str) -> Result<Vec<Value>, ParseError> {
    let document: Value = serde_json::from_slice(raw).map_err(|_| ParseError::InvalidJson)?;
    let Value::Object(mut document) = document else {
        return Err(ParseError::Shape("the document is not a JSON object".to_owned()));
    };
    if document.get("object").and_then(Value::as_str) != Some(object) {
        return Err(ParseError::WrongObject { expected: object });
    }
    match document.remove("entry") {
        Some(Value::Array(entries)) => Ok(entries),
        _ => Err(ParseError::Shape("`entry` is missing or not an array".to_owned())),
    }
}

#[cfg(test)]
mod tests;
