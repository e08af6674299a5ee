//! The real fixtures first, then hand-written events for the edge cases.

use chrono::{DateTime, Utc};
use meta_chat_shared::domain::{DeliveryStatus, MessageType};
use serde_json::{Value, json};

use super::parse_messenger;
use crate::inbound::{InboundBatch, InboundContact, InboundMessage, ParseError, ReceiptTarget};

const TEXT_AND_ATTACHMENT: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/text_and_attachment.json");
const ECHO_AND_POSTBACK: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/echo_and_postback.json");
const DELIVERY_READ: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/delivery_read.json");

const PAGE_ID: &str = "112233445566778";
const PSID: &str = "6543219876543210";

fn at(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

fn only_message(batch: &InboundBatch) -> &InboundMessage {
    assert_eq!(batch.messages.len(), 1, "{batch:#?}");
    &batch.messages[0]
}

/// A page delivery with one entry holding `events`.
fn events(events: &Value) -> Vec<u8> {
    let document =
        json!({ "object": "page", "entry": [{ "id": PAGE_ID, "time": 1_749_417_000_123_i64, "messaging": events }] });
    serde_json::to_vec(&document).unwrap()
}

/// A user → page event at 1749417000000 carrying `key: content`.
fn event(key: &str, content: &Value) -> Value {
    let mut event =
        json!({ "sender": { "id": PSID }, "recipient": { "id": PAGE_ID }, "timestamp": 1_749_417_000_000_i64 });
    event[key] = content.clone();
    event
}

#[test]
fn text_and_attachment_in_one_event_are_one_message() {
    let batch = parse_messenger(TEXT_AND_ATTACHMENT).unwrap();
    let message = only_message(&batch);
    assert_eq!(message.account_id, PAGE_ID);
    assert_eq!(message.external_id, "m_AbCdEfGhIjKlMnOp0001");
    assert_eq!(message.contact, InboundContact { external_id: PSID.to_owned(), phone: None, display_name: None });
    assert_eq!(message.sent_at, at(1_749_416_900_000));
    assert_eq!(message.message_type, MessageType::Text);
    assert_eq!(message.text.as_deref(), Some("Is this jacket available in blue?"));
    assert_eq!(
        message.payload,
        json!({ "attachments": [{ "type": "image", "url": "https://cdn.example.invalid/attachments/jacket.jpg" }] })
    );
    assert_eq!((message.action.as_deref(), message.reply_to.as_deref()), (None, None));
    assert_eq!(batch.skipped, 0);
}

#[test]
fn echoes_are_ignored_and_postbacks_become_button_messages() {
    let batch = parse_messenger(ECHO_AND_POSTBACK).unwrap();
    assert_eq!(batch.skipped, 0, "an echo is not a skipped item");
    let message = only_message(&batch);
    assert_eq!(message.external_id, "m_Postback0001");
    assert_eq!(message.account_id, PAGE_ID);
    assert_eq!(message.contact.external_id, PSID);
    assert_eq!(message.message_type, MessageType::Button);
    assert_eq!(message.text.as_deref(), Some("Talk to a person"));
    assert_eq!(message.action.as_deref(), Some("TALK_TO_AGENT"));
    assert_eq!(message.sent_at, at(1_749_417_001_000));
}

#[test]
fn delivery_and_read_events_become_receipts() {
    let batch = parse_messenger(DELIVERY_READ).unwrap();
    assert!(batch.messages.is_empty());
    assert_eq!(batch.skipped, 0);
    let summary: Vec<(&ReceiptTarget, DeliveryStatus, DateTime<Utc>)> =
        batch.receipts.iter().map(|receipt| (&receipt.target, receipt.status, receipt.at)).collect();
    assert_eq!(
        summary,
        [
            (
                &ReceiptTarget::Message { external_id: "m_Outbound0001".to_owned() },
                DeliveryStatus::Delivered,
                at(1_749_417_100_000)
            ),
            (
                &ReceiptTarget::UpTo { contact_external_id: PSID.to_owned(), watermark: at(1_749_417_099_000) },
                DeliveryStatus::Delivered,
                at(1_749_417_100_000)
            ),
            (
                &ReceiptTarget::UpTo { contact_external_id: PSID.to_owned(), watermark: at(1_749_417_100_500) },
                DeliveryStatus::Read,
                at(1_749_417_101_000)
            ),
        ]
    );
    assert!(batch.receipts.iter().all(|receipt| receipt.account_id == PAGE_ID && receipt.error.is_none()));
}

#[test]
fn rejects_invalid_json_and_other_objects() {
    assert_eq!(parse_messenger(b"not json"), Err(ParseError::InvalidJson));
    let whatsapp = include_bytes!("../../../../../shared/fixtures/whatsapp/text.json");
    assert_eq!(parse_messenger(whatsapp), Err(ParseError::WrongObject { expected: "page" }));
    assert!(matches!(parse_messenger(br#"{"object":"page","entry":"x"}"#), Err(ParseError::Shape(_))));
}

#[test]
fn attachments_without_text_take_the_first_attachments_type() {
    let raw = events(&json!([
        event(
            "message",
            &json!({ "mid": "m_1", "attachments": [
                { "type": "file", "payload": { "url": "https://cdn.example.invalid/a.pdf" } },
                { "type": "image", "payload": { "url": "https://cdn.example.invalid/b.png" } },
            ]})
        ),
        event(
            "message",
            &json!({ "mid": "m_2", "attachments": [
                { "type": "image", "payload": { "url": "https://cdn.example.invalid/like.png", "sticker_id": 369_239_263_222_822_u64 } },
            ]})
        ),
        event(
            "message",
            &json!({ "mid": "m_3", "attachments": [
                { "type": "location", "title": "Pin", "payload": { "coordinates": { "lat": 45.81, "long": 15.98 } } },
            ]})
        ),
        event(
            "message",
            &json!({ "mid": "m_4", "attachments": [{ "type": "ig_reel", "payload": { "reel_video_id": "1" } }] })
        ),
        event("message", &json!({ "mid": "m_5" })),
    ]));
    let batch = parse_messenger(&raw).unwrap();
    let types: Vec<MessageType> = batch.messages.iter().map(|message| message.message_type).collect();
    let expected = [
        MessageType::Document,
        MessageType::Sticker,
        MessageType::Location,
        MessageType::Unsupported,
        MessageType::Unsupported,
    ];
    assert_eq!(types, expected);
    assert_eq!(batch.messages[0].payload["attachments"][1]["url"], json!("https://cdn.example.invalid/b.png"));
    assert_eq!(batch.messages[1].payload["attachments"][0]["stickerId"], json!("369239263222822"));
    assert_eq!(batch.messages[2].text.as_deref(), Some("Pin"));
    assert_eq!(batch.messages[2].payload["location"], json!({ "latitude": 45.81, "longitude": 15.98, "name": "Pin" }));
    assert_eq!(batch.messages[3].payload["attachments"][0], json!({ "type": "ig_reel" }));
    assert_eq!(batch.messages[4].payload, json!({ "unsupported": { "type": "message", "errors": [] } }));
}

#[test]
fn quick_replies_and_replies_are_carried() {
    let raw = events(&json!([event(
        "message",
        &json!({
            "mid": "m_QR", "text": "Yes please", "quick_reply": { "payload": "CONFIRM_YES" }, "reply_to": { "mid": "m_Outbound0001" },
        })
    )]));
    let batch = parse_messenger(&raw).unwrap();
    let message = only_message(&batch);
    assert_eq!(message.action.as_deref(), Some("CONFIRM_YES"));
    assert_eq!(message.reply_to.as_deref(), Some("m_Outbound0001"));
    assert_eq!(message.payload, json!({}));
}

#[test]
fn a_postback_without_mid_gets_a_deterministic_id() {
    let raw = events(&json!([event("postback", &json!({ "title": "Get Started", "payload": "GET_STARTED" }))]));
    let first = parse_messenger(&raw).unwrap();
    assert_eq!(only_message(&first).external_id, format!("postback:{PSID}:1749417000000"));
    assert_eq!(parse_messenger(&raw).unwrap(), first);
}

#[test]
fn the_entry_id_stands_in_for_a_missing_recipient() {
    let mut message = event("message", &json!({ "mid": "m_NR", "text": "hi" }));
    message.as_object_mut().unwrap().remove("recipient");
    let batch = parse_messenger(&events(&json!([message]))).unwrap();
    assert_eq!(only_message(&batch).account_id, PAGE_ID);
}

#[test]
fn broken_and_unhandled_events_are_skipped_and_their_siblings_survive() {
    let mut no_sender = event("message", &json!({ "mid": "m_NS", "text": "who?" }));
    no_sender.as_object_mut().unwrap().remove("sender");
    let mut no_timestamp = event("message", &json!({ "mid": "m_NT", "text": "when?" }));
    no_timestamp.as_object_mut().unwrap().remove("timestamp");
    let raw = events(&json!([
        event("message", &json!({ "mid": "m_OK1", "text": "first" })),
        event("message", &json!({ "text": "no mid" })),
        event("message", &json!({ "mid": "m".repeat(257), "text": "long mid" })),
        no_sender,
        no_timestamp,
        event("reaction", &json!({ "mid": "m_OK1", "action": "react", "emoji": "❤" })),
        event("read", &json!({})),
        event("delivery", &json!({ "mids": ["m_D1", 7, "  "] })),
        event("message", &json!({ "mid": "m_OK2", "text": "second" })),
    ]));
    let batch = parse_messenger(&raw).unwrap();
    let ids: Vec<&str> = batch.messages.iter().map(|message| message.external_id.as_str()).collect();
    assert_eq!(ids, ["m_OK1", "m_OK2"]);
    // The delivery keeps its valid mid ("7" is a valid numeric id); the blank one is skipped.
    let targets: Vec<&ReceiptTarget> = batch.receipts.iter().map(|receipt| &receipt.target).collect();
    assert_eq!(
        targets,
        [
            &ReceiptTarget::Message { external_id: "m_D1".to_owned() },
            &ReceiptTarget::Message { external_id: "7".to_owned() }
        ]
    );
    assert_eq!(batch.skipped, 7);
}

#[test]
fn entries_without_messaging_are_ignored() {
    let document = json!({ "object": "page", "entry": [{ "id": PAGE_ID, "time": 1, "standby": [] }] });
    let batch = parse_messenger(&serde_json::to_vec(&document).unwrap()).unwrap();
    assert_eq!(batch, InboundBatch::default());
}
