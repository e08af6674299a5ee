//! Tenant webhooks end to end: the signing secret is shown once and stored sealed, URLs that reach
//! private addresses are refused at creation and at update, event types are checked, and the test endpoint
//! delivers a signed event to a local receiver (allowlisted `127.0.0.1`) that checks the signature with
//! `meta_chat_events::webhooks::verify`, after which the delivery log shows it. Access and other tenants'
//! ids are covered by the route matrix.

use std::time::Duration;

use meta_chat_database::testkit::seed;
use meta_chat_events::webhooks::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use meta_chat_shared::UserRole;
use meta_chat_shared::ids::{TenantId, WebhookId};
use meta_chat_shared::secrets::Keyring;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::api_keys::{Auth, audit_count, create_key, member_token, rows_as_text, seeded_tenant, send};
use crate::helpers::{TestApp, assert_envelope, spawn_app, spawn_app_with};

const PUBLIC_URL: &str = "https://203.0.113.10/hooks/metachat";

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    send(app, Method::POST, "/webhooks", Auth::Bearer(token), Some(body)).await
}

/// Asserts a 400 `VALIDATION_ERROR` whose first field path starts with `field`.
async fn assert_refused(res: reqwest::Response, field: &str) -> Value {
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    let path = body["error"]["details"]["fields"][0]["path"].as_str().unwrap_or_default().to_owned();
    assert!(path.starts_with(field), "expected an error on {field}: {body}");
    body
}

/// A wiremock matcher that accepts only requests signed with `secret`.
struct SignedWith(String);

impl wiremock::Match for SignedWith {
    fn matches(&self, request: &Request) -> bool {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (Some(signature), Some(timestamp)) = (header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER)) else {
            return false;
        };
        let Ok(timestamp) = timestamp.parse::<i64>() else { return false };
        verify(&self.0, &signature, timestamp, &request.body, Duration::from_secs(300))
    }
}

#[tokio::test]
async fn the_secret_is_shown_once_and_stored_sealed() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let body = json!({
        "url": PUBLIC_URL,
        "events": ["message.received", "conversation.closed", "message.received"],
        "description": " Orders system ",
    });
    let res = create(&app, &owner, &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() == 6 + 43, "{secret}");
    assert_eq!(created["url"], PUBLIC_URL);
    assert_eq!(created["events"], json!(["message.received", "conversation.closed"]), "deduplicated");
    assert_eq!((created["enabled"].clone(), created["description"].clone()), (json!(true), json!("Orders system")));
    assert!(created["id"].is_string() && created["createdAt"].is_string(), "{created}");
    let id = created["id"].as_str().unwrap();

    let listed = send(&app, Method::GET, "/webhooks", Auth::Bearer(&owner), None).await.text().await.unwrap();
    let one = send(&app, Method::GET, &format!("/webhooks/{id}"), Auth::Bearer(&owner), None).await;
    assert_eq!(one.status(), 200);
    let one = one.text().await.unwrap();
    for text in [&listed, &one] {
        assert!(!text.contains(&secret[6..]) && !text.contains("\"secret\""), "never shown again: {text}");
    }
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["data"][0]["id"], id);
    assert_eq!(listed["data"][0]["consecutiveFailures"], 0);
    assert!(listed["nextCursor"].is_null());

    let stored = rows_as_text(&app, "tenant_webhooks").await;
    assert!(!stored.contains(&secret[6..]), "the secret is not stored in plain text: {stored}");
    let mut conn = seed::connect(&app.db.owner_url()).await;
    let sealed = seed::texts(&mut conn, "SELECT secret_enc AS value FROM tenant_webhooks").await;
    assert!(sealed[0].starts_with("v1.dev."), "{sealed:?}");
    assert_eq!(audit_count(&app, "webhook.created").await, 1);
    assert!(!rows_as_text(&app, "audit_log").await.contains(&secret[6..]));
}

#[tokio::test]
async fn private_destinations_are_refused_at_creation_and_at_update() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    for url in [
        "http://10.0.0.1/x",
        "http://169.254.169.254/",
        "http://localhost:1/",
        "http://[::1]/",
        "http://192.168.0.10:8080/hook",
    ] {
        let res = create(&app, &owner, &json!({ "url": url, "events": ["message.received"] })).await;
        let body = assert_refused(res, "url").await;
        let message = body["error"]["details"]["fields"][0]["message"].as_str().unwrap();
        assert!(message.contains("address"), "{url}: {message}");
    }
    for url in [
        "ftp://203.0.113.10/",
        "https://user:pw@203.0.113.10/",
        "not a url",
        &format!("{PUBLIC_URL}/{}", "a".repeat(2048)),
    ] {
        let res = create(&app, &owner, &json!({ "url": url, "events": ["message.received"] })).await;
        assert_refused(res, "url").await;
    }
    assert!(rows_as_text(&app, "tenant_webhooks").await.is_empty());

    let created: Value =
        create(&app, &owner, &json!({ "url": PUBLIC_URL, "events": ["message.received"] })).await.json().await.unwrap();
    let path = format!("/webhooks/{}", created["id"].as_str().unwrap());
    let res =
        send(&app, Method::PATCH, &path, Auth::Bearer(&owner), Some(&json!({ "url": "http://10.0.0.1/x" }))).await;
    assert_refused(res, "url").await;
    let current: Value = send(&app, Method::GET, &path, Auth::Bearer(&owner), None).await.json().await.unwrap();
    assert_eq!(current["url"], PUBLIC_URL, "a refused update changes nothing");
}

#[tokio::test]
async fn a_localhost_receiver_is_accepted_only_when_the_operator_allowlists_it() {
    let app = spawn_app_with(|config, _| config.webhooks.allow_private_hosts = vec!["127.0.0.1".into()]).await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let res = create(&app, &owner, &json!({ "url": "http://127.0.0.1:9/hook", "events": ["message.received"] })).await;
    assert_eq!(res.status(), 201);
    let res = create(&app, &owner, &json!({ "url": "http://10.0.0.1/hook", "events": ["message.received"] })).await;
    assert_refused(res, "url").await;
}

#[tokio::test]
async fn unknown_or_missing_event_types_are_refused_naming_events() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let res =
        create(&app, &owner, &json!({ "url": PUBLIC_URL, "events": ["message.received", "message.exploded"] })).await;
    let body = assert_refused(res, "events").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "events[1]");
    assert_refused(create(&app, &owner, &json!({ "url": PUBLIC_URL, "events": [] })).await, "events").await;
    let internal = json!({ "url": PUBLIC_URL, "events": ["message.queued"] });
    assert_refused(create(&app, &owner, &internal).await, "events[0]").await;
    let created: Value =
        create(&app, &owner, &json!({ "url": PUBLIC_URL, "events": ["message.received"] })).await.json().await.unwrap();
    let path = format!("/webhooks/{}", created["id"].as_str().unwrap());
    let res = send(&app, Method::PATCH, &path, Auth::Bearer(&owner), Some(&json!({ "events": ["nope"] }))).await;
    assert_refused(res, "events").await;
}

#[tokio::test]
async fn the_test_endpoint_delivers_a_signed_event_and_the_delivery_log_shows_it() {
    let app = spawn_app_with(|config, _| config.webhooks.allow_private_hosts = vec!["127.0.0.1".into()]).await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let receiver = MockServer::start().await;
    let url = format!("{}/hook", receiver.uri());
    let body = json!({ "url": url, "events": ["document.ready", "message.received"] });
    let created: Value = create(&app, &owner, &body).await.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    Mock::given(SignedWith(secret)).respond_with(ResponseTemplate::new(200)).expect(1).mount(&receiver).await;
    let id = created["id"].as_str().unwrap();

    let res = send(&app, Method::POST, &format!("/webhooks/{id}/test"), Auth::Bearer(&owner), None).await;
    assert_eq!(res.status(), 200);
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["delivered"], true, "the receiver accepted the signature: {sent}");
    assert_eq!((sent["statusCode"].clone(), sent["event"].clone()), (json!(200), json!("document.ready")));
    assert!(sent["error"].is_null());
    let request = &receiver.received_requests().await.unwrap()[0];
    let delivered: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(delivered["data"], json!({ "test": true }));
    assert_eq!(delivered["tenantId"], acme.tenant.to_string());
    assert_eq!(delivered["id"], sent["eventId"]);

    let res = send(&app, Method::GET, &format!("/webhooks/{id}/deliveries"), Auth::Bearer(&owner), None).await;
    assert_eq!(res.status(), 200);
    let log: Value = res.json().await.unwrap();
    let entry = &log["data"][0];
    assert_eq!(entry["id"], sent["deliveryId"]);
    assert_eq!((entry["status"].clone(), entry["attempts"].clone()), (json!("delivered"), json!(1)));
    assert_eq!((entry["lastStatusCode"].clone(), entry["event"].clone()), (json!(200), json!("document.ready")));
    assert!(entry["deliveredAt"].is_string() && log["nextCursor"].is_null(), "{log}");
}

#[tokio::test]
async fn a_refused_test_send_reports_why_and_reaches_nothing() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let receiver = MockServer::start().await;
    Mock::given(wiremock::matchers::any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&receiver).await;
    // written straight to the table (the API refuses it), as if the allowlist had changed since
    let id = WebhookId::new();
    let keyring = Keyring::from_config(&app.config.secrets).unwrap();
    let secret = webhooks::generate_secret().unwrap();
    let sealed = webhooks::seal_secret(&keyring, TenantId::from_uuid(acme.tenant), id, &secret).unwrap();
    let mut conn = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut conn,
        &format!(
            "INSERT INTO tenant_webhooks (tenant_id, id, url, events, secret_enc) VALUES \
             ('{}', '{id}', '{}/hook', ARRAY['message.received'], '{sealed}')",
            acme.tenant,
            receiver.uri()
        ),
    )
    .await;
    let res = send(&app, Method::POST, &format!("/webhooks/{id}/test"), Auth::Bearer(&owner), None).await;
    assert_eq!(res.status(), 200);
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["delivered"], false);
    assert!(sent["statusCode"].is_null());
    let error = sent["error"].as_str().unwrap();
    assert!(error.starts_with("not sent: destination refused") && error.contains("loopback"), "{sent}");
    let log = send(&app, Method::GET, &format!("/webhooks/{id}/deliveries"), Auth::Bearer(&owner), None).await;
    let log: Value = log.json().await.unwrap();
    assert_eq!(
        (log["data"][0]["status"].clone(), log["data"][0]["lastError"].clone()),
        (json!("failed"), json!(error))
    );
}

#[tokio::test]
async fn changes_re_enabling_deletion_and_admin_keys() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let created: Value =
        create(&app, &owner, &json!({ "url": PUBLIC_URL, "events": ["message.received"], "description": "x" }))
            .await
            .json()
            .await
            .unwrap();
    let path = format!("/webhooks/{}", created["id"].as_str().unwrap());
    let mut conn = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut conn,
        "UPDATE tenant_webhooks SET enabled = false, consecutive_failures = 20, disabled_reason = 'disabled after 20'",
    )
    .await;
    let changes = json!({ "enabled": true, "description": null, "events": ["document.failed"] });
    let res = send(&app, Method::PATCH, &path, Auth::Bearer(&owner), Some(&changes)).await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!((updated["enabled"].clone(), updated["consecutiveFailures"].clone()), (json!(true), json!(0)));
    assert!(updated["disabledReason"].is_null() && updated["description"].is_null(), "{updated}");
    assert_eq!(updated["events"], json!(["document.failed"]));
    assert_eq!(audit_count(&app, "webhook.updated").await, 1);

    // agents and keys without `admin` are refused; an `admin` key manages webhooks
    let agent = member_token(&app, &acme, UserRole::Agent).await;
    assert_envelope(send(&app, Method::GET, "/webhooks", Auth::Bearer(&agent), None).await, 403, "FORBIDDEN").await;
    let chat = create_key(&app, &owner, &["chat"]).await["key"].as_str().unwrap().to_owned();
    assert_envelope(send(&app, Method::GET, "/webhooks", Auth::Header(&chat), None).await, 403, "FORBIDDEN").await;
    let admin = create_key(&app, &owner, &["admin"]).await["key"].as_str().unwrap().to_owned();
    assert_eq!(send(&app, Method::GET, &path, Auth::Header(&admin), None).await.status(), 200);

    assert_eq!(send(&app, Method::DELETE, &path, Auth::Header(&admin), None).await.status(), 204);
    assert_envelope(send(&app, Method::GET, &path, Auth::Bearer(&owner), None).await, 404, "NOT_FOUND").await;
    assert_envelope(send(&app, Method::DELETE, &path, Auth::Bearer(&owner), None).await, 404, "NOT_FOUND").await;
    let deliveries = format!("{path}/deliveries");
    assert_envelope(send(&app, Method::GET, &deliveries, Auth::Bearer(&owner), None).await, 404, "NOT_FOUND").await;
    assert_eq!(audit_count(&app, "webhook.deleted").await, 1);
}
