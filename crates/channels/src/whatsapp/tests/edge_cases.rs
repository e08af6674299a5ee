use super::*;

fn text_message(id: &str, body: &str) -> Value {
    json!({ "from": "16505551234", "id": id, "timestamp": "1749416383", "type": "text", "text": { "body": body } })
}

#[test]
fn a_user_without_a_phone_number_is_identified_by_the_business_scoped_user_id() {
    let raw = delivery(&json!({
        "contacts": [{ "profile": { "name": "Private Person" }, "user_id": "US.13491208655302741918" }],
        "messages": [{ "from_user_id": "US.13491208655302741918", "id": "wamid.NOPHONE1", "timestamp": "1749416383",
                       "type": "text", "text": { "body": "hello" } }],
    }));
    let batch = parse_whatsapp(&raw).unwrap();
    let contact = &only_message(&batch).contact;
    assert_eq!(contact.external_id, "US.13491208655302741918");
    assert_eq!(contact.phone, None);
    assert_eq!(contact.display_name.as_deref(), Some("Private Person"));
}

#[test]
fn the_user_id_of_the_only_contact_identifies_a_message_without_sender_fields() {
    let raw = delivery(&json!({
        "contacts": [{ "profile": { "name": "Private Person" }, "user_id": "US.99" }],
        "messages": [{ "id": "wamid.NOSENDER1", "timestamp": "1749416383", "type": "text", "text": { "body": "hi" } }],
    }));
    let batch = parse_whatsapp(&raw).unwrap();
    let contact = &only_message(&batch).contact;
    assert_eq!((contact.external_id.as_str(), contact.phone.as_deref()), ("US.99", None));
    assert_eq!(contact.display_name.as_deref(), Some("Private Person"));
}

#[test]
fn a_sender_id_that_is_not_a_phone_number_gives_no_phone() {
    let mut message = text_message("wamid.ODD1", "hi");
    message["from"] = json!("1234");
    let batch = parse_whatsapp(&messages(&json!([message]))).unwrap();
    let contact = &only_message(&batch).contact;
    assert_eq!(
        (contact.external_id.as_str(), contact.phone.as_deref(), contact.display_name.as_deref()),
        ("1234", None, None)
    );
}

#[test]
fn an_unknown_message_type_is_kept_as_unsupported() {
    let raw =
        messages(&json!([{ "from": "16505551234", "id": "wamid.ORDER1", "timestamp": "1749416383", "type": "order",
                                 "order": { "catalog_id": "1" } }]));
    let batch = parse_whatsapp(&raw).unwrap();
    let message = only_message(&batch);
    assert_eq!(message.message_type, MessageType::Unsupported);
    assert_eq!(message.payload, json!({ "unsupported": { "type": "order", "errors": [] } }));
    assert_eq!(batch.skipped, 0);
}

#[test]
fn a_known_type_with_broken_content_is_kept_as_unsupported() {
    let raw = messages(&json!([
        { "from": "16505551234", "id": "wamid.B1", "timestamp": "1749416383", "type": "text" },
        { "from": "16505551234", "id": "wamid.B2", "timestamp": "1749416383", "type": "location",
          "location": { "latitude": 91.0, "longitude": 0.0 } },
        { "from": "16505551234", "id": "wamid.B3", "timestamp": "1749416383", "type": "interactive",
          "interactive": { "type": "nfm_reply", "nfm_reply": {} } },
    ]));
    let batch = parse_whatsapp(&raw).unwrap();
    let kinds: Vec<(MessageType, &Value)> =
        batch.messages.iter().map(|message| (message.message_type, &message.payload["unsupported"]["type"])).collect();
    assert_eq!(
        kinds,
        [
            (MessageType::Unsupported, &json!("text")),
            (MessageType::Unsupported, &json!("location")),
            (MessageType::Unsupported, &json!("interactive")),
        ]
    );
}

#[test]
fn broken_messages_are_skipped_and_their_siblings_survive() {
    let mut missing_id = text_message("x", "no id");
    missing_id.as_object_mut().unwrap().remove("id");
    let mut bad_timestamp = text_message("wamid.BADTIME", "bad time");
    bad_timestamp["timestamp"] = json!("yesterday");
    let long_id = text_message(&"w".repeat(257), "long id");
    let mut no_sender = text_message("wamid.NOSENDER", "nobody");
    no_sender.as_object_mut().unwrap().remove("from");
    let raw = messages(&json!([
        text_message("wamid.GOOD1", "first"),
        missing_id,
        bad_timestamp,
        long_id,
        no_sender,
        "not an object",
        text_message("wamid.GOOD2", "second"),
    ]));
    let batch = parse_whatsapp(&raw).unwrap();
    let ids: Vec<&str> = batch.messages.iter().map(|message| message.external_id.as_str()).collect();
    assert_eq!(ids, ["wamid.GOOD1", "wamid.GOOD2"]);
    assert_eq!(batch.skipped, 5);
}

#[test]
fn the_longest_allowed_message_id_is_kept() {
    let id = "w".repeat(256);
    let batch = parse_whatsapp(&messages(&json!([text_message(&id, "edge")]))).unwrap();
    assert_eq!(only_message(&batch).external_id, id);
}

#[test]
fn an_over_long_display_name_is_truncated_on_a_character_boundary() {
    let raw = delivery(&json!({
        "contacts": [{ "profile": { "name": format!("  {}", "Ž".repeat(300)) }, "wa_id": "16505551234" }],
        "messages": [text_message("wamid.LONGNAME", "hi")],
    }));
    let batch = parse_whatsapp(&raw).unwrap();
    assert_eq!(only_message(&batch).contact.display_name, Some("Ž".repeat(200)));
}

#[test]
fn an_over_long_text_is_truncated_and_nul_characters_removed() {
    let body = format!("a\u{0}b{}", "é".repeat(70_000));
    let batch = parse_whatsapp(&messages(&json!([text_message("wamid.LONGTEXT", &body)]))).unwrap();
    let text = only_message(&batch).text.clone().unwrap();
    assert_eq!(text.chars().count(), 65_536);
    assert!(text.starts_with("abé"));
}

#[test]
fn changes_other_than_messages_are_ignored() {
    let document = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [
            { "field": "account_update", "value": { "metadata": { "phone_number_id": PHONE_NUMBER_ID },
              "messages": [text_message("wamid.IGNORED", "not a message")] } },
            { "field": "message_template_status_update", "value": { "event": "APPROVED" } },
        ]}],
    });
    let batch = parse_whatsapp(&serde_json::to_vec(&document).unwrap()).unwrap();
    assert_eq!(batch, InboundBatch::default());
}

#[test]
fn messages_without_a_phone_number_id_are_skipped() {
    let document = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messages": [text_message("wamid.A", "a"), text_message("wamid.B", "b")] } }] }],
    });
    let batch = parse_whatsapp(&serde_json::to_vec(&document).unwrap()).unwrap();
    assert!(batch.messages.is_empty());
    assert_eq!(batch.skipped, 2);
}

#[test]
fn unknown_and_broken_statuses_are_skipped() {
    let raw = delivery(&json!({ "statuses": [
        { "id": "wamid.S1", "status": "deleted", "timestamp": "1749416600" },
        { "status": "read", "timestamp": "1749416600" },
        { "id": "wamid.S3", "status": "read", "timestamp": "-5" },
        { "id": "wamid.S4", "status": "delivered", "timestamp": 1_749_416_600 },
    ]}));
    let batch = parse_whatsapp(&raw).unwrap();
    assert_eq!(batch.receipts.len(), 1);
    assert_eq!(batch.receipts[0].target, ReceiptTarget::Message { external_id: "wamid.S4".to_owned() });
    assert_eq!(batch.receipts[0].status, DeliveryStatus::Delivered);
    assert_eq!(batch.skipped, 3);
}

#[test]
fn parses_media_reactions_lists_buttons_and_contact_cards() {
    let sender = |id: &str, kind: &str, content: Value| {
        let mut message = json!({ "from": "16505551234", "id": id, "timestamp": "1749416383", "type": kind });
        message[kind] = content;
        message
    };
    let raw = messages(&json!([
        sender(
            "wamid.DOC",
            "document",
            json!({ "id": "77", "mime_type": "application/pdf", "filename": "invoice.pdf" })
        ),
        sender("wamid.STICKER", "sticker", json!({ "id": "78", "mime_type": "image/webp", "animated": false })),
        sender("wamid.REACT", "reaction", json!({ "message_id": "wamid.OUTBOUND0001", "emoji": "👍" })),
        sender("wamid.UNREACT", "reaction", json!({ "message_id": "wamid.OUTBOUND0001" })),
        sender(
            "wamid.LIST",
            "interactive",
            json!({ "type": "list_reply",
            "list_reply": { "id": "plan_pro", "title": "Pro", "description": "For teams" } })
        ),
        sender("wamid.BUTTON", "button", json!({ "payload": "STOP_PROMOS", "text": "Stop promotions" })),
        sender(
            "wamid.CARD",
            "contacts",
            json!([{ "name": { "formatted_name": "Ana Horvat", "first_name": "Ana" },
            "phones": [{ "phone": "+385 91 555 0101", "wa_id": "385915550101", "type": "CELL" }],
            "emails": [{ "email": "ana@example.invalid" }] }])
        ),
    ]));
    let batch = parse_whatsapp(&raw).unwrap();
    assert_eq!(batch.skipped, 0);
    let summary: Vec<(MessageType, Option<&str>, Option<&str>)> = batch
        .messages
        .iter()
        .map(|message| (message.message_type, message.text.as_deref(), message.action.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (MessageType::Document, None, None),
            (MessageType::Sticker, None, None),
            (MessageType::Reaction, Some("👍"), None),
            (MessageType::Reaction, None, None),
            (MessageType::Interactive, Some("Pro"), Some("plan_pro")),
            (MessageType::Button, Some("Stop promotions"), Some("STOP_PROMOS")),
            (MessageType::Contacts, None, None),
        ]
    );
    let payloads: Vec<&Value> = batch.messages.iter().map(|message| &message.payload).collect();
    assert_eq!(
        *payloads[0],
        json!({ "media": { "mediaId": "77", "mimeType": "application/pdf", "filename": "invoice.pdf" } })
    );
    assert_eq!(*payloads[2], json!({ "reaction": { "messageId": "wamid.OUTBOUND0001", "emoji": "👍" } }));
    assert_eq!(*payloads[3], json!({ "reaction": { "messageId": "wamid.OUTBOUND0001", "emoji": null } }));
    assert_eq!(payloads[4]["interactive"]["description"], json!("For teams"));
    assert_eq!(
        *payloads[6],
        json!({ "contacts": [{
            "name": "Ana Horvat",
            "phones": [{ "phone": "+385 91 555 0101", "waId": "385915550101", "type": "CELL" }],
            "emails": [{ "email": "ana@example.invalid" }],
        }]})
    );
}

#[test]
fn an_over_long_reply_context_is_dropped_but_the_message_kept() {
    let mut message = text_message("wamid.CTX", "reply");
    message["context"] = json!({ "from": "15550783881", "id": "c".repeat(300) });
    let batch = parse_whatsapp(&messages(&json!([message]))).unwrap();
    assert_eq!(only_message(&batch).reply_to, None);
}
