//! The type-specific part of a WhatsApp message: its [`MessageType`], text, action and normalised payload.
//! A known type whose content is missing or malformed is kept as `unsupported` (with its original type in
//! the payload) rather than dropped, so the conversation still shows that something arrived.

use meta_chat_shared::domain::MessageType;
use serde_json::{Value, json};

use crate::inbound::ProviderError;
use crate::inbound::limits::{
    self, ACTION_MAX, ERROR_DETAIL_MAX, ERROR_TITLE_MAX, FIELD_MAX, LIST_MAX, MESSAGE_ID_MAX, TEXT_MAX, object,
};

/// Longest original type name kept in an `unsupported` payload.
const TYPE_NAME_MAX: usize = 64;
/// A reaction is one emoji, possibly a sequence of several code points.
const EMOJI_MAX: usize = 32;

/// The normalised content of one message.
pub(super) struct Content {
    pub(super) message_type: MessageType,
    pub(super) text: Option<String>,
    pub(super) action: Option<String>,
    pub(super) payload: Value,
}

impl Content {
    fn new(message_type: MessageType, text: Option<String>, action: Option<String>, payload: Value) -> Self {
        Self { message_type, text, action, payload }
    }
}

/// Reads the content for the message's `type`; unknown types and broken content give `unsupported`.
pub(super) fn parse(message: &Value) -> Content {
    let kind = message.get("type").and_then(Value::as_str).unwrap_or_default();
    let content = match kind {
        "text" => limits::text(message.pointer("/text/body"), TEXT_MAX)
            .map(|body| Content::new(MessageType::Text, Some(body), None, json!({}))),
        "image" => media(message, kind, MessageType::Image),
        "audio" => media(message, kind, MessageType::Audio),
        "video" => media(message, kind, MessageType::Video),
        "document" => media(message, kind, MessageType::Document),
        "sticker" => media(message, kind, MessageType::Sticker),
        "location" => location(message),
        "contacts" => contacts(message),
        "interactive" => interactive(message),
        "button" => button(message),
        "reaction" => reaction(message),
        _ => None,
    };
    content.unwrap_or_else(|| unsupported(message, kind))
}

/// A provider error object (`{code, title, message, error_data: {details}}`) as a [`ProviderError`].
pub(super) fn error(error: &Value) -> Option<ProviderError> {
    error.as_object()?;
    let title = limits::text(error.get("title"), ERROR_TITLE_MAX)
        .or_else(|| limits::text(error.get("message"), ERROR_TITLE_MAX))
        .unwrap_or_else(|| "unknown error".to_owned());
    Some(ProviderError {
        code: error.get("code").and_then(Value::as_i64).unwrap_or_default(),
        title,
        detail: limits::text(error.pointer("/error_data/details"), ERROR_DETAIL_MAX),
    })
}

fn media(message: &Value, kind: &str, message_type: MessageType) -> Option<Content> {
    let media = message.get(kind)?.as_object()?;
    let field = |key: &str| limits::text(media.get(key), FIELD_MAX).map(Value::from);
    let payload = object([
        ("mediaId", limits::id(media.get("id"), MESSAGE_ID_MAX).map(Value::from)),
        ("url", limits::url(media.get("url")).map(Value::from)),
        ("mimeType", field("mime_type")),
        ("sha256", field("sha256")),
        ("filename", field("filename")),
    ]);
    let caption = limits::text(media.get("caption"), TEXT_MAX);
    Some(Content::new(message_type, caption, None, json!({ "media": payload })))
}

fn location(message: &Value) -> Option<Content> {
    let location = message.get("location")?;
    let (latitude, longitude) = limits::coordinates(location.get("latitude"), location.get("longitude"))?;
    let name = limits::text(location.get("name"), FIELD_MAX);
    let payload = object([
        ("latitude", Some(Value::from(latitude))),
        ("longitude", Some(Value::from(longitude))),
        ("name", name.clone().map(Value::from)),
        ("address", limits::text(location.get("address"), FIELD_MAX).map(Value::from)),
    ]);
    Some(Content::new(MessageType::Location, name, None, json!({ "location": payload })))
}

/// Shared contact cards, reduced to name, organisation, phones and e-mail addresses.
fn contacts(message: &Value) -> Option<Content> {
    let cards = message.get("contacts")?.as_array().filter(|cards| !cards.is_empty())?;
    let cards: Vec<Value> = cards.iter().take(LIST_MAX).map(contact_card).collect();
    Some(Content::new(MessageType::Contacts, None, None, json!({ "contacts": cards })))
}

fn contact_card(card: &Value) -> Value {
    let field = |value: &Value, key: &str| limits::text(value.get(key), FIELD_MAX).map(Value::from);
    let items =
        |key: &str| card.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice).iter().take(LIST_MAX);
    let phones: Vec<Value> = items("phones")
        .map(|phone| {
            object([("phone", field(phone, "phone")), ("waId", field(phone, "wa_id")), ("type", field(phone, "type"))])
        })
        .collect();
    let emails: Vec<Value> = items("emails")
        .map(|email| object([("email", field(email, "email")), ("type", field(email, "type"))]))
        .collect();
    object([
        ("name", limits::name(card.pointer("/name/formatted_name")).map(Value::from)),
        ("organization", limits::text(card.pointer("/org/company"), FIELD_MAX).map(Value::from)),
        ("phones", Some(Value::from(phones))),
        ("emails", Some(Value::from(emails))),
    ])
}

/// A tapped reply button or list row of an interactive message.
fn interactive(message: &Value) -> Option<Content> {
    let interactive = message.get("interactive")?;
    let kind = interactive.get("type").and_then(Value::as_str)?;
    if kind != "button_reply" && kind != "list_reply" {
        return None;
    }
    let reply = interactive.get(kind)?;
    let id = limits::text(reply.get("id"), ACTION_MAX)?;
    let title = limits::text(reply.get("title"), FIELD_MAX);
    let payload = object([
        ("kind", Some(Value::from(kind))),
        ("id", Some(Value::from(id.as_str()))),
        ("title", title.clone().map(Value::from)),
        ("description", limits::text(reply.get("description"), FIELD_MAX).map(Value::from)),
    ]);
    Some(Content::new(MessageType::Interactive, title, Some(id), json!({ "interactive": payload })))
}

/// A quick-reply button of a template message.
fn button(message: &Value) -> Option<Content> {
    let button = message.get("button")?;
    let text = limits::text(button.get("text"), FIELD_MAX);
    let action = limits::text(button.get("payload"), ACTION_MAX);
    (text.is_some() || action.is_some()).then(|| Content::new(MessageType::Button, text, action, json!({})))
}

/// An emoji reaction; a removed reaction has no emoji.
fn reaction(message: &Value) -> Option<Content> {
    let reaction = message.get("reaction")?;
    let message_id = limits::id(reaction.get("message_id"), MESSAGE_ID_MAX)?;
    let emoji = limits::text(reaction.get("emoji"), EMOJI_MAX);
    let payload = json!({ "reaction": { "messageId": message_id, "emoji": emoji } });
    Some(Content::new(MessageType::Reaction, emoji, None, payload))
}

fn unsupported(message: &Value, kind: &str) -> Content {
    let errors: Vec<Value> = message
        .get("errors")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .take(LIST_MAX)
        .filter_map(error)
        .map(|error| json!({ "code": error.code, "title": error.title, "detail": error.detail }))
        .collect();
    let kind: String = kind.chars().filter(|&c| c != '\0').take(TYPE_NAME_MAX).collect();
    let details =
        object([("type", (!kind.is_empty()).then(|| Value::from(kind))), ("errors", Some(Value::from(errors)))]);
    Content::new(MessageType::Unsupported, None, None, json!({ "unsupported": details }))
}
