use chrono::DateTime;
use meta_chat_shared::domain::{DeliveryStatus, MessageType};
use serde_json::{Value, json};

use super::limits;
use super::*;

#[test]
fn serialises_as_camel_case_and_round_trips() {
    let watermark = DateTime::from_timestamp_millis(1_749_417_099_000).unwrap();
    let batch = InboundBatch {
        messages: vec![InboundMessage {
            account_id: "106540352242922".to_owned(),
            external_id: "wamid.X".to_owned(),
            contact: InboundContact { external_id: "16505551234".to_owned(), phone: None, display_name: None },
            sent_at: watermark,
            message_type: MessageType::Interactive,
            text: Some("Talk to a person".to_owned()),
            action: Some("talk_to_agent".to_owned()),
            reply_to: None,
            payload: json!({}),
        }],
        receipts: vec![DeliveryReceipt {
            account_id: "112233445566778".to_owned(),
            target: ReceiptTarget::UpTo { contact_external_id: "6543219876543210".to_owned(), watermark },
            status: DeliveryStatus::Read,
            at: watermark,
            error: Some(ProviderError { code: 131_047, title: "Re-engagement message".to_owned(), detail: None }),
        }],
        skipped: 2,
    };
    let json = serde_json::to_value(&batch).unwrap();
    assert_eq!(json["messages"][0]["externalId"], "wamid.X");
    assert_eq!(json["messages"][0]["messageType"], "interactive");
    assert_eq!(json["messages"][0]["contact"]["displayName"], Value::Null);
    assert_eq!(json["receipts"][0]["target"]["kind"], "upTo");
    assert_eq!(json["receipts"][0]["target"]["contactExternalId"], "6543219876543210");
    assert_eq!(json["receipts"][0]["status"], "read");
    let back: InboundBatch = serde_json::from_value(json).unwrap();
    assert_eq!(back, batch);
}

#[test]
fn parse_errors_do_not_echo_the_body() {
    let secret = "my secret message";
    let raw = format!(r#"{{"object":"{secret}","entry":[]}}"#);
    let error = meta_entries(raw.as_bytes(), "page").unwrap_err();
    assert!(!error.to_string().contains(secret));
    let error = meta_entries(format!("{{\"text\":\"{secret}\"").as_bytes(), "page").unwrap_err();
    assert!(!error.to_string().contains(secret));
}

#[test]
fn ids_must_fit_and_contain_no_whitespace() {
    assert_eq!(limits::id(Some(&json!("abc")), 3).as_deref(), Some("abc"));
    assert_eq!(limits::id(Some(&json!(42)), 3).as_deref(), Some("42"));
    for bad in [json!(""), json!("abcd"), json!("a b"), json!("a\u{0}"), json!(-1), json!(1.5), json!(null), json!([])]
    {
        assert_eq!(limits::id(Some(&bad), 3), None, "{bad}");
    }
    assert_eq!(limits::id(None, 3), None);
}

#[test]
fn text_is_cut_on_character_boundaries_and_cleared_of_nul() {
    assert_eq!(limits::text(Some(&json!("žžž")), 2).as_deref(), Some("žž"));
    assert_eq!(limits::text(Some(&json!("a\u{0}b")), 10).as_deref(), Some("ab"));
    assert_eq!(limits::text(Some(&json!("\u{0}")), 10), None);
    assert_eq!(limits::text(Some(&json!(5)), 10), None);
    assert_eq!(limits::name(Some(&json!("   "))), None);
}

#[test]
fn phones_are_five_to_twenty_digits() {
    assert_eq!(limits::phone("12345").as_deref(), Some("+12345"));
    assert_eq!(limits::phone(&"9".repeat(20)), Some(format!("+{}", "9".repeat(20))));
    for bad in ["1234", "123456789012345678901", "+12345", "12 345", "１２３４５"] {
        assert_eq!(limits::phone(bad), None, "{bad}");
    }
}

#[test]
fn timestamps_are_positive_unix_times() {
    assert_eq!(limits::unix_seconds(Some(&json!("1749416383"))), DateTime::from_timestamp(1_749_416_383, 0));
    assert_eq!(limits::unix_seconds(Some(&json!(1_749_416_383))), DateTime::from_timestamp(1_749_416_383, 0));
    assert_eq!(
        limits::unix_millis(Some(&json!(1_749_417_000_123_i64))),
        DateTime::from_timestamp_millis(1_749_417_000_123)
    );
    for bad in
        [json!("0"), json!("-1"), json!("+5"), json!(""), json!("1e9"), json!("99999999999999999999"), json!(1.5)]
    {
        assert_eq!(limits::unix_seconds(Some(&bad)), None, "{bad}");
    }
    assert_eq!(limits::unix_seconds(Some(&json!(i64::MAX))), None);
}
