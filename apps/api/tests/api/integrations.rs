//! Meta webhooks end to end against the real server and database: signature checks before anything is
//! stored, one stored message per provider message however often (and however concurrently) it arrives,
//! delivery statuses applied monotonically, Messenger echoes ignored, routing for the platform app, and the
//! per-channel rate limit. Publishing is checked through the outbox (the only way events leave the API).

use meta_chat_channels::sign_meta_body;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_keys::seeded_tenant;
use crate::helpers::{TestApp, assert_envelope, spawn_app, spawn_app_with};
use crate::tenant::{rows, send};

pub const APP_SECRET: &str = "d41d8cd98f00b204e9800998ecf8427e";
pub const VERIFY_TOKEN: &str = "verify-me-please-42";
const PHONE_NUMBER_ID: &str = "106540352242922";
const PAGE_ID: &str = "112233445566778";

pub const TEXT: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/text.json");
pub const BATCH: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/batch.json");
pub const STATUSES: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/statuses.json");
pub const UNSUPPORTED: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/unsupported.json");
const MESSENGER_TEXT: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/text_and_attachment.json");
const MESSENGER_ECHO: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/echo_and_postback.json");
const MESSENGER_RECEIPTS: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/delivery_read.json");

/// Creates a WhatsApp channel for the fixtures' number as `owner` and returns its id.
pub async fn whatsapp_channel(app: &TestApp, owner: &str) -> String {
    let body = json!({ "type": "whatsapp", "name": "Support", "config": {
        "phoneNumberId": PHONE_NUMBER_ID, "businessAccountId": "102290129340398",
        "accessToken": "EAAGwhatsappAccessToken0123456789", "appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN } });
    let res = send(app, Method::POST, "/channels", owner, Some(body)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

pub async fn messenger_channel(app: &TestApp, owner: &str) -> String {
    let body = json!({ "type": "messenger", "config": {
        "pageId": PAGE_ID, "pageAccessToken": "EAAPmessengerPageToken9876543210",
        "appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN } });
    let res = send(app, Method::POST, "/channels", owner, Some(body)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// POSTs `body` to `path` signed with `secret` (`None`: no signature header).
pub async fn deliver(app: &TestApp, path: &str, body: &[u8], secret: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url(&format!("/api/v1{path}")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", sign_meta_body(secret.as_bytes(), body));
    }
    request.send().await.unwrap()
}

async fn count(app: &TestApp, sql: &str) -> usize {
    rows(app, &format!("SELECT count(*)::text AS value FROM ({sql}) q")).await[0].parse().unwrap()
}

async fn stored_messages(app: &TestApp) -> usize {
    count(app, "SELECT 1 FROM messages WHERE direction = 'inbound'").await
}

async fn events(app: &TestApp, event_type: &str) -> usize {
    count(app, &format!("SELECT 1 FROM outbox_events WHERE event_type = '{event_type}'")).await
}

#[tokio::test]
async fn a_signed_text_is_stored_with_its_contact_conversation_and_events() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let res = deliver(&app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "received": 1, "duplicates": 0, "statuses": 0 }));

    let stored = rows(
        &app,
        &format!(
            "SELECT concat_ws('|', m.type, m.text, m.status, ct.phone, ct.display_name, cv.status) AS value \
             FROM messages m JOIN conversations cv ON cv.id = m.conversation_id \
             JOIN contacts ct ON ct.id = cv.contact_id WHERE cv.channel_id = '{channel}'"
        ),
    )
    .await;
    assert_eq!(
        stored,
        vec!["text|Does the premium plan include international shipping?|received|+16505551234|Sheena Nelson|active"]
    );
    assert_eq!(events(&app, "message.received").await, 1);
    assert_eq!(events(&app, "conversation.created").await, 1);
    let data =
        rows(&app, "SELECT payload::text AS value FROM outbox_events WHERE event_type = 'message.received'").await;
    assert!(!data[0].contains("premium plan"), "events carry ids, not message text: {}", data[0]);
}

#[tokio::test]
async fn the_same_delivery_three_times_and_concurrently_is_stored_once() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    let concurrent = futures_util::future::join_all((0..3).map(|_| deliver(&app, &path, TEXT, Some(APP_SECRET)))).await;
    assert!(concurrent.iter().all(|res| res.status() == 200));
    for _ in 0..3 {
        assert_eq!(deliver(&app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    }
    assert_eq!(stored_messages(&app).await, 1);
    assert_eq!(events(&app, "message.received").await, 1);
    assert_eq!(count(&app, "SELECT 1 FROM inbound_receipts").await, 1);
}

#[tokio::test]
async fn bad_missing_or_foreign_signatures_are_401_and_store_nothing() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    let other_bytes = sign_meta_body(APP_SECRET.as_bytes(), BATCH);
    let cases = [
        deliver(&app, &path, TEXT, None).await,
        deliver(&app, &path, TEXT, Some("not-the-app-secret")).await,
        app.http
            .post(app.url(&format!("/api/v1{path}")))
            .header("x-hub-signature-256", other_bytes)
            .body(TEXT.to_vec())
            .send()
            .await
            .unwrap(),
        app.http
            .post(app.url(&format!("/api/v1{path}")))
            .header("x-hub-signature-256", "sha256=zz")
            .body(TEXT.to_vec())
            .send()
            .await
            .unwrap(),
    ];
    for res in cases {
        assert_envelope(res, 401, "INVALID_SIGNATURE").await;
    }
    assert_eq!(count(&app, "SELECT 1 FROM messages WHERE direction = 'inbound' AND external_id IS NOT NULL").await, 0);
    assert_eq!(count(&app, "SELECT 1 FROM inbound_receipts").await, 0);
    assert_eq!(count(&app, "SELECT 1 FROM outbox_events").await, 0, "nothing to publish");
}

#[tokio::test]
async fn malformed_bodies_with_a_valid_signature_are_400_and_unknown_channels_404() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    assert_envelope(deliver(&app, &path, b"{not json", Some(APP_SECRET)).await, 400, "INVALID_JSON").await;
    let page = br#"{"object":"page","entry":[]}"#;
    let body = assert_envelope(deliver(&app, &path, page, Some(APP_SECRET)).await, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "object");
    assert_eq!(count(&app, "SELECT 1 FROM outbox_events").await, 0);

    let unknown = uuid::Uuid::now_v7();
    for path in [
        format!("/integrations/whatsapp/{unknown}"),
        "/integrations/whatsapp/not-a-uuid".to_owned(),
        format!("/integrations/messenger/{channel}"), // a WhatsApp channel on the Messenger route
    ] {
        assert_envelope(deliver(&app, &path, TEXT, Some(APP_SECRET)).await, 404, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn the_subscription_handshake_echoes_the_challenge_only_for_the_right_token() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let url = |token: &str| {
        app.url(&format!(
            "/api/v1/integrations/whatsapp/{channel}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        ))
    };
    let res = app.http.get(url(VERIFY_TOKEN)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "1158201444");
    assert_envelope(app.http.get(url("wrong-token")).send().await.unwrap(), 403, "FORBIDDEN").await;
}

#[tokio::test]
async fn every_message_of_a_batch_is_stored_and_unsupported_types_are_kept() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    let res = deliver(&app, &path, BATCH, Some(APP_SECRET)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["received"], 3);
    assert_eq!(deliver(&app, &path, UNSUPPORTED, Some(APP_SECRET)).await.status(), 200);
    let types =
        rows(&app, "SELECT type AS value FROM messages WHERE external_id LIKE 'wamid.%' ORDER BY external_id").await;
    assert_eq!(types, vec!["text", "image", "location", "unsupported"]);
    assert_eq!(count(&app, &format!("SELECT 1 FROM contacts WHERE channel_id = '{channel}'")).await, 3);
    assert_eq!(count(&app, &format!("SELECT 1 FROM conversations WHERE channel_id = '{channel}'")).await, 3);
}

/// Inserts an outbound message with provider id `external_id` into a fresh conversation of `channel`.
async fn outbound(app: &TestApp, channel: &str, external_id: &str, sent: bool) {
    let mut owner = meta_chat_database::testkit::seed::connect(&app.db.owner_url()).await;
    let sent_at = if sent { "now() - interval '1 day'" } else { "NULL" };
    meta_chat_database::testkit::seed::exec(
        &mut owner,
        &format!(
            "WITH ch AS (SELECT tenant_id, id FROM channels WHERE id = '{channel}'),
                  ct AS (INSERT INTO contacts (tenant_id, id, channel_id, external_id)
                         SELECT tenant_id, gen_random_uuid(), id, '{external_id}-contact' FROM ch RETURNING tenant_id, id, channel_id),
                  cv AS (INSERT INTO conversations (tenant_id, id, channel_id, contact_id)
                         SELECT tenant_id, gen_random_uuid(), channel_id, id FROM ct RETURNING tenant_id, id)
             INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status, external_id,
                                   sent_at, created_at)
             SELECT tenant_id, gen_random_uuid(), id, 'outbound', 'assistant', 'text', 'hi',
                    CASE WHEN {sent} THEN 'sent' ELSE 'queued' END, '{external_id}', {sent_at}, now() - interval '1 day' FROM cv"
        ),
    )
    .await;
}

async fn status_of(app: &TestApp, external_id: &str) -> String {
    rows(app, &format!("SELECT concat_ws('|', status, error_code, error_message) AS value FROM messages WHERE external_id = '{external_id}'"))
        .await
        .join(",")
}

/// statuses.json split into one delivery per status, so they can be sent in any order.
fn single_statuses() -> Vec<Vec<u8>> {
    let whole: Value = serde_json::from_slice(STATUSES).unwrap();
    let statuses = whole["entry"][0]["changes"][0]["value"]["statuses"].as_array().unwrap().clone();
    statuses
        .into_iter()
        .map(|status| {
            let mut one = whole.clone();
            one["entry"][0]["changes"][0]["value"]["statuses"] = json!([status]);
            serde_json::to_vec(&one).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn statuses_in_any_order_end_read_and_131047_fails_the_message_with_its_reason() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    outbound(&app, &channel, "wamid.OUTBOUND0001", false).await;
    outbound(&app, &channel, "wamid.OUTBOUND0002", false).await;
    let res = deliver(&app, &path, STATUSES, Some(APP_SECRET)).await;
    // read arrives first (queued → read); the late sent and delivered change nothing; 0002 fails
    assert_eq!(res.json::<Value>().await.unwrap()["statuses"], 2);
    assert_eq!(status_of(&app, "wamid.OUTBOUND0001").await, "read");
    let failed = status_of(&app, "wamid.OUTBOUND0002").await;
    assert!(failed.starts_with("failed|131047|Re-engagement message"), "{failed}");
    assert_eq!(events(&app, "message.failed").await, 1);

    // every order of sent/delivered/read, and duplicates, end in `read`
    let singles = single_statuses();
    let (read, sent, delivered) = (&singles[0], &singles[1], &singles[2]);
    let orders: [[&Vec<u8>; 4]; 6] = [
        [sent, delivered, read, read],
        [sent, read, delivered, sent],
        [delivered, sent, read, delivered],
        [delivered, read, sent, sent],
        [read, sent, delivered, read],
        [read, delivered, sent, delivered],
    ];
    for (i, order) in orders.iter().enumerate() {
        let id = format!("wamid.ORDER{i}");
        outbound(&app, &channel, &id, false).await;
        for body in order {
            let text = String::from_utf8((*body).clone()).unwrap().replace("wamid.OUTBOUND0001", &id);
            assert_eq!(deliver(&app, &path, text.as_bytes(), Some(APP_SECRET)).await.status(), 200);
        }
        assert_eq!(status_of(&app, &id).await, "read", "order {i}");
    }
}

#[tokio::test]
async fn messenger_echoes_are_ignored_postbacks_stored_and_receipts_applied() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = messenger_channel(&app, &owner).await;
    let path = format!("/integrations/messenger/{channel}");
    let res = deliver(&app, &path, MESSENGER_ECHO, Some(APP_SECRET)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["received"], 1, "the echo is not stored");
    let postback =
        rows(&app, "SELECT concat_ws('|', type, text, payload->>'action') AS value FROM messages WHERE external_id = 'm_Postback0001'")
            .await;
    assert_eq!(postback, vec!["button|Talk to a person|TALK_TO_AGENT"]);
    assert_eq!(count(&app, "SELECT 1 FROM messages WHERE external_id = 'm_EchoEcho0001'").await, 0);

    let res = deliver(&app, &path, MESSENGER_TEXT, Some(APP_SECRET)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["received"], 1);

    // an outbound message sent to the PSID before the watermarks
    let mut owner_conn = meta_chat_database::testkit::seed::connect(&app.db.owner_url()).await;
    meta_chat_database::testkit::seed::exec(
        &mut owner_conn,
        "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status, external_id, sent_at, created_at)
         SELECT cv.tenant_id, gen_random_uuid(), cv.id, 'outbound', 'assistant', 'text', 'hi', 'sent', 'm_Outbound0001',
                to_timestamp(1749417000), to_timestamp(1749417000)
         FROM conversations cv JOIN contacts ct ON ct.id = cv.contact_id WHERE ct.external_id = '6543219876543210'",
    )
    .await;
    let res = deliver(&app, &path, MESSENGER_RECEIPTS, Some(APP_SECRET)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(status_of(&app, "m_Outbound0001").await, "read");
    assert_eq!(events(&app, "message.delivered").await, 1);
    assert_eq!(events(&app, "message.read").await, 1);
}

#[tokio::test]
async fn the_platform_app_routes_by_phone_number_id_and_is_404_unconfigured() {
    let unconfigured = spawn_app().await;
    let res = deliver(&unconfigured, "/integrations/whatsapp", TEXT, Some(APP_SECRET)).await;
    assert_envelope(res, 404, "NOT_FOUND").await;

    let platform_secret = "platform-app-secret-0123456789";
    let app = spawn_app_with(|config, _| {
        config.meta.app_secret = meta_chat_shared::config::Secret::new(platform_secret);
        config.meta.verify_token = meta_chat_shared::config::Secret::new("platform-verify-token");
    })
    .await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    assert_envelope(deliver(&app, "/integrations/whatsapp", TEXT, Some(APP_SECRET)).await, 401, "INVALID_SIGNATURE")
        .await;
    let res = deliver(&app, "/integrations/whatsapp", TEXT, Some(platform_secret)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["received"], 1);
    assert_eq!(count(&app, &format!("SELECT 1 FROM conversations WHERE channel_id = '{channel}'")).await, 1);
    let elsewhere = String::from_utf8(TEXT.to_vec()).unwrap().replace(PHONE_NUMBER_ID, "999999999");
    let res = deliver(&app, "/integrations/whatsapp", elsewhere.as_bytes(), Some(platform_secret)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["received"], 0, "an unknown number is skipped");
    let ok = app
        .http
        .get(app.url(
            "/api/v1/integrations/whatsapp?hub.mode=subscribe&hub.verify_token=platform-verify-token&hub.challenge=42",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), "42");
}

#[tokio::test]
async fn deliveries_are_rate_limited_per_channel() {
    let app = spawn_app_with(|config, _| config.rate_limit.webhook_per_channel_per_minute = 2).await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    for _ in 0..2 {
        assert_eq!(deliver(&app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    }
    let res = deliver(&app, &path, TEXT, Some(APP_SECRET)).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_envelope(res, 429, "RATE_LIMITED").await;
}
