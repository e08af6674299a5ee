//! Tenant webhook delivery against a per-test PostgreSQL database and local `wiremock` receivers: fan-out
//! idempotence, retries with a stable delivery id, auto-disable with its audit entry, the SSRF guard at
//! delivery time, signatures, truncated answers, and concurrent workers. Time is driven by moving
//! `next_attempt_at` through the owner connection, never by sleeping.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use meta_chat_database::DbPool;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{Seeded, connect, exec, tenant_with_conversation, texts};
use meta_chat_database::webhooks::{self as store, NewWebhook};
use meta_chat_events::webhooks::{
    self, Allowlist, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSettings,
};
use meta_chat_events::{Envelope, EventType};
use meta_chat_shared::Secret;
use meta_chat_shared::config::Config;
use meta_chat_shared::ids::{TenantId, WebhookId};
use meta_chat_shared::secrets::Keyring;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct World {
    db: TestDb,
    app: DbPool,
    owner: DbPool,
    keyring: Keyring,
    acme: Seeded,
    globex: Seeded,
}

impl World {
    async fn new() -> Self {
        let db = TestDb::new();
        let mut conn = connect(&db.owner_url()).await;
        let acme = tenant_with_conversation(&mut conn, "acme").await;
        let globex = tenant_with_conversation(&mut conn, "globex").await;
        let keyring = Keyring::from_config(&Config::default().secrets).unwrap();
        Self { app: db.app_pool(), owner: db.owner_pool(), db, keyring, acme, globex }
    }

    /// Adds a webhook through the database API (the row the API would write) and returns it with its secret.
    async fn webhook(&self, seeded: &Seeded, url: &str, events: &[&str], enabled: bool) -> (WebhookId, Secret) {
        let tenant = TenantId::from_uuid(seeded.tenant);
        let id = WebhookId::new();
        let secret = webhooks::generate_secret().unwrap();
        let sealed = webhooks::seal_secret(&self.keyring, tenant, id, &secret).unwrap();
        let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        let url = url.to_owned();
        let mut conn = self.app.get().await.unwrap();
        in_tenant_tx(&mut conn, tenant, move |conn| {
            Box::pin(async move {
                let new =
                    NewWebhook { id, url: &url, description: None, events: &events, secret_enc: &sealed, enabled };
                store::insert(conn, tenant, &new).await
            })
        })
        .await
        .unwrap();
        (id, secret)
    }

    async fn sql(&self, sql: &str) -> Vec<String> {
        texts(&mut connect(&self.db.owner_url()).await, sql).await
    }

    /// Makes every pending delivery due now.
    async fn make_due(&self) {
        self.make_due_where("true").await;
    }

    /// Makes the pending deliveries matching `condition` due now.
    async fn make_due_where(&self, condition: &str) {
        let sql =
            format!("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending' AND {condition}");
        exec(&mut connect(&self.db.owner_url()).await, &sql).await;
    }

    async fn deliver(&self, settings: &WebhookSettings) -> usize {
        webhooks::deliver_due(&self.owner, &self.app, &self.keyring, settings, 50).await.unwrap()
    }
}

fn event(seeded: &Seeded, event_type: EventType) -> Envelope {
    Envelope::new(
        event_type,
        TenantId::from_uuid(seeded.tenant),
        None,
        json!({ "conversationId": seeded.conversation }),
    )
}

/// Delivery settings allowing the local receivers (`127.0.0.1`).
fn local_settings() -> WebhookSettings {
    WebhookSettings {
        allowlist: Allowlist::new(["127.0.0.1"]),
        timeout: Duration::from_secs(5),
        retry_window: Duration::from_secs(86_400),
        disable_after: 20,
    }
}

async fn receiver(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(status).set_body_string(body)).mount(&server).await;
    server
}

fn header(request: &wiremock::Request, name: &str) -> String {
    request.headers.get(name).unwrap_or_else(|| panic!("{name} missing")).to_str().unwrap().to_owned()
}

#[tokio::test]
async fn fan_out_creates_one_delivery_per_subscribed_webhook_even_when_the_event_comes_twice() {
    let w = World::new().await;
    let url = "https://203.0.113.10/hook";
    let (a, _) = w.webhook(&w.acme, url, &["message.received"], true).await;
    let (b, _) = w.webhook(&w.acme, url, &["conversation.closed", "message.received"], true).await;
    w.webhook(&w.acme, url, &["conversation.closed"], true).await;
    w.webhook(&w.acme, url, &["message.received"], false).await;
    w.webhook(&w.globex, url, &["message.received"], true).await;

    let received = event(&w.acme, EventType::MessageReceived);
    assert_eq!(webhooks::fan_out(&w.app, &received).await.unwrap(), 2);
    assert_eq!(webhooks::fan_out(&w.app, &received).await.unwrap(), 0, "a redelivered event creates nothing");
    let rows = w
        .sql("SELECT webhook_id::text || ' ' || event_id::text || ' ' || status AS value FROM webhook_deliveries")
        .await;
    let mut expected = vec![format!("{a} {} pending", received.id), format!("{b} {} pending", received.id)];
    expected.sort();
    let mut rows = rows;
    rows.sort();
    assert_eq!(rows, expected);
    let payload = w.sql("SELECT payload::text AS value FROM webhook_deliveries LIMIT 1").await;
    let payload: Value = serde_json::from_str(&payload[0]).unwrap();
    assert_eq!(payload, webhooks::payload(&received));
    assert_eq!(webhooks::fan_out(&w.app, &event(&w.acme, EventType::DocumentReady)).await.unwrap(), 0);
    let internal = event(&w.acme, EventType::MessageQueued);
    assert_eq!(webhooks::fan_out(&w.app, &internal).await.unwrap(), 0, "internal events never reach tenants");
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_with_the_same_delivery_id_and_valid_signatures() {
    let w = World::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).up_to_n_times(2).mount(&server).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let (hook, secret) = w.webhook(&w.acme, &format!("{}/hook", server.uri()), &["message.received"], true).await;
    let received = event(&w.acme, EventType::MessageReceived);
    webhooks::fan_out(&w.app, &received).await.unwrap();
    let settings = local_settings();

    assert_eq!(w.deliver(&settings).await, 1);
    assert_eq!(w.deliver(&settings).await, 0, "not due again before its backoff");
    let state = "SELECT status || ' ' || attempts || ' ' || coalesce(last_status_code::text, '-') || ' ' || \
                 (next_attempt_at > now() + interval '5 seconds')::text AS value FROM webhook_deliveries";
    assert_eq!(w.sql(state).await, ["pending 1 500 true"]);
    w.make_due().await;
    assert_eq!(w.deliver(&settings).await, 1);
    w.make_due().await;
    assert_eq!(w.deliver(&settings).await, 1);
    let done = "SELECT status || ' ' || attempts || ' ' || last_status_code || ' ' || \
                (delivered_at IS NOT NULL)::text AS value FROM webhook_deliveries";
    assert_eq!(w.sql(done).await, ["delivered 3 204 true"]);
    let failures = format!("SELECT consecutive_failures::text AS value FROM tenant_webhooks WHERE id = '{hook}'");
    assert_eq!(w.sql(&failures).await, ["0"], "a delivery resets the failure count");

    let delivery_id = w.sql("SELECT id::text AS value FROM webhook_deliveries").await.remove(0);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(header(request, DELIVERY_HEADER), delivery_id, "the same delivery id on every retry");
        assert_eq!(header(request, EVENT_HEADER), "message.received");
        assert_eq!(header(request, "content-type"), "application/json");
        let timestamp: i64 = header(request, TIMESTAMP_HEADER).parse().unwrap();
        let signature = header(request, SIGNATURE_HEADER);
        assert!(webhooks::verify(secret.expose(), &signature, timestamp, &request.body, Duration::from_secs(300)));
        assert!(!webhooks::verify(secret.expose(), &signature, timestamp + 1, &request.body, Duration::from_secs(300)));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["id"], received.id.to_string());
        assert_eq!(body["event"], "message.received");
        assert_eq!(body["tenantId"], w.acme.tenant.to_string());
        assert_eq!(body["data"]["conversationId"], w.acme.conversation.to_string());
        assert!(body["createdAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{body}");
    }
}

#[tokio::test]
async fn consecutive_failures_disable_the_webhook_and_write_an_audit_entry() {
    let w = World::new().await;
    let server = receiver(503, "down").await;
    let (hook, _) = w.webhook(&w.acme, &format!("{}/hook", server.uri()), &["message.received"], true).await;
    let settings = WebhookSettings { disable_after: 3, ..local_settings() };
    let (first, second) = (event(&w.acme, EventType::MessageReceived), event(&w.acme, EventType::MessageReceived));
    webhooks::fan_out(&w.app, &first).await.unwrap();
    webhooks::fan_out(&w.app, &second).await.unwrap();
    // failures count per attempt, across deliveries
    assert_eq!(w.deliver(&settings).await, 2);
    let webhook = format!(
        "SELECT enabled || ' ' || consecutive_failures || ' ' || coalesce(disabled_reason, '-') AS value \
         FROM tenant_webhooks WHERE id = '{hook}'"
    );
    assert_eq!(w.sql(&webhook).await, ["true 2 -"]);
    let audit = "SELECT actor_type || ' ' || action || ' ' || target_type || ' ' || target_id || ' ' || tenant_id \
                 AS value FROM audit_log WHERE action = 'webhook.disabled'";
    assert!(w.sql(audit).await.is_empty());

    w.make_due_where(&format!("event_id = '{}'", first.id)).await;
    assert_eq!(w.deliver(&settings).await, 1);
    assert_eq!(w.sql(&webhook).await, ["false 3 disabled after 3 consecutive failed delivery attempts"]);
    assert_eq!(w.sql(audit).await, [format!("system webhook.disabled webhook {hook} {}", w.acme.tenant)]);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // what is still pending is given up without a request; new events are not offered
    w.make_due().await;
    assert_eq!(w.deliver(&settings).await, 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 3, "nothing is sent to a disabled webhook");
    let statuses =
        w.sql("SELECT status || ': ' || last_error AS value FROM webhook_deliveries ORDER BY event_id").await;
    assert_eq!(statuses, ["failed: not delivered: the webhook is disabled"; 2]);
    assert_eq!(webhooks::fan_out(&w.app, &event(&w.acme, EventType::MessageReceived)).await.unwrap(), 0);
    assert_eq!(w.sql(&webhook).await, ["false 3 disabled after 3 consecutive failed delivery attempts"]);
    assert_eq!(w.sql(audit).await.len(), 1, "disabled once, audited once");
}

#[tokio::test]
async fn a_private_destination_is_refused_at_delivery_and_the_receiver_sees_nothing() {
    let w = World::new().await;
    let server = receiver(200, "ok").await;
    // written straight to the table: the API would have refused it, but DNS and configuration change
    w.webhook(&w.acme, &format!("{}/hook", server.uri()), &["message.received"], true).await;
    webhooks::fan_out(&w.app, &event(&w.acme, EventType::MessageReceived)).await.unwrap();
    let guarded = WebhookSettings { allowlist: Allowlist::default(), ..local_settings() };
    assert_eq!(w.deliver(&guarded).await, 1);
    assert!(server.received_requests().await.unwrap().is_empty());
    let row = "SELECT status || ' ' || attempts || ' ' || coalesce(last_status_code::text, '-') || ' ' || last_error \
               AS value FROM webhook_deliveries";
    assert_eq!(
        w.sql(row).await,
        [concat!(
            "pending 1 - not sent: destination refused: ",
            "the host resolves to a loopback address, which webhooks may not reach"
        )]
    );
}

#[tokio::test]
async fn long_answers_are_truncated_and_redirects_are_not_followed() {
    let w = World::new().await;
    let noisy = receiver(500, &"x".repeat(10_000)).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/elsewhere", noisy.uri())))
        .mount(&server)
        .await;
    w.webhook(&w.acme, &format!("{}/a", noisy.uri()), &["message.received"], true).await;
    w.webhook(&w.acme, &format!("{}/b", server.uri()), &["message.received"], true).await;
    webhooks::fan_out(&w.app, &event(&w.acme, EventType::MessageReceived)).await.unwrap();
    assert_eq!(w.deliver(&local_settings()).await, 2);
    let errors = w
        .sql("SELECT last_status_code || ' ' || last_error AS value FROM webhook_deliveries ORDER BY last_status_code")
        .await;
    assert_eq!(errors[0], "302 HTTP 302 (redirects are not followed)");
    let long = errors[1].strip_prefix("500 HTTP 500: ").unwrap();
    assert!(long.len() < 1000 && long.chars().all(|c| c == 'x'), "{} characters", long.len());
    assert_eq!(noisy.received_requests().await.unwrap().len(), 1, "the redirect was not followed");
}

#[tokio::test]
async fn concurrent_workers_never_deliver_the_same_row() {
    let w = World::new().await;
    let server = receiver(200, "").await;
    for _ in 0..3 {
        w.webhook(&w.acme, &format!("{}/hook", server.uri()), &["message.received"], true).await;
    }
    for _ in 0..4 {
        webhooks::fan_out(&w.app, &event(&w.acme, EventType::MessageReceived)).await.unwrap();
    }
    let settings = local_settings();
    let (a, b) = tokio::join!(
        webhooks::deliver_due(&w.owner, &w.app, &w.keyring, &settings, 50),
        webhooks::deliver_due(&w.owner, &w.app, &w.keyring, &settings, 50),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 12);
    assert_eq!(server.received_requests().await.unwrap().len(), 12);
    assert_eq!(
        w.sql("SELECT count(*)::text AS value FROM webhook_deliveries WHERE status = 'delivered'").await,
        ["12"]
    );
}

#[tokio::test]
async fn a_test_delivery_is_sent_at_once_recorded_and_not_counted() {
    let w = World::new().await;
    let server = receiver(500, "nope").await;
    let (hook, secret) =
        w.webhook(&w.acme, &format!("{}/hook", server.uri()), &["document.ready", "message.received"], true).await;
    let tenant = TenantId::from_uuid(w.acme.tenant);
    let settings = WebhookSettings { disable_after: 1, ..local_settings() };
    let sent = webhooks::send_test(&w.app, &w.keyring, &settings, tenant, hook).await.unwrap().unwrap();
    assert_eq!((sent.delivered, sent.status_code, sent.event_type), (false, Some(500), EventType::DocumentReady));
    assert_eq!(sent.error.as_deref(), Some("HTTP 500: nope"));
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(header(request, DELIVERY_HEADER), sent.delivery_id.to_string());
    let timestamp: i64 = header(request, TIMESTAMP_HEADER).parse().unwrap();
    assert!(webhooks::verify(
        secret.expose(),
        &header(request, SIGNATURE_HEADER),
        timestamp,
        &request.body,
        Duration::from_secs(60)
    ));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["data"], json!({ "test": true }));
    let row = "SELECT status || ' ' || attempts || ' ' || last_status_code AS value FROM webhook_deliveries";
    assert_eq!(w.sql(row).await, ["failed 1 500"]);
    let state =
        format!("SELECT enabled || ' ' || consecutive_failures AS value FROM tenant_webhooks WHERE id = '{hook}'");
    assert_eq!(w.sql(&state).await, ["true 0"], "tests never count towards disabling");
    // nothing is left for the worker, and another tenant cannot test this webhook
    assert_eq!(w.deliver(&settings).await, 0);
    let other = TenantId::from_uuid(w.globex.tenant);
    assert!(webhooks::send_test(&w.app, &w.keyring, &settings, other, hook).await.unwrap().is_none());
}
