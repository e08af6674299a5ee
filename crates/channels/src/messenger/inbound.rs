//! Walks a Messenger page webhook delivery: every entry's `messaging[]` events. Handled: `message` (text,
//! attachments, quick replies; echoes of the page's own messages are ignored), `postback` (button taps),
//! `delivery` and `read`. Other event kinds and broken events are skipped and counted.
//!
//! Messenger reveals no phone number or name: the contact is the page-scoped id (PSID). Timestamps and
//! watermarks are Unix milliseconds; a watermark means "every message up to this instant".

use chrono::{DateTime, Utc};
use meta_chat_shared::domain::{DeliveryStatus, MessageType};
use serde_json::{Value, json};

use crate::inbound::limits::{
    self, ACCOUNT_ID_MAX, ACTION_MAX, CONTACT_ID_MAX, FIELD_MAX, LIST_MAX, MESSAGE_ID_MAX, TEXT_MAX, object,
};
use crate::inbound::{
    DeliveryReceipt, InboundBatch, InboundContact, InboundMessage, ParseError, ReceiptTarget, meta_entries,
};

/// The `object` of page notifications.
const OBJECT: &str = "page";
/// Longest attachment type name kept in the payload.
const TYPE_NAME_MAX: usize = 64;

/// Parses the raw body of a Messenger webhook `POST` (after its signature was checked).
///
/// Only an unreadable document, another `object` or a missing `entry` array is an error. Echoes are
/// ignored; broken events and event kinds other than message, postback, delivery and read are counted in
/// [`InboundBatch::skipped`].
pub fn parse_messenger(raw: &[u8]) -> Result<InboundBatch, ParseError> {
    let entries = meta_entries(raw, OBJECT)?;
    let mut batch = InboundBatch::default();
    for entry in &entries {
        let page_id = limits::id(entry.get("id"), ACCOUNT_ID_MAX);
        match entry.get("messaging") {
            // Entries of other subscriptions (`standby`, `changes`) carry no conversation events for us.
            None | Some(Value::Null) => {}
            Some(Value::Array(events)) => {
                for event in events {
                    parse_event(event, page_id.as_deref(), &mut batch);
                }
            }
            Some(_) => batch.skip("messenger messaging is not an array"),
        }
    }
    Ok(batch)
}

/// What every messaging event carries.
struct Envelope {
    /// The page (`recipient.id`, or `entry.id` when absent).
    account_id: String,
    /// The user's PSID.
    sender: String,
    /// The event's `timestamp`.
    at: Option<DateTime<Utc>>,
}

fn parse_event(event: &Value, page_id: Option<&str>, batch: &mut InboundBatch) {
    if event.pointer("/message/is_echo").and_then(Value::as_bool) == Some(true) {
        return; // the page's own outbound message, already stored when it was sent
    }
    let Some(envelope) = envelope(event, page_id) else {
        batch.skip("messenger event without a valid sender, recipient or page id");
        return;
    };
    let result = if let Some(message) = event.get("message") {
        parse_message(&envelope, message).map(|message| batch.messages.push(message))
    } else if let Some(postback) = event.get("postback") {
        parse_postback(&envelope, postback).map(|message| batch.messages.push(message))
    } else if let Some(delivery) = event.get("delivery") {
        parse_delivery(&envelope, delivery, batch);
        Ok(())
    } else if let Some(read) = event.get("read") {
        parse_read(&envelope, read).map(|receipt| batch.receipts.push(receipt))
    } else {
        Err("messenger event kind not handled")
    };
    if let Err(reason) = result {
        batch.skip(reason);
    }
}

fn envelope(event: &Value, page_id: Option<&str>) -> Option<Envelope> {
    let sender = limits::id(event.pointer("/sender/id"), CONTACT_ID_MAX)?;
    let account_id =
        limits::id(event.pointer("/recipient/id"), ACCOUNT_ID_MAX).or_else(|| page_id.map(str::to_owned))?;
    Some(Envelope { account_id, sender, at: limits::unix_millis(event.get("timestamp")) })
}

impl Envelope {
    fn inbound(&self, external_id: String, sent_at: DateTime<Utc>, content: Content) -> InboundMessage {
        InboundMessage {
            account_id: self.account_id.clone(),
            external_id,
            contact: InboundContact { external_id: self.sender.clone(), phone: None, display_name: None },
            sent_at,
            message_type: content.message_type,
            text: content.text,
            action: content.action,
            reply_to: content.reply_to,
            payload: content.payload,
        }
    }

    fn receipt(&self, target: ReceiptTarget, status: DeliveryStatus, at: DateTime<Utc>) -> DeliveryReceipt {
        DeliveryReceipt { account_id: self.account_id.clone(), target, status, at, error: None }
    }
}

struct Content {
    message_type: MessageType,
    text: Option<String>,
    action: Option<String>,
    reply_to: Option<String>,
    payload: Value,
}

/// A user's message: text and/or attachments in one event become one message.
fn parse_message(envelope: &Envelope, message: &Value) -> Result<InboundMessage, &'static str> {
    let external_id =
        limits::id(message.get("mid"), MESSAGE_ID_MAX).ok_or("messenger message mid missing or out of bounds")?;
    let sent_at = envelope.at.ok_or("messenger message timestamp invalid")?;
    let attachments = message.get("attachments").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    let attachments: Vec<Attachment> = attachments.iter().take(LIST_MAX).map(attachment).collect();
    let (message_type, text, mut payload) = match (limits::text(message.get("text"), TEXT_MAX), attachments.first()) {
        (Some(text), _) => (MessageType::Text, Some(text), json!({})),
        // Without text, the first attachment decides the type and its title (a location's name) is the text.
        (None, Some(first)) => {
            let location = first.coordinates.map(|(latitude, longitude)| {
                object([
                    ("latitude", Some(Value::from(latitude))),
                    ("longitude", Some(Value::from(longitude))),
                    ("name", first.title.clone().map(Value::from)),
                ])
            });
            (first.message_type, first.title.clone(), object([("location", location)]))
        }
        (None, None) => (MessageType::Unsupported, None, json!({ "unsupported": { "type": "message", "errors": [] } })),
    };
    if !attachments.is_empty()
        && let Some(fields) = payload.as_object_mut()
    {
        fields.insert("attachments".to_owned(), attachments.iter().map(|attachment| attachment.json.clone()).collect());
    }
    let content = Content {
        message_type,
        text,
        action: limits::text(message.pointer("/quick_reply/payload"), ACTION_MAX),
        reply_to: limits::id(message.pointer("/reply_to/mid"), MESSAGE_ID_MAX),
        payload,
    };
    Ok(envelope.inbound(external_id, sent_at, content))
}

struct Attachment {
    message_type: MessageType,
    title: Option<String>,
    coordinates: Option<(f64, f64)>,
    /// `{type, url?, title?, stickerId?, latitude?, longitude?}` with Messenger's own type name.
    json: Value,
}

fn attachment(attachment: &Value) -> Attachment {
    let kind = attachment.get("type").and_then(Value::as_str).unwrap_or_default();
    let payload = attachment.get("payload").unwrap_or(&Value::Null);
    let sticker_id = limits::id(payload.get("sticker_id"), MESSAGE_ID_MAX);
    let coordinates = limits::coordinates(payload.pointer("/coordinates/lat"), payload.pointer("/coordinates/long"));
    let message_type = match kind {
        "image" if sticker_id.is_some() => MessageType::Sticker,
        "image" => MessageType::Image,
        "audio" => MessageType::Audio,
        "video" => MessageType::Video,
        "file" => MessageType::Document,
        "location" if coordinates.is_some() => MessageType::Location,
        // A shared link: its title stands in for the text.
        "fallback" => MessageType::Text,
        _ => MessageType::Unsupported,
    };
    let title = limits::text(attachment.get("title").or_else(|| payload.get("title")), FIELD_MAX);
    let json = object([
        ("type", limits::text(attachment.get("type"), TYPE_NAME_MAX).map(Value::from)),
        ("url", limits::url(payload.get("url").or_else(|| attachment.get("url"))).map(Value::from)),
        ("title", title.clone().map(Value::from)),
        ("stickerId", sticker_id.map(Value::from)),
        ("latitude", coordinates.map(|(latitude, _)| Value::from(latitude))),
        ("longitude", coordinates.map(|(_, longitude)| Value::from(longitude))),
    ]);
    Attachment { message_type, title, coordinates, json }
}

/// A tapped postback button: the title is what the user saw, the payload what the page asked to get back.
fn parse_postback(envelope: &Envelope, postback: &Value) -> Result<InboundMessage, &'static str> {
    let sent_at = envelope.at.ok_or("messenger postback timestamp invalid")?;
    let external_id = match postback.get("mid") {
        // Older postbacks have no mid: derive one that a retried delivery reproduces.
        None | Some(Value::Null) => format!("postback:{}:{}", envelope.sender, sent_at.timestamp_millis()),
        Some(mid) => limits::id(Some(mid), MESSAGE_ID_MAX).ok_or("messenger postback mid out of bounds")?,
    };
    let content = Content {
        message_type: MessageType::Button,
        text: limits::text(postback.get("title"), FIELD_MAX),
        action: limits::text(postback.get("payload"), ACTION_MAX),
        reply_to: None,
        payload: json!({}),
    };
    Ok(envelope.inbound(external_id, sent_at, content))
}

/// One `Delivered` receipt per listed mid, plus one up to the watermark.
fn parse_delivery(envelope: &Envelope, delivery: &Value, batch: &mut InboundBatch) {
    let watermark = limits::unix_millis(delivery.get("watermark"));
    let Some(at) = envelope.at.or(watermark) else {
        batch.skip("messenger delivery without timestamp or watermark");
        return;
    };
    let mids = delivery.get("mids").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    if mids.is_empty() && watermark.is_none() {
        batch.skip("messenger delivery without mids or watermark");
        return;
    }
    for mid in mids {
        match limits::id(Some(mid), MESSAGE_ID_MAX) {
            Some(external_id) => {
                let receipt = envelope.receipt(ReceiptTarget::Message { external_id }, DeliveryStatus::Delivered, at);
                batch.receipts.push(receipt);
            }
            None => batch.skip("messenger delivery mid out of bounds"),
        }
    }
    if let Some(watermark) = watermark {
        let target = ReceiptTarget::UpTo { contact_external_id: envelope.sender.clone(), watermark };
        batch.receipts.push(envelope.receipt(target, DeliveryStatus::Delivered, at));
    }
}

/// The user has read everything up to the watermark.
fn parse_read(envelope: &Envelope, read: &Value) -> Result<DeliveryReceipt, &'static str> {
    let watermark = limits::unix_millis(read.get("watermark")).ok_or("messenger read without a valid watermark")?;
    let target = ReceiptTarget::UpTo { contact_external_id: envelope.sender.clone(), watermark };
    Ok(envelope.receipt(target, DeliveryStatus::Read, envelope.at.unwrap_or(watermark)))
}
