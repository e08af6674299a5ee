use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const TOKEN: &str = "EAAGsecretTOKEN";

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    json!({ "error": { "message": message, "type": "OAuthException", "code": code, "error_subcode": subcode,
        "fbtrace_id": "AbCdEf", "error_data": { "details": format!("details for {code}") } } })
}

fn text() -> OutboundContent {
    OutboundContent::Text { body: "hi".into(), preview_url: false }
}

/// One WhatsApp send and one Messenger send against a server answering every request with `answer`.
async fn failures(answer: ResponseTemplate) -> (SendError, SendError) {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(answer).mount(&server).await;
    let graph = GraphClient::new(&server.uri(), DEFAULT_API_VERSION).unwrap();
    let whatsapp = graph.whatsapp_send("123", TOKEN, "15550001111", &text(), None).await.unwrap_err();
    let messenger = graph.messenger_send(TOKEN, "456", &text(), None).await.unwrap_err();
    (whatsapp, messenger)
}

#[tokio::test]
async fn graph_errors_are_classified_for_both_products() {
    let cases = [
        (429, graph_error(130_429, None, "Rate limit hit"), SendErrorKind::RateLimited { retry_after: None }),
        (400, graph_error(131_047, None, "Re-engagement message"), SendErrorKind::WindowClosed),
        (400, graph_error(10, Some(2_018_278), "Outside of allowed window"), SendErrorKind::WindowClosed),
        (401, graph_error(190, Some(463), "Error validating access token"), SendErrorKind::Auth),
        (403, graph_error(200, None, "Permissions error"), SendErrorKind::Auth),
        (500, graph_error(1, None, "An unknown error occurred"), SendErrorKind::Transient),
        (400, graph_error(100, None, "Invalid parameter"), SendErrorKind::Permanent),
        (400, graph_error(131_026, None, "Message undeliverable"), SendErrorKind::Permanent),
    ];
    for (status, body, expected) in cases {
        let code = body["error"]["code"].as_i64();
        let (whatsapp, messenger) = failures(ResponseTemplate::new(status).set_body_json(&body)).await;
        for error in [whatsapp, messenger] {
            assert_eq!((error.kind, error.code), (expected, code), "HTTP {status}, {body}");
            assert!(error.message.contains("details for"), "{}", error.message);
        }
    }
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let answer =
        ResponseTemplate::new(429).insert_header("Retry-After", "7").set_body_json(graph_error(4, None, "Too many"));
    let (whatsapp, messenger) = failures(answer).await;
    for error in [whatsapp, messenger] {
        assert_eq!(error.kind, SendErrorKind::RateLimited { retry_after: Some(Duration::from_secs(7)) });
        assert!(error.is_retryable());
    }
    let (plain, _) = failures(ResponseTemplate::new(429)).await;
    assert_eq!((plain.kind, plain.code), (SendErrorKind::RateLimited { retry_after: None }, None));
}

#[tokio::test]
async fn status_decides_when_the_body_is_not_graph_json() {
    let (bad_gateway, _) = failures(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>")).await;
    assert_eq!(bad_gateway.kind, SendErrorKind::Transient);
    assert!(!bad_gateway.message.contains("html"));
    let (unauthorized, _) = failures(ResponseTemplate::new(401)).await;
    assert_eq!(unauthorized.kind, SendErrorKind::Auth);
    let (not_found, _) = failures(ResponseTemplate::new(404).set_body_string("nope")).await;
    assert_eq!(not_found.kind, SendErrorKind::Permanent);
}

#[tokio::test]
async fn the_token_never_appears_in_an_error() {
    let echo = graph_error(190, None, &format!("Malformed access token {TOKEN}"));
    let (whatsapp, messenger) = failures(ResponseTemplate::new(400).set_body_json(echo)).await;
    for error in [whatsapp, messenger] {
        assert!(!error.message.contains(TOKEN), "{}", error.message);
        assert!(!error.to_string().contains(TOKEN));
        assert!(error.message.contains("[redacted]"));
    }
}

#[tokio::test]
async fn connection_failures_are_transient_and_do_not_leak_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let graph = GraphClient::new(&format!("http://{address}"), DEFAULT_API_VERSION).unwrap();
    let error = graph.messenger_send(TOKEN, "456", &text(), None).await.unwrap_err();
    assert_eq!(error.kind, SendErrorKind::Transient);
    assert!(!error.to_string().contains(TOKEN));
}

#[test]
fn client_configuration_is_checked() {
    assert!(GraphClient::new(DEFAULT_BASE_URL, DEFAULT_API_VERSION).is_ok());
    assert!(GraphClient::new("http://127.0.0.1:9/prefix/", "v19.0").is_ok());
    for base in
        ["graph.facebook.com", "ftp://graph.facebook.com", "https://graph.facebook.com?x=1", "https://u:p@h.test"]
    {
        assert!(matches!(GraphClient::new(base, "v23.0"), Err(GraphError::InvalidBaseUrl(_))), "{base}");
    }
    for version in ["23.0", "v", "v23/x", "vX"] {
        assert!(
            matches!(GraphClient::new(DEFAULT_BASE_URL, version), Err(GraphError::InvalidApiVersion(_))),
            "{version}"
        );
    }
}
