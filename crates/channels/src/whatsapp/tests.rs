//! The real fixtures first, then hand-written deliveries for the edge cases.

use chrono::{DateTime, Utc};
use meta_chat_shared::domain::{DeliveryStatus, MessageType};
use serde_json::{Value, json};

use super::parse_whatsapp;
use crate::inbound::{InboundBatch, InboundMessage, ParseError, ProviderError, ReceiptTarget};

mod edge_cases;

const TEXT: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/text.json");
const BATCH: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/batch.json");
const INTERACTIVE: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/interactive_reply.json");
const STATUSES: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/statuses.json");
const UNSUPPORTED: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/unsupported.json");

const PHONE_NUMBER_ID: &str = "106540352242922";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn only_message(batch: &InboundBatch) -> &InboundMessage {
    assert_eq!(batch.messages.len(), 1, "{batch:#?}");
    &batch.messages[0]
}

/// A delivery with one `messages` change holding `value` merged over the usual metadata.
fn delivery(value: &Value) -> Vec<u8> {
    let mut full = json!({
        "messaging_product": "whatsapp",
        "metadata": { "display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID },
    });
    for (key, field) in value.as_object().unwrap() {
        full[key] = field.clone();
    }
    let document = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": full }] }],
    });
    serde_json::to_vec(&document).unwrap()
}

/// A delivery of `messages` from one contact, Sheena, whose `wa_id` is 16505551234.
fn messages(messages: &Value) -> Vec<u8> {
    delivery(&json!({
        "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
        "messages": messages,
    }))
}

#[test]
fn parses_a_text_message() {
    let batch = parse_whatsapp(TEXT).unwrap();
    let message = only_message(&batch);
    assert_eq!(message.account_id, PHONE_NUMBER_ID);
    assert_eq!(message.external_id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    assert_eq!(message.contact.external_id, "16505551234");
    assert_eq!(message.contact.phone.as_deref(), Some("+16505551234"));
    assert_eq!(message.contact.display_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(message.sent_at, at(1_749_416_383));
    assert_eq!(message.message_type, MessageType::Text);
    assert_eq!(message.text.as_deref(), Some("Does the premium plan include international shipping?"));
    assert_eq!((message.action.as_deref(), message.reply_to.as_deref()), (None, None));
    assert_eq!(message.payload, json!({}));
    assert!(batch.receipts.is_empty());
    assert_eq!(batch.skipped, 0);
}

#[test]
fn parses_every_message_of_every_entry_in_a_batch() {
    let batch = parse_whatsapp(BATCH).unwrap();
    let ids: Vec<&str> = batch.messages.iter().map(|message| message.external_id.as_str()).collect();
    assert_eq!(ids, ["wamid.BATCH0001", "wamid.BATCH0002", "wamid.BATCH0003"]);
    assert_eq!(batch.skipped, 0);

    let image = &batch.messages[1];
    assert_eq!(image.message_type, MessageType::Image);
    assert_eq!(image.text.as_deref(), Some("This is the receipt"));
    assert_eq!(
        image.payload,
        json!({ "media": {
            "mediaId": "1003383421387256",
            "mimeType": "image/jpeg",
            "sha256": "Ku3Gsc7yWv2r4N2wq1dcVbq1T6x3dAq4wPzVnHdd8Yk=",
        }})
    );
    assert_eq!(image.contact.display_name.as_deref(), Some("Ana Horvat"));

    let location = &batch.messages[2];
    assert_eq!(location.message_type, MessageType::Location);
    assert_eq!(location.text.as_deref(), Some("Ban Jelacic Square"));
    assert_eq!(
        location.payload,
        json!({ "location": {
            "latitude": 45.815,
            "longitude": 15.9819,
            "name": "Ban Jelacic Square",
            "address": "Trg bana Josipa Jelacica, Zagreb",
        }})
    );
    // The second entry's contact is matched by wa_id, not taken from the first entry.
    assert_eq!(location.contact.external_id, "385915550202");
    assert_eq!(location.contact.display_name.as_deref(), Some("Marko Kovac"));
    assert_eq!(location.contact.phone.as_deref(), Some("+385915550202"));
}

#[test]
fn parses_an_interactive_button_reply() {
    let batch = parse_whatsapp(INTERACTIVE).unwrap();
    let message = only_message(&batch);
    assert_eq!(message.message_type, MessageType::Interactive);
    assert_eq!(message.text.as_deref(), Some("Talk to a person"));
    assert_eq!(message.action.as_deref(), Some("talk_to_agent"));
    assert_eq!(message.reply_to.as_deref(), Some("wamid.OUTBOUND0001"));
    assert_eq!(
        message.payload,
        json!({ "interactive": { "kind": "button_reply", "id": "talk_to_agent", "title": "Talk to a person" } })
    );
}

#[test]
fn parses_statuses_in_document_order_with_the_failure_reason() {
    let batch = parse_whatsapp(STATUSES).unwrap();
    assert!(batch.messages.is_empty());
    assert_eq!(batch.skipped, 0);
    let summary: Vec<(&str, DeliveryStatus, DateTime<Utc>)> = batch
        .receipts
        .iter()
        .map(|receipt| {
            assert_eq!(receipt.account_id, PHONE_NUMBER_ID);
            let ReceiptTarget::Message { external_id } = &receipt.target else { panic!("{receipt:?}") };
            (external_id.as_str(), receipt.status, receipt.at)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("wamid.OUTBOUND0001", DeliveryStatus::Read, at(1_749_416_620)),
            ("wamid.OUTBOUND0001", DeliveryStatus::Sent, at(1_749_416_600)),
            ("wamid.OUTBOUND0001", DeliveryStatus::Delivered, at(1_749_416_610)),
            ("wamid.OUTBOUND0002", DeliveryStatus::Failed, at(1_749_416_700)),
        ]
    );
    assert!(batch.receipts[..3].iter().all(|receipt| receipt.error.is_none()));
    assert_eq!(
        batch.receipts[3].error,
        Some(ProviderError {
            code: 131_047,
            title: "Re-engagement message".to_owned(),
            detail: Some(
                "Message failed to send because more than 24 hours have passed since the customer last replied to \
                 this number."
                    .to_owned()
            ),
        })
    );
}

#[test]
fn keeps_an_unsupported_message_with_its_errors() {
    let batch = parse_whatsapp(UNSUPPORTED).unwrap();
    let message = only_message(&batch);
    assert_eq!(message.external_id, "wamid.UNSUPPORTED0001");
    assert_eq!(message.message_type, MessageType::Unsupported);
    assert_eq!(message.text, None);
    assert_eq!(
        message.payload,
        json!({ "unsupported": { "type": "unsupported", "errors": [{
            "code": 131_051,
            "title": "Message type unknown",
            "detail": "Message type is currently not supported.",
        }]}})
    );
    assert_eq!(batch.skipped, 0);
}

#[test]
fn rejects_invalid_json() {
    assert_eq!(parse_whatsapp(b"{\"object\":"), Err(ParseError::InvalidJson));
    assert_eq!(parse_whatsapp(b""), Err(ParseError::InvalidJson));
}

#[test]
fn rejects_another_object_or_a_missing_entry_array() {
    let messenger = include_bytes!("../../../../../shared/fixtures/messenger/delivery_read.json");
    assert_eq!(parse_whatsapp(messenger), Err(ParseError::WrongObject { expected: "whatsapp_business_account" }));
    assert!(matches!(parse_whatsapp(br#"{"entry":[]}"#), Err(ParseError::WrongObject { .. })));
    assert!(matches!(parse_whatsapp(b"[]"), Err(ParseError::Shape(_))));
    assert!(matches!(parse_whatsapp(br#"{"object":"whatsapp_business_account"}"#), Err(ParseError::Shape(_))));
    let not_array = br#"{"object":"whatsapp_business_account","entry":{}}"#;
    assert!(matches!(parse_whatsapp(not_array), Err(ParseError::Shape(_))));
}

#[test]
fn an_empty_entry_list_is_an_empty_batch() {
    let batch = parse_whatsapp(br#"{"object":"whatsapp_business_account","entry":[]}"#).unwrap();
    assert_eq!(batch, InboundBatch::default());
}
