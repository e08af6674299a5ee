//! The events crate against the real RabbitMQ (`METACHAT_AMQP__URL`) and a per-test PostgreSQL database.
//! Every test uses its own exchange and queue prefix, so tests run in parallel on one broker.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::types::{AMQPValue, ShortString};
use lapin::{Connection, ConnectionProperties};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{connect, tenant_with_conversation, texts};
use meta_chat_database::testkit::tcp_proxy::TcpProxy;
use meta_chat_events::publisher::{ATTEMPT_HEADER, PARK_REASON_HEADER};
use meta_chat_events::{Consumer, ConsumerSpec, Envelope, EventType, HandleError, Handler, Publisher, Relay, Topology};
use meta_chat_shared::ids::TenantId;
use tokio::sync::watch;
use uuid::Uuid;

fn amqp_url() -> String {
    std::env::var("METACHAT_AMQP__URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn host_port(url: &str) -> String {
    let rest = url.split_once('@').map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap().to_owned()
}

/// A unique topology with short retry delays.
fn topology() -> Topology {
    let prefix = format!("test-{}", Uuid::now_v7().simple());
    Topology::new(&prefix, vec![Duration::from_millis(50), Duration::from_millis(100)])
        .expiring_after(Duration::from_secs(120))
}

fn publisher(topology: &Topology) -> Arc<Publisher> {
    Arc::new(Publisher::new(&amqp_url(), "events-test", topology.clone(), Duration::from_secs(5)))
}

/// Records every event it sees; fails the ids in `failures` that many times, panics on `panics`.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Uuid, usize)>>,
    failures: Mutex<HashMap<Uuid, usize>>,
    park: Mutex<Vec<Uuid>>,
    panics: Mutex<Vec<Uuid>>,
}

impl Handler for Recorder {
    async fn handle(&self, event: Envelope, attempt: usize) -> Result<(), HandleError> {
        self.seen.lock().unwrap().push((event.id, attempt));
        let crash = self.panics.lock().unwrap().contains(&event.id) && attempt == 0;
        assert!(!crash, "handler bug");
        if self.park.lock().unwrap().contains(&event.id) {
            return Err(HandleError::Park("refers to nothing".into()));
        }
        let mut failures = self.failures.lock().unwrap();
        if let Some(left) = failures.get_mut(&event.id)
            && *left > 0
        {
            *left -= 1;
            return Err(HandleError::Retry("dependency down".into()));
        }
        Ok(())
    }
}

impl Recorder {
    fn attempts(&self, id: Uuid) -> Vec<usize> {
        self.seen.lock().unwrap().iter().filter(|(seen, _)| *seen == id).map(|(_, attempt)| *attempt).collect()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

struct Running {
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("consumer stops").unwrap();
    }
}

fn start(url: &str, spec: &ConsumerSpec, handler: &Arc<Recorder>, publisher: &Arc<Publisher>) -> Running {
    let (shutdown, receiver) = watch::channel(false);
    let consumer = Consumer::new(url, spec.clone(), 4, Arc::clone(handler), Arc::clone(publisher));
    let task = tokio::spawn(consumer.run(receiver));
    Running { shutdown, task }
}

/// Waits (up to 20 s, a deadline, not a measurement) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Declares the consumer's queues so publishes before the consumer starts are kept.
async fn declare(topology: &Topology, spec: &ConsumerSpec) -> Connection {
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    topology.declare_consumer(&channel, spec).await.unwrap();
    connection
}

/// Takes every message from `queue`: (body, attempt header, reason header).
async fn drain(connection: &Connection, queue: &str) -> Vec<(Vec<u8>, Option<AMQPValue>, Option<AMQPValue>)> {
    let channel = connection.create_channel().await.unwrap();
    let mut out = Vec::new();
    while let Some(message) = channel.basic_get(queue.into(), BasicGetOptions { no_ack: true }).await.unwrap() {
        let headers = message.delivery.properties.headers().clone().unwrap_or_default();
        let get = |key: &str| headers.inner().get(&ShortString::from(key)).cloned();
        out.push((message.delivery.data.clone(), get(ATTEMPT_HEADER), get(PARK_REASON_HEADER)));
    }
    out
}

async fn cleanup(connection: Connection, topology: &Topology, spec: &ConsumerSpec) {
    let channel = connection.create_channel().await.unwrap();
    topology.delete_consumer(&channel, spec).await.unwrap();
    let _ = connection.close(200, "done".into()).await;
}

fn event(event_type: EventType) -> Envelope {
    Envelope::new(event_type, TenantId::new(), None, serde_json::json!({"n": 1}))
}

#[tokio::test(flavor = "multi_thread")]
async fn published_events_reach_the_bound_consumer_only() {
    let topology = topology();
    let spec = ConsumerSpec::new("orchestrator", &["message.received"]);
    let admin = declare(&topology, &spec).await;
    let publisher = publisher(&topology);
    let handler = Arc::new(Recorder::default());
    let running = start(&amqp_url(), &spec, &handler, &publisher);

    let wanted = [event(EventType::MessageReceived), event(EventType::MessageReceived)];
    publisher.publish(&wanted).await.unwrap();
    publisher.publish(&[event(EventType::DocumentReady)]).await.unwrap();
    until("both events", || handler.count() >= 2).await;
    running.stop().await;

    let seen: Vec<Uuid> = handler.seen.lock().unwrap().iter().map(|(id, _)| *id).collect();
    assert_eq!(seen.len(), 2, "the document event is not bound to this consumer");
    assert!(wanted.iter().all(|event| seen.contains(&event.id)));
    assert!(drain(&admin, &topology.parking_queue("orchestrator")).await.is_empty());
    cleanup(admin, &topology, &spec).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_retry_with_growing_delays_then_park_and_the_consumer_keeps_serving() {
    let topology = topology();
    let spec = ConsumerSpec::new("worker", &["#"]);
    let admin = declare(&topology, &spec).await;
    let publisher = publisher(&topology);
    let handler = Arc::new(Recorder::default());
    let flaky = event(EventType::MessageReceived);
    let doomed = event(EventType::MessageReceived);
    let refused = event(EventType::MessageReceived);
    let crashing = event(EventType::MessageReceived);
    handler.failures.lock().unwrap().extend([(flaky.id, 2), (doomed.id, usize::MAX)]);
    handler.park.lock().unwrap().push(refused.id);
    handler.panics.lock().unwrap().push(crashing.id);
    let running = start(&amqp_url(), &spec, &handler, &publisher);

    // a poison message: not an envelope at all
    publisher.publish_to_queue(&topology.queue("worker"), b"{not json", None, &[]).await.unwrap();
    let healthy = event(EventType::MessageSent);
    publisher
        .publish(&[flaky.clone(), doomed.clone(), refused.clone(), crashing.clone(), healthy.clone()])
        .await
        .unwrap();

    until("the flaky event to succeed", || handler.attempts(flaky.id) == vec![0, 1, 2]).await;
    until("the doomed event to exhaust its retries", || handler.attempts(doomed.id) == vec![0, 1, 2]).await;
    until("the crashing event to be retried", || handler.attempts(crashing.id) == vec![0, 1]).await;
    assert_eq!(handler.attempts(healthy.id), vec![0]);
    assert_eq!(handler.attempts(refused.id), vec![0], "a Park error is not retried");

    let parked = drain_until(&admin, &topology.parking_queue("worker"), 3).await;
    running.stop().await;
    let bodies: Vec<&[u8]> = parked.iter().map(|(body, _, _)| body.as_slice()).collect();
    assert!(bodies.contains(&b"{not json".as_slice()), "the poison message is parked");
    let parked_ids: Vec<Uuid> =
        parked.iter().filter_map(|(body, _, _)| Envelope::from_bytes(body).ok()).map(|event| event.id).collect();
    assert!(parked_ids.contains(&doomed.id) && parked_ids.contains(&refused.id), "{parked_ids:?}");
    let doomed_entry = parked.iter().find(|(body, _, _)| Envelope::from_bytes(body).is_ok_and(|e| e.id == doomed.id));
    let (_, attempt, reason) = doomed_entry.unwrap();
    assert_eq!(attempt, &Some(AMQPValue::LongLongInt(2)));
    assert!(matches!(reason, Some(AMQPValue::LongString(text)) if text.to_string().contains("dependency down")));
    cleanup(admin, &topology, &spec).await;
}

/// Polls `queue` until it has yielded `n` messages (20 s deadline).
async fn drain_until(
    connection: &Connection,
    queue: &str,
    n: usize,
) -> Vec<(Vec<u8>, Option<AMQPValue>, Option<AMQPValue>)> {
    let mut out = Vec::new();
    for _ in 0..400 {
        out.extend(drain(connection, queue).await);
        if out.len() >= n {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("only {} of {n} messages arrived in {queue}", out.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_publishes_committed_events_and_the_sweeper_publishes_what_was_left() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let seeded = tenant_with_conversation(&mut owner, "relay").await;
    let tenant = TenantId::from_uuid(seeded.tenant);
    let topology = topology();
    let spec = ConsumerSpec::new("audit", &["#"]);
    let admin = declare(&topology, &spec).await;
    let good = publisher(&topology);
    let app = db.app_pool();

    // committed while the broker is unreachable: accepted, stored, left unpublished
    let mut proxy = TcpProxy::new(&host_port(&amqp_url()));
    let unreachable_url = amqp_url().replace(&host_port(&amqp_url()), &proxy.addr());
    let unreachable = Arc::new(Publisher::new(&unreachable_url, "down", topology.clone(), Duration::from_secs(2)));
    let during_outage = vec![
        Envelope::new(EventType::MessageReceived, tenant, None, serde_json::json!({"i": 1})),
        Envelope::new(EventType::MessageReceived, tenant, None, serde_json::json!({"i": 2})),
    ];
    write(&app, tenant, &during_outage).await;
    Relay::new(Arc::clone(&unreachable), app.clone()).publish_committed(tenant, during_outage.clone()).await;
    let attempts =
        texts(&mut owner, "SELECT publish_attempts::text AS value FROM outbox_events WHERE published_at IS NULL").await;
    assert_eq!(attempts, vec!["1", "1"]);

    // the normal path: published right after commit and marked
    let relay = Relay::new(Arc::clone(&good), app.clone());
    let normal = vec![Envelope::new(EventType::ConversationCreated, tenant, None, serde_json::json!({}))];
    write(&app, tenant, &normal).await;
    relay.publish_committed(tenant, normal.clone()).await;
    let unpublished =
        texts(&mut owner, "SELECT count(*)::text AS value FROM outbox_events WHERE published_at IS NULL").await;
    assert_eq!(unpublished, vec!["2"]);

    // the runtime role cannot sweep (row-level security hides every tenant's rows) ...
    assert_eq!(relay.sweep(&app, Duration::ZERO, 100).await.unwrap(), 0);
    // ... the owner pool can; the broker is reachable again
    proxy.start().await;
    assert_eq!(relay.sweep(&db.owner_pool(), Duration::ZERO, 100).await.unwrap(), 2);
    assert_eq!(relay.sweep(&db.owner_pool(), Duration::ZERO, 100).await.unwrap(), 0, "nothing twice");

    let handler = Arc::new(Recorder::default());
    let running = start(&amqp_url(), &spec, &handler, &good);
    until("three events", || handler.count() >= 3).await;
    running.stop().await;
    let mut seen: Vec<Uuid> = handler.seen.lock().unwrap().iter().map(|(id, _)| *id).collect();
    seen.sort();
    let mut expected: Vec<Uuid> = during_outage.iter().chain(&normal).map(|event| event.id).collect();
    expected.sort();
    assert_eq!(seen, expected);
    cleanup(admin, &topology, &spec).await;
}

async fn write(pool: &meta_chat_database::DbPool, tenant: TenantId, events: &[Envelope]) {
    let mut conn = pool.get().await.unwrap();
    let events = events.to_vec();
    in_tenant_tx(&mut conn, tenant, |conn| {
        Box::pin(async move { meta_chat_events::record(conn, tenant, &events).await })
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_reconnects_after_losing_the_broker() {
    let topology = topology();
    let spec = ConsumerSpec::new("reconnect", &["#"]);
    let admin = declare(&topology, &spec).await;
    let publisher = publisher(&topology);
    let mut proxy = TcpProxy::new(&host_port(&amqp_url()));
    proxy.start().await;
    let via_proxy = amqp_url().replace(&host_port(&amqp_url()), &proxy.addr());
    let handler = Arc::new(Recorder::default());
    let running = start(&via_proxy, &spec, &handler, &publisher);

    publisher.publish(&[event(EventType::MessageReceived)]).await.unwrap();
    until("the first event", || handler.count() == 1).await;
    proxy.stop().await;
    publisher.publish(&[event(EventType::MessageReceived)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handler.count(), 1, "nothing is consumed while the connection is down");
    proxy.start().await;
    until("the event published during the outage", || handler.count() == 2).await;
    running.stop().await;
    cleanup(admin, &topology, &spec).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_of_another_tenant_are_refused_by_the_outbox() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let seeded = tenant_with_conversation(&mut owner, "outbox").await;
    let tenant = TenantId::from_uuid(seeded.tenant);
    let foreign = Envelope::new(EventType::MessageReceived, TenantId::new(), None, serde_json::json!({}));
    let mut conn = db.app_pool().get().await.unwrap();
    let result = in_tenant_tx(&mut conn, tenant, |conn| {
        Box::pin(async move { meta_chat_events::record(conn, tenant, &[foreign]).await })
    })
    .await;
    assert!(result.is_err());
    assert_eq!(texts(&mut owner, "SELECT count(*)::text AS value FROM outbox_events").await, vec!["0"]);
}
