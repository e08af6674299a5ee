//! The whole message pipeline on real PostgreSQL and RabbitMQ with the Graph API faked by wiremock:
//! signed webhook → API (stored + outbox) → RabbitMQ → worker consumers (decision, send) → request at the
//! fake Graph API. The worker's pipeline runs in-process exactly as `meta-chat-worker run` starts it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use meta_chat_database::testkit::tcp_proxy::TcpProxy;
use meta_chat_llm::{CompletionFuture, CompletionRequest, LocalProvider, Provider};
use meta_chat_shared::Config;
use meta_chat_shared::config::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::api_keys::seeded_tenant;
use crate::helpers::{TestApp, host_port, spawn_app_with, with_host_port};
use crate::integrations::{APP_SECRET, BATCH, TEXT, UNSUPPORTED, deliver, messenger_channel, whatsapp_channel};
use crate::tenant::{rows, send};

const INTERACTIVE: &[u8] = include_bytes!("../../../../../shared/fixtures/whatsapp/interactive_reply.json");
const POSTBACK: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/echo_and_postback.json");
const HANDOFF_TEXT: &str = "Thanks for your patience: a member of our team will reply here shortly.";

/// Answers Graph sends with a new message id each time.
struct GraphReply(AtomicUsize);

impl Respond for GraphReply {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        if request.url.path().ends_with("/me/messages") {
            ResponseTemplate::new(200)
                .set_body_json(json!({ "recipient_id": "x", "message_id": format!("m_reply{n}") }))
        } else {
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp", "contacts": [{ "input": "x", "wa_id": "x" }],
                "messages": [{ "id": format!("wamid.REPLY{n}") }] }))
        }
    }
}

/// A running worker pipeline.
pub(crate) struct Worker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Worker {
    pub(crate) fn start(config: &Config, provider: Arc<dyn Provider>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let owner = meta_chat_database::pool::build_admin(&config.database, "pipeline-test").unwrap();
        meta_chat_worker::pipeline::start_with(config, owner, &mut tasks, &stopped, provider).unwrap();
        Self { stop, tasks }
    }

    /// The worker as `meta-chat-worker run` starts it: each tenant answered by the model its settings name.
    pub(crate) fn start_real(config: &Config) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let owner = meta_chat_database::pool::build_admin(&config.database, "pipeline-test").unwrap();
        meta_chat_worker::pipeline::start(config, owner, &mut tasks, &stopped).unwrap();
        Self { stop, tasks }
    }

    pub(crate) async fn stop(mut self) {
        self.stop.send(true).unwrap();
        while self.tasks.join_next().await.is_some() {}
    }
}

pub(crate) struct World {
    pub(crate) app: TestApp,
    pub(crate) graph: MockServer,
    pub(crate) owner: String,
}

pub(crate) async fn world_with(customize: impl FnOnce(&mut Config) + Send) -> World {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v23\.0/.+/messages$"))
        .respond_with(GraphReply(AtomicUsize::new(0)))
        .mount(&graph)
        .await;
    let uri = graph.uri();
    let app = spawn_app_with(move |config, _| {
        config.meta.graph_base_url = uri;
        config.amqp.retry_delays_ms = vec![100, 200, 400];
        config.amqp.sweep_interval_ms = 200;
        config.amqp.sweep_after_ms = 300;
        customize(config);
    })
    .await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    World { app, graph, owner }
}

/// The JSON bodies of the sends (POSTs) the fake Graph API received.
pub(crate) async fn sends(graph: &MockServer) -> Vec<Value> {
    let requests = graph.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .map(|r| r.body_json::<Value>().unwrap())
        .collect()
}

/// Waits (20 s deadline, not a measurement) until the fake Graph API has received `n` sends.
pub(crate) async fn wait_for_sends(graph: &MockServer, n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let got = sends(graph).await;
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} sends, got {:?}", sends(graph).await);
}

/// Waits until `sql` (one `value` column) returns `expected`.
async fn wait_for_rows(app: &TestApp, sql: &str, expected: &[&str]) {
    for _ in 0..400 {
        if rows(app, sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("`{sql}` returned {:?}, expected {expected:?}", rows(app, sql).await);
}

fn whatsapp_text(send: &Value) -> (&str, &str) {
    (send["to"].as_str().unwrap_or_default(), send["text"]["body"].as_str().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fixture_is_answered_once_through_the_graph_api_to_the_right_recipient() {
    let w = world_with(|_| {}).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let path = format!("/integrations/whatsapp/{channel}");

    assert_eq!(deliver(&w.app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    let first = wait_for_sends(&w.graph, 1).await;
    let (to, text) = whatsapp_text(&first[0]);
    assert_eq!(to, "16505551234");
    assert!(text.starts_with("Hi Sheena!"), "{text}");

    assert_eq!(deliver(&w.app, &path, BATCH, Some(APP_SECRET)).await.status(), 200);
    assert_eq!(deliver(&w.app, &path, UNSUPPORTED, Some(APP_SECRET)).await.status(), 200);
    let all = wait_for_sends(&w.graph, 5).await;
    let mut recipients: Vec<&str> = all.iter().map(|send| whatsapp_text(send).0).collect();
    recipients.sort_unstable();
    assert_eq!(recipients, ["16505551234", "16505551234", "385915550101", "385915550101", "385915550202"]);
    assert!(all.iter().any(|send| whatsapp_text(send).1.contains("only read text")), "unsupported gets a fallback");
    wait_for_rows(
        &w.app,
        "SELECT count(*)::text AS value FROM messages WHERE direction = 'outbound' AND status = 'sent' \
         AND external_id LIKE 'wamid.REPLY%'",
        &["5"],
    )
    .await;
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM message_replies").await, ["5"]);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_posted_three_times_concurrently_is_answered_once() {
    let w = world_with(|_| {}).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    let posts = (0..3).map(|_| deliver(&w.app, &path, TEXT, Some(APP_SECRET)));
    assert!(futures_util::future::join_all(posts).await.iter().all(|res| res.status() == 200));
    assert_eq!(deliver(&w.app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    wait_for_sends(&w.graph, 1).await;
    wait_for_rows(&w.app, "SELECT count(*)::text AS value FROM outbox_events WHERE published_at IS NULL", &["0"]).await;
    // everything published has been consumed once the queues are idle; give a duplicate time to show up
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sends(&w.graph).await.len(), 1);
    let usage: Value = send(&w.app, Method::GET, "/billing/usage", &w.owner, None).await.json().await.unwrap();
    assert_eq!(usage["metrics"][0]["used"], 1, "one inbound message: {usage}");
    assert_eq!(usage["metrics"][1]["used"], 1, "one AI reply: {usage}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn handoff_by_button_keyword_and_postback_silences_the_bot_until_release() {
    let w = world_with(|_| {}).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let path = format!("/integrations/whatsapp/{channel}");

    // the "Talk to a person" button
    assert_eq!(deliver(&w.app, &path, INTERACTIVE, Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 1).await;
    assert_eq!(whatsapp_text(&sent[0]), ("16505551234", HANDOFF_TEXT));
    let conversation = rows(
        &w.app,
        &format!(
            "SELECT id::text AS value FROM conversations WHERE channel_id = '{channel}' AND status = 'assigned_human'"
        ),
    )
    .await;
    assert_eq!(conversation.len(), 1);
    let conversation = conversation[0].clone();
    assert_eq!(
        rows(
            &w.app,
            "SELECT count(*)::text AS value FROM outbox_events WHERE event_type = 'conversation.handoff_requested'"
        )
        .await,
        ["1"]
    );

    // the contact writes again: stored, no bot reply
    assert_eq!(deliver(&w.app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    wait_for_rows(
        &w.app,
        "SELECT string_agg(outcome, ',' ORDER BY created_at) AS value FROM message_replies",
        &["handoff,silent"],
    )
    .await;
    assert_eq!(sends(&w.graph).await.len(), 1);

    // an agent answers through the channel
    let res = send(
        &w.app,
        Method::POST,
        &format!("/conversations/{conversation}/messages"),
        &w.owner,
        Some(json!({ "text": "Hello, Ana here." })),
    )
    .await;
    assert_eq!(res.status(), 202);
    let sent = wait_for_sends(&w.graph, 2).await;
    assert_eq!(whatsapp_text(&sent[1]), ("16505551234", "Hello, Ana here."));

    // release: the bot answers again
    let res = send(&w.app, Method::POST, &format!("/conversations/{conversation}/release"), &w.owner, None).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let again = String::from_utf8(TEXT.to_vec()).unwrap().replace("wamid.HBgL", "wamid.AGAIN");
    assert_eq!(deliver(&w.app, &path, again.as_bytes(), Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 3).await;
    assert!(whatsapp_text(&sent[2]).1.starts_with("Hi Sheena!"), "{:?}", sent[2]);

    // a keyword from another contact
    let keyword = String::from_utf8(TEXT.to_vec())
        .unwrap()
        .replace("wamid.HBgL", "wamid.KEYWORD")
        .replace("16505551234", "16505559999")
        .replace("Does the premium plan include international shipping?", "Can I speak to a human?");
    assert_eq!(deliver(&w.app, &path, keyword.as_bytes(), Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 4).await;
    assert_eq!(whatsapp_text(&sent[3]), ("16505559999", HANDOFF_TEXT));

    // a Messenger postback
    let page = messenger_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/messenger/{page}"), POSTBACK, Some(APP_SECRET)).await.status(),
        200
    );
    let sent = wait_for_sends(&w.graph, 5).await;
    let postback_reply =
        sent.iter().find(|send| send["recipient"]["id"] == "6543219876543210").expect("a Messenger send");
    assert_eq!(postback_reply["message"]["text"], HANDOFF_TEXT);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_closed_send_fails_the_message_with_its_reason() {
    let w = world_with(|_| {}).await;
    // this number's sends fail with 131047 (higher priority than the catch-all mock)
    Mock::given(method("POST"))
        .and(path("/v23.0/106540352242922/messages"))
        .and(wiremock::matchers::body_partial_json(json!({ "to": "16505551234" })))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131_047,
            "error_data": { "messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." },
            "fbtrace_id": "A" } })))
        .with_priority(1)
        .mount(&w.graph)
        .await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    wait_for_rows(
        &w.app,
        "SELECT concat_ws('|', status, error_code) AS value FROM messages WHERE direction = 'outbound'",
        &["failed|131047"],
    )
    .await;
    let reason = rows(&w.app, "SELECT error_message AS value FROM messages WHERE direction = 'outbound'").await;
    assert!(reason[0].contains("24 hours"), "{reason:?}");
    wait_for_rows(
        &w.app,
        "SELECT count(*)::text AS value FROM outbox_events WHERE event_type = 'message.failed'",
        &["1"],
    )
    .await;
    worker.stop().await;
}

/// The local provider after a signal and a pause: lets a test stop the worker mid-decision.
struct Slow {
    called: Arc<Notify>,
}

impl Provider for Slow {
    fn complete<'a>(&'a self, request: &'a CompletionRequest) -> CompletionFuture<'a> {
        Box::pin(async move {
            self.called.notify_one();
            tokio::time::sleep(Duration::from_secs(30)).await;
            LocalProvider.complete(request).await
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_stopped_mid_processing_is_redelivered_and_answers_once() {
    let w = world_with(|_| {}).await;
    let called = Arc::new(Notify::new());
    let slow = Worker::start(&w.app.config, Arc::new(Slow { called: Arc::clone(&called) }));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    tokio::time::timeout(Duration::from_secs(20), called.notified()).await.expect("the worker picks the message up");
    slow.stop().await; // the delivery was not acknowledged
    assert!(sends(&w.graph).await.is_empty());
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM message_replies").await, ["0"]);

    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    wait_for_sends(&w.graph, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sends(&w.graph).await.len(), 1);
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM message_replies").await, ["1"]);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_are_accepted_while_rabbitmq_is_down_and_answered_when_it_is_back() {
    let real = std::env::var("METACHAT_AMQP__URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let mut proxy = TcpProxy::new(&host_port(&real));
    let via_proxy = with_host_port(&real, &proxy.addr());
    let w = world_with(move |config| config.amqp.url = Secret::new(via_proxy)).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    assert_eq!(deliver(&w.app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    assert_eq!(deliver(&w.app, &path, BATCH, Some(APP_SECRET)).await.status(), 200);
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM messages WHERE direction = 'inbound'").await, ["4"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sends(&w.graph).await.is_empty(), "nothing can be consumed while the broker is away");

    proxy.start().await;
    wait_for_sends(&w.graph, 4).await;
    wait_for_rows(&w.app, "SELECT count(*)::text AS value FROM outbox_events WHERE published_at IS NULL", &["0"]).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_webhooks_receive_signed_events_from_the_pipeline() {
    let w = world_with(|config| {
        config.webhooks.allow_private_hosts = vec!["127.0.0.1".into()];
        config.webhooks.poll_interval_ms = 100;
    })
    .await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&receiver).await;
    let body = json!({ "url": format!("{}/hooks", receiver.uri()), "events": ["message.received", "message.sent"] });
    let res = send(&w.app, Method::POST, "/webhooks", &w.owner, Some(body)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();

    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    let mut requests = Vec::new();
    for _ in 0..400 {
        requests = receiver.received_requests().await.unwrap_or_default();
        if requests.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut events: Vec<String> = requests
        .iter()
        .map(|request| {
            let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap().to_owned();
            let timestamp: i64 = header("x-metachat-timestamp").parse().unwrap();
            let signature = header("x-metachat-signature");
            assert!(
                meta_chat_events::webhooks::verify(
                    &secret,
                    &signature,
                    timestamp,
                    &request.body,
                    Duration::from_secs(300)
                ),
                "the signature verifies"
            );
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["event"].as_str().unwrap(), header("x-metachat-event"));
            header("x-metachat-event")
        })
        .collect();
    events.sort();
    assert_eq!(events, ["message.received", "message.sent"]);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_window_sends_the_fallback_template_when_the_channel_has_one() {
    let w = world_with(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v23.0/106540352242922/messages"))
        .and(wiremock::matchers::body_partial_json(json!({ "type": "text" })))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131_047, "fbtrace_id": "A" } })))
        .with_priority(1)
        .mount(&w.graph)
        .await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let template = json!({ "config": { "fallbackTemplate": { "name": "follow_up", "language": "en_US" } } });
    let res = send(&w.app, Method::PATCH, &format!("/channels/{channel}"), &w.owner, Some(template)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(
        res.json::<Value>().await.unwrap()["config"]["fallbackTemplate"],
        json!({ "name": "follow_up", "language": "en_US" })
    );
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    wait_for_rows(&w.app, "SELECT status AS value FROM messages WHERE direction = 'outbound'", &["sent"]).await;
    let sent = sends(&w.graph).await;
    let template = sent.iter().find(|send| send["type"] == "template").expect("a template send");
    assert_eq!(template["template"]["name"], "follow_up");
    assert_eq!(template["to"], "16505551234");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_credentials_fail_the_message_and_flag_the_channel_until_new_secrets_arrive() {
    let w = world_with(|_| {}).await;
    Mock::given(method("POST"))
        .and(path("/v23.0/106540352242922/messages"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "error": {
            "message": "Error validating access token: Session has expired", "type": "OAuthException", "code": 190,
            "fbtrace_id": "A" } })))
        .with_priority(1)
        .mount(&w.graph)
        .await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    wait_for_rows(
        &w.app,
        "SELECT concat_ws('|', status, error_code) AS value FROM messages WHERE direction = 'outbound'",
        &["failed|190"],
    )
    .await;
    let shown: Value =
        send(&w.app, Method::GET, &format!("/channels/{channel}"), &w.owner, None).await.json().await.unwrap();
    assert!(shown["flaggedAt"].is_string(), "{shown}");
    assert!(shown["flagReason"].as_str().unwrap().contains("access token"), "{shown}");

    let fix = json!({ "config": { "accessToken": "EAAGfreshAccessToken9876543210" } });
    let fixed: Value =
        send(&w.app, Method::PATCH, &format!("/channels/{channel}"), &w.owner, Some(fix)).await.json().await.unwrap();
    assert!(fixed["flaggedAt"].is_null() && fixed["flagReason"].is_null(), "{fixed}");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn inbound_media_is_downloaded_kept_with_the_message_and_served_as_an_attachment() {
    let w = world_with(|config| config.meta.media_max_bytes = 4096).await;
    let picture: Vec<u8> = (0..2048u32).map(|i| (i % 251) as u8).collect();
    Mock::given(method("GET"))
        .and(path("/v23.0/1003383421387256"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": format!("{}/files/receipt", w.graph.uri()), "mime_type": "image/jpeg",
            "sha256": "Ku3Gsc7yWv2r4N2wq1dcVbq1T6x3dAq4wPzVnHdd8Yk=", "file_size": picture.len(), "id": "1003383421387256" })))
        .mount(&w.graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/receipt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_bytes(picture.clone()).insert_header("content-type", "image/jpeg"),
        )
        .mount(&w.graph)
        .await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), BATCH, Some(APP_SECRET)).await.status(),
        200
    );
    wait_for_rows(
        &w.app,
        "SELECT coalesce(payload->'blob'->>'size', payload->>'mediaError', '') AS value FROM messages WHERE external_id = 'wamid.BATCH0002'",
        &["2048"],
    )
    .await;
    let ids = rows(
        &w.app,
        "SELECT conversation_id::text || ' ' || id::text AS value FROM messages WHERE external_id = 'wamid.BATCH0002'",
    )
    .await;
    let (conversation, message) = ids[0].split_once(' ').unwrap();
    let res =
        send(&w.app, Method::GET, &format!("/conversations/{conversation}/messages/{message}/media"), &w.owner, None)
            .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), picture);
    // a text message has no file; a message of another conversation is not found
    let text = rows(&w.app, "SELECT id::text AS value FROM messages WHERE external_id = 'wamid.BATCH0001'").await;
    let res =
        send(&w.app, Method::GET, &format!("/conversations/{conversation}/messages/{}/media", text[0]), &w.owner, None)
            .await;
    assert_eq!(res.status(), 404);
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM media_blobs").await, ["1"]);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn media_over_the_size_cap_is_not_kept_and_the_message_says_why() {
    let w = world_with(|config| config.meta.media_max_bytes = 1024).await;
    Mock::given(method("GET"))
        .and(path("/v23.0/1003383421387256"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "url": format!("{}/files/big", w.graph.uri()), "mime_type": "image/jpeg", "file_size": 5_000_000 })))
        .mount(&w.graph)
        .await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), BATCH, Some(APP_SECRET)).await.status(),
        200
    );
    for _ in 0..400 {
        let note = rows(
            &w.app,
            "SELECT coalesce(payload->>'mediaError', '') AS value FROM messages WHERE external_id = 'wamid.BATCH0002'",
        )
        .await;
        if !note[0].is_empty() {
            assert!(note[0].contains("larger"), "{note:?}");
            assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM media_blobs").await, ["0"]);
            worker.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mediaError recorded");
}

const MESSENGER_TEXT: &[u8] = include_bytes!("../../../../../shared/fixtures/messenger/text_and_attachment.json");

/// Moves the contact's last inbound message `hours` into the past.
async fn last_inbound_hours_ago(app: &TestApp, contact_external_id: &str, hours: i64) {
    let mut owner = meta_chat_database::testkit::seed::connect(&app.db.owner_url()).await;
    meta_chat_database::testkit::seed::exec(
        &mut owner,
        &format!(
            "UPDATE conversations SET last_inbound_at = now() - interval '{hours} hours' \
             WHERE contact_id = (SELECT id FROM contacts WHERE external_id = '{contact_external_id}')"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn messenger_replies_and_agent_replies_follow_the_messaging_windows_and_closed_conversations_reopen() {
    let w = world_with(|_| {}).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let page = messenger_channel(&w.app, &w.owner).await;
    let path = format!("/integrations/messenger/{page}");
    assert_eq!(deliver(&w.app, &path, MESSENGER_TEXT, Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 1).await;
    assert_eq!(sent[0]["recipient"]["id"], "6543219876543210");
    assert_eq!(sent[0]["messaging_type"], "RESPONSE");
    let conversation =
        rows(&w.app, &format!("SELECT id::text AS value FROM conversations WHERE channel_id = '{page}'")).await[0]
            .clone();
    let reply = |text: &str| json!({ "text": text });
    let agent_path = format!("/conversations/{conversation}/messages");

    // three days after the contact's last message: an agent reply goes out with the HUMAN_AGENT tag
    last_inbound_hours_ago(&w.app, "6543219876543210", 72).await;
    assert_eq!(send(&w.app, Method::POST, &agent_path, &w.owner, Some(reply("Following up"))).await.status(), 202);
    let sent = wait_for_sends(&w.graph, 2).await;
    assert_eq!(sent[1]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent[1]["tag"], "HUMAN_AGENT");

    // eight days after: it fails with a clear reason and nothing is sent
    last_inbound_hours_ago(&w.app, "6543219876543210", 192).await;
    assert_eq!(send(&w.app, Method::POST, &agent_path, &w.owner, Some(reply("Too late"))).await.status(), 202);
    wait_for_rows(
        &w.app,
        "SELECT concat_ws('|', status, error_code) AS value FROM messages WHERE text = 'Too late'",
        &["failed|window_closed"],
    )
    .await;
    assert_eq!(sends(&w.graph).await.len(), 2);

    // closed, then the contact writes again: the same conversation reopens, back with the assistant
    let res = send(
        &w.app,
        Method::PATCH,
        &format!("/conversations/{conversation}"),
        &w.owner,
        Some(json!({ "status": "closed" })),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let again = String::from_utf8(MESSENGER_TEXT.to_vec()).unwrap().replace("m_AbCdEfGhIjKlMnOp0001", "m_Again0001");
    assert_eq!(deliver(&w.app, &path, again.as_bytes(), Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 3).await;
    assert_eq!(sent[2]["messaging_type"], "RESPONSE");
    let status = rows(&w.app, &format!("SELECT status AS value FROM conversations WHERE channel_id = '{page}'")).await;
    assert_eq!(status, ["active"], "one conversation, reopened");
    assert_eq!(
        rows(&w.app, "SELECT count(*)::text AS value FROM outbox_events WHERE event_type = 'conversation.updated' AND payload->>'change' = 'reopened'").await,
        ["1"]
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_send_waits_as_long_as_the_provider_asks_and_then_goes_out() {
    // retry queues far longer than the test: only honouring Retry-After can send in time
    let w = world_with(|config| config.amqp.retry_delays_ms = vec![600_000]).await;
    Mock::given(method("POST"))
        .and(path("/v23.0/106540352242922/messages"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(json!({ "error": {
            "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130_429, "fbtrace_id": "A" } })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.graph)
        .await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    assert_eq!(
        deliver(&w.app, &format!("/integrations/whatsapp/{channel}"), TEXT, Some(APP_SECRET)).await.status(),
        200
    );
    wait_for_rows(&w.app, "SELECT status AS value FROM messages WHERE direction = 'outbound'", &["sent"]).await;
    assert_eq!(sends(&w.graph).await.len(), 2, "the throttled attempt and the one after the wait");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_the_ai_reply_quota_messages_are_stored_and_handed_to_humans() {
    let w = world_with(|config| config.billing.plans.free.limits.ai_replies = Some(1)).await;
    let worker = Worker::start(&w.app.config, Arc::new(LocalProvider));
    let channel = whatsapp_channel(&w.app, &w.owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    assert_eq!(deliver(&w.app, &path, TEXT, Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 1).await;
    assert!(whatsapp_text(&sent[0]).1.starts_with("Hi Sheena!"));
    let other = String::from_utf8(TEXT.to_vec())
        .unwrap()
        .replace("wamid.HBgL", "wamid.QUOTA")
        .replace("16505551234", "16505557777");
    assert_eq!(deliver(&w.app, &path, other.as_bytes(), Some(APP_SECRET)).await.status(), 200);
    let sent = wait_for_sends(&w.graph, 2).await;
    assert_eq!(whatsapp_text(&sent[1]), ("16505557777", HANDOFF_TEXT));
    assert_eq!(
        rows(&w.app, "SELECT string_agg(outcome, ',' ORDER BY created_at) AS value FROM message_replies").await,
        ["replied,handoff"]
    );
    // both thresholds were crossed by the one reply the plan allows; the refused one announces nothing more
    assert_eq!(
        rows(
            &w.app,
            "SELECT (payload->>'metric') || ':' || (payload->>'threshold') AS value FROM outbox_events \
             WHERE event_type = 'usage.limit_reached' ORDER BY (payload->>'threshold')::int"
        )
        .await,
        ["ai_replies:80", "ai_replies:100"]
    );
    let usage: Value = send(&w.app, Method::GET, "/billing/usage", &w.owner, None).await.json().await.unwrap();
    assert_eq!(usage["metrics"][0]["used"], 2, "both messages arrived");
    assert_eq!(usage["metrics"][1], json!({ "metric": "ai_replies", "used": 1, "limit": 1 }));
    worker.stop().await;
}
