use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const PAGE_TOKEN: &str = "EAAGpage+TOKEN/with=chars";
const PSID: &str = "2468013579";

fn client(server: &MockServer) -> GraphClient {
    GraphClient::new(&server.uri(), DEFAULT_API_VERSION).unwrap()
}

/// Expects exactly one Send API POST with `body` and the token in the query string, answering with `m_1`.
async fn expect_send(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path("/v23.0/me/messages"))
        .and(query_param("access_token", PAGE_TOKEN))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "recipient_id": PSID, "message_id": "m_1" })))
        .expect(1)
        .mount(server)
        .await;
}

fn response(message: &Value) -> Value {
    json!({ "recipient": { "id": PSID }, "messaging_type": "RESPONSE", "message": message })
}

async fn send(
    server: &MockServer,
    content: &OutboundContent,
    tag: Option<MessageTag>,
) -> Result<SentMessage, SendError> {
    client(server).messenger_send(PAGE_TOKEN, PSID, content, tag).await
}

#[tokio::test]
async fn sends_text_as_a_response_with_the_token_in_the_query() {
    let server = MockServer::start().await;
    expect_send(&server, response(&json!({ "text": "Hello" }))).await;
    let sent = send(&server, &OutboundContent::Text { body: "Hello".into(), preview_url: true }, None).await.unwrap();
    assert_eq!(sent, SentMessage { external_id: "m_1".into() });
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("authorization").is_none());
}

#[tokio::test]
async fn human_agent_tag_sends_a_message_tag() {
    let server = MockServer::start().await;
    expect_send(
        &server,
        json!({
            "recipient": { "id": PSID },
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": { "text": "An agent here" },
        }),
    )
    .await;
    let content = OutboundContent::Text { body: "An agent here".into(), preview_url: false };
    send(&server, &content, Some(MessageTag::HumanAgent)).await.unwrap();
}

#[tokio::test]
async fn media_becomes_a_reusable_attachment() {
    let server = MockServer::start().await;
    let attachment = |kind: &str, url: &str| {
        response(&json!({ "attachment": { "type": kind, "payload": { "url": url, "is_reusable": true } } }))
    };
    expect_send(&server, attachment("file", "https://cdn.test/a.pdf")).await;
    expect_send(&server, attachment("image", "https://cdn.test/s.webp")).await;
    let document = OutboundContent::Media {
        kind: MediaKind::Document,
        link: "https://cdn.test/a.pdf".into(),
        caption: Some("dropped".into()),
        filename: Some("a.pdf".into()),
    };
    send(&server, &document, None).await.unwrap();
    let sticker = OutboundContent::Media {
        kind: MediaKind::Sticker,
        link: "https://cdn.test/s.webp".into(),
        caption: None,
        filename: None,
    };
    send(&server, &sticker, None).await.unwrap();
}

#[tokio::test]
async fn quick_replies_use_text_quick_replies() {
    let server = MockServer::start().await;
    expect_send(
        &server,
        response(&json!({
            "text": "Size?",
            "quick_replies": [
                { "content_type": "text", "title": "Small", "payload": "S" },
                { "content_type": "text", "title": "Large", "payload": "L" },
            ],
        })),
    )
    .await;
    let options = vec![
        QuickReply { id: "S".into(), title: "Small".into() },
        QuickReply { id: "L".into(), title: "Large".into() },
    ];
    send(&server, &OutboundContent::QuickReplies { body: "Size?".into(), options }, None).await.unwrap();
}

#[tokio::test]
async fn templates_and_oversized_reply_lists_fail_permanently_without_a_request() {
    let server = MockServer::start().await;
    let template = OutboundContent::Template { name: "t".into(), language: "en".into(), body_parameters: vec![] };
    assert_eq!(send(&server, &template, None).await.unwrap_err().kind, SendErrorKind::Permanent);
    let options = vec![QuickReply { id: "x".into(), title: "x".into() }; 14];
    let too_many = OutboundContent::QuickReplies { body: "b".into(), options };
    assert_eq!(send(&server, &too_many, None).await.unwrap_err().kind, SendErrorKind::Permanent);
    let thirteen = OutboundContent::QuickReplies {
        body: "b".into(),
        options: vec![QuickReply { id: "x".into(), title: "x".into() }; 13],
    };
    let text = OutboundContent::Text { body: "b".into(), preview_url: false };
    assert_eq!(client(&server).messenger_send("", PSID, &text, None).await.unwrap_err().kind, SendErrorKind::Permanent);
    assert!(server.received_requests().await.unwrap().is_empty());
    expect_send(
        &server,
        response(&json!({ "text": "b", "quick_replies": vec![
        json!({ "content_type": "text", "title": "x", "payload": "x" }); 13] })),
    )
    .await;
    send(&server, &thirteen, None).await.unwrap();
}

#[tokio::test]
async fn sender_actions_post_the_action_name() {
    let server = MockServer::start().await;
    for action in ["typing_on", "typing_off", "mark_seen"] {
        Mock::given(method("POST"))
            .and(path("/v23.0/me/messages"))
            .and(query_param("access_token", PAGE_TOKEN))
            .and(body_json(json!({ "recipient": { "id": PSID }, "sender_action": action })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "recipient_id": PSID })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let graph = client(&server);
    for action in [SenderAction::TypingOn, SenderAction::TypingOff, SenderAction::MarkSeen] {
        graph.messenger_sender_action(PAGE_TOKEN, PSID, action).await.unwrap();
    }
}
