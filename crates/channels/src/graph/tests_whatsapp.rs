use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const PHONE_NUMBER_ID: &str = "1098765432";
const TOKEN: &str = "EAAGwhatsappTOKEN";
const WA_ID: &str = "4915112345678";

fn client(server: &MockServer) -> GraphClient {
    GraphClient::new(&server.uri(), DEFAULT_API_VERSION).unwrap()
}

/// Expects exactly one message POST with `body` and the bearer token, answering with `wamid.1`.
async fn expect_message(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/v23.0/{PHONE_NUMBER_ID}/messages")))
        .and(bearer_token(TOKEN))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{ "input": WA_ID, "wa_id": WA_ID }],
            "messages": [{ "id": "wamid.1" }],
        })))
        .expect(1)
        .mount(server)
        .await;
}

fn envelope(message_type: &str, payload: Value) -> Value {
    let mut body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID,
        "type": message_type });
    body[message_type] = payload;
    body
}

async fn send(
    server: &MockServer,
    content: &OutboundContent,
    reply_to: Option<&str>,
) -> Result<SentMessage, SendError> {
    client(server).whatsapp_send(PHONE_NUMBER_ID, TOKEN, WA_ID, content, reply_to).await
}

#[tokio::test]
async fn sends_text_with_bearer_token_and_returns_the_wamid() {
    let server = MockServer::start().await;
    expect_message(&server, envelope("text", json!({ "body": "Hello", "preview_url": false }))).await;
    let sent = send(&server, &OutboundContent::Text { body: "Hello".into(), preview_url: false }, None).await.unwrap();
    assert_eq!(sent, SentMessage { external_id: "wamid.1".into() });
}

#[tokio::test]
async fn a_reply_carries_the_context_message_id_and_a_plus_is_stripped() {
    let server = MockServer::start().await;
    let mut body = envelope("text", json!({ "body": "See https://x.test", "preview_url": true }));
    body["context"] = json!({ "message_id": "wamid.inbound==" });
    expect_message(&server, body).await;
    let content = OutboundContent::Text { body: "See https://x.test".into(), preview_url: true };
    let sent = client(&server)
        .whatsapp_send(PHONE_NUMBER_ID, TOKEN, &format!("+{WA_ID}"), &content, Some("wamid.inbound=="))
        .await
        .unwrap();
    assert_eq!(sent.external_id, "wamid.1");
}

#[tokio::test]
async fn documents_keep_caption_and_filename_audio_drops_them() {
    let server = MockServer::start().await;
    expect_message(
        &server,
        envelope(
            "document",
            json!({ "link": "https://cdn.test/a.pdf", "caption": "Your invoice",
        "filename": "invoice.pdf" }),
        ),
    )
    .await;
    expect_message(&server, envelope("audio", json!({ "link": "https://cdn.test/a.ogg" }))).await;
    let document = OutboundContent::Media {
        kind: MediaKind::Document,
        link: "https://cdn.test/a.pdf".into(),
        caption: Some("Your invoice".into()),
        filename: Some("invoice.pdf".into()),
    };
    send(&server, &document, None).await.unwrap();
    let audio = OutboundContent::Media {
        kind: MediaKind::Audio,
        link: "https://cdn.test/a.ogg".into(),
        caption: Some("ignored".into()),
        filename: Some("ignored.ogg".into()),
    };
    send(&server, &audio, None).await.unwrap();
}

#[tokio::test]
async fn templates_send_body_parameters_in_order() {
    let server = MockServer::start().await;
    expect_message(
        &server,
        envelope(
            "template",
            json!({
                "name": "order_update",
                "language": { "code": "en_US" },
                "components": [{ "type": "body", "parameters": [
                    { "type": "text", "text": "Ada" },
                    { "type": "text", "text": "#42" },
                ] }],
            }),
        ),
    )
    .await;
    expect_message(&server, envelope("template", json!({ "name": "hello_world", "language": { "code": "en" } }))).await;
    let with_parameters = OutboundContent::Template {
        name: "order_update".into(),
        language: "en_US".into(),
        body_parameters: vec!["Ada".into(), "#42".into()],
    };
    send(&server, &with_parameters, None).await.unwrap();
    let without =
        OutboundContent::Template { name: "hello_world".into(), language: "en".into(), body_parameters: vec![] };
    send(&server, &without, None).await.unwrap();
}

#[tokio::test]
async fn quick_replies_become_interactive_reply_buttons() {
    let server = MockServer::start().await;
    expect_message(
        &server,
        envelope(
            "interactive",
            json!({
                "type": "button",
                "body": { "text": "Pick one" },
                "action": { "buttons": [
                    { "type": "reply", "reply": { "id": "yes", "title": "Yes" } },
                    { "type": "reply", "reply": { "id": "no", "title": "No" } },
                ] },
            }),
        ),
    )
    .await;
    let options =
        vec![QuickReply { id: "yes".into(), title: "Yes".into() }, QuickReply { id: "no".into(), title: "No".into() }];
    send(&server, &OutboundContent::QuickReplies { body: "Pick one".into(), options }, None).await.unwrap();
}

#[tokio::test]
async fn invalid_input_fails_permanently_without_a_request() {
    let server = MockServer::start().await;
    let option = |title: &str| QuickReply { id: "id".into(), title: title.into() };
    let four = OutboundContent::QuickReplies { body: "b".into(), options: vec![option("a"); 4] };
    let long_title = OutboundContent::QuickReplies { body: "b".into(), options: vec![option(&"x".repeat(21))] };
    let none = OutboundContent::QuickReplies { body: "b".into(), options: vec![] };
    for content in [four, long_title, none] {
        let error = send(&server, &content, None).await.unwrap_err();
        assert_eq!(error.kind, SendErrorKind::Permanent, "{content:?}");
    }
    let text = OutboundContent::Text { body: "hi".into(), preview_url: false };
    let bad_recipient = client(&server).whatsapp_send(PHONE_NUMBER_ID, TOKEN, "49 151", &text, None).await.unwrap_err();
    assert_eq!(bad_recipient.kind, SendErrorKind::Permanent);
    let bad_number = client(&server).whatsapp_send("../me", TOKEN, WA_ID, &text, None).await.unwrap_err();
    assert_eq!(bad_number.kind, SendErrorKind::Permanent);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn mark_read_sends_the_read_status_with_an_optional_typing_indicator() {
    let server = MockServer::start().await;
    for typing in [false, true] {
        let mut body = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in" });
        if typing {
            body["typing_indicator"] = json!({ "type": "text" });
        }
        Mock::given(method("POST"))
            .and(path(format!("/v23.0/{PHONE_NUMBER_ID}/messages")))
            .and(bearer_token(TOKEN))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "success": true })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let graph = client(&server);
    graph.whatsapp_mark_read(PHONE_NUMBER_ID, TOKEN, "wamid.in", false).await.unwrap();
    graph.whatsapp_mark_read(PHONE_NUMBER_ID, TOKEN, "wamid.in", true).await.unwrap();
}

#[tokio::test]
async fn a_success_without_a_message_id_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "messages": [] })))
        .mount(&server)
        .await;
    let error = send(&server, &OutboundContent::Text { body: "x".into(), preview_url: false }, None).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Permanent);
    assert!(!error.is_retryable());
}

#[test]
fn debug_output_hides_message_text() {
    let content = OutboundContent::Text { body: "my secret diagnosis".into(), preview_url: false };
    let debug = format!("{content:?}");
    assert!(!debug.contains("diagnosis"), "{debug}");
    let replies = OutboundContent::QuickReplies { body: "private".into(), options: vec![] };
    assert!(!format!("{replies:?}").contains("private"));
}
