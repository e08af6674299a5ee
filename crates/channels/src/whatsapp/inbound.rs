//! Walks a WhatsApp webhook delivery: every entry, every change whose field is `messages`, every message and
//! every status in it. One batch may carry several entries and several messages (Meta batches under load),
//! and each must come out; a single broken item is skipped and counted, never fatal to its siblings.
//!
//! Identities: `from` is the contact's `wa_id` (a phone number in digits). Users who hide their number arrive
//! with a business-scoped user id instead (`from_user_id`, `contacts[].user_id`), which then becomes the
//! contact's external id, with no phone.

use meta_chat_shared::domain::DeliveryStatus;
use serde_json::{Map, Value};

use super::content;
use crate::inbound::limits::{self, ACCOUNT_ID_MAX, CONTACT_ID_MAX, MESSAGE_ID_MAX};
use crate::inbound::{
    DeliveryReceipt, InboundBatch, InboundContact, InboundMessage, ParseError, ReceiptTarget, meta_entries,
};

/// The `object` of WhatsApp Business Account notifications.
const OBJECT: &str = "whatsapp_business_account";

/// Parses the raw body of a WhatsApp Cloud API webhook `POST` (after its signature was checked).
///
/// Only an unreadable document, another `object` or a missing `entry` array is an error; changes other than
/// `messages` are ignored, and broken or unknown messages and statuses are counted in
/// [`InboundBatch::skipped`]. Message types the platform does not handle become
/// [`MessageType::Unsupported`](meta_chat_shared::domain::MessageType::Unsupported) messages.
pub fn parse_whatsapp(raw: &[u8]) -> Result<InboundBatch, ParseError> {
    let entries = meta_entries(raw, OBJECT)?;
    let mut batch = InboundBatch::default();
    for entry in &entries {
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else {
            batch.skip("whatsapp entry without a changes array");
            continue;
        };
        for change in changes {
            // Other fields (account_update, message_template_status_update, ...) are not conversations.
            if change.get("field").and_then(Value::as_str) != Some("messages") {
                continue;
            }
            match change.get("value").and_then(Value::as_object) {
                Some(value) => parse_change(value, &mut batch),
                None => batch.skip("whatsapp messages change without a value object"),
            }
        }
    }
    Ok(batch)
}

fn parse_change(value: &Map<String, Value>, batch: &mut InboundBatch) {
    let messages = list(value, "messages", batch);
    let statuses = list(value, "statuses", batch);
    let account =
        limits::id(value.get("metadata").and_then(|metadata| metadata.get("phone_number_id")), ACCOUNT_ID_MAX);
    let Some(account) = account else {
        for _ in 0..messages.len() + statuses.len() {
            batch.skip("whatsapp change without a valid metadata.phone_number_id");
        }
        return;
    };
    let contacts = value.get("contacts").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for message in messages {
        match parse_message(message, &account, contacts) {
            Ok(message) => batch.messages.push(message),
            Err(reason) => batch.skip(reason),
        }
    }
    for status in statuses {
        match parse_status(status, &account) {
            Ok(receipt) => batch.receipts.push(receipt),
            Err(reason) => batch.skip(reason),
        }
    }
}

/// The array under `key`; empty when absent, and one skipped item when present but not an array.
fn list<'a>(value: &'a Map<String, Value>, key: &str, batch: &mut InboundBatch) -> &'a [Value] {
    match value.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            batch.skip("whatsapp messages or statuses is not an array");
            &[]
        }
    }
}

fn parse_message(message: &Value, account: &str, contacts: &[Value]) -> Result<InboundMessage, &'static str> {
    let external_id =
        limits::id(message.get("id"), MESSAGE_ID_MAX).ok_or("whatsapp message id missing or out of bounds")?;
    let sent_at = limits::unix_seconds(message.get("timestamp")).ok_or("whatsapp message timestamp invalid")?;
    let contact = parse_contact(message, contacts).ok_or("whatsapp message sender missing or out of bounds")?;
    let content = content::parse(message);
    Ok(InboundMessage {
        account_id: account.to_owned(),
        external_id,
        contact,
        sent_at,
        message_type: content.message_type,
        text: content.text,
        action: content.action,
        reply_to: limits::id(message.get("context").and_then(|context| context.get("id")), MESSAGE_ID_MAX),
        payload: content.payload,
    })
}

/// The sender, completed from the `contacts[]` entry with the same `wa_id` or `user_id`.
fn parse_contact(message: &Value, contacts: &[Value]) -> Option<InboundContact> {
    let from = message.get("from").and_then(Value::as_str);
    let from_user = message.get("from_user_id").and_then(Value::as_str);
    let profile = contacts
        .iter()
        .find(|contact| {
            (from.is_some() && str_field(contact, "wa_id") == from)
                || (from_user.is_some() && str_field(contact, "user_id") == from_user)
        })
        // Without any sender id on the message, a lone contact can only be its sender.
        .or_else(|| if from.is_none() && from_user.is_none() && contacts.len() == 1 { contacts.first() } else { None });
    let external_id = limits::id(message.get("from"), CONTACT_ID_MAX)
        .or_else(|| limits::id(message.get("from_user_id"), CONTACT_ID_MAX))
        .or_else(|| profile.and_then(|contact| limits::id(contact.get("user_id"), CONTACT_ID_MAX)))?;
    let phone = from.or_else(|| profile.and_then(|contact| str_field(contact, "wa_id"))).and_then(limits::phone);
    let display_name = profile.and_then(|contact| limits::name(contact.pointer("/profile/name")));
    Some(InboundContact { external_id, phone, display_name })
}

fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn parse_status(status: &Value, account: &str) -> Result<DeliveryReceipt, &'static str> {
    let state = match status.get("status").and_then(Value::as_str) {
        Some("sent") => DeliveryStatus::Sent,
        Some("delivered") => DeliveryStatus::Delivered,
        Some("read") => DeliveryStatus::Read,
        Some("failed") => DeliveryStatus::Failed,
        _ => return Err("whatsapp status value not handled"),
    };
    let external_id =
        limits::id(status.get("id"), MESSAGE_ID_MAX).ok_or("whatsapp status id missing or out of bounds")?;
    let at = limits::unix_seconds(status.get("timestamp")).ok_or("whatsapp status timestamp invalid")?;
    let error =
        status.get("errors").and_then(Value::as_array).and_then(|errors| errors.first()).and_then(content::error);
    Ok(DeliveryReceipt {
        account_id: account.to_owned(),
        target: ReceiptTarget::Message { external_id },
        status: state,
        at,
        error,
    })
}
