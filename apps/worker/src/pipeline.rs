//! The message pipeline's long-running parts, started by `run`: the `orchestrator` consumer
//! (`message.received` → reply, hand-off or silence), the `outbound` consumer (`message.queued` → Graph
//! API), the `media` consumer (inbound WhatsApp media → kept with the message), the `webhooks` consumer (every public event → tenant webhook deliveries) and the delivery loop that
//! sends them, and the outbox sweeper that republishes events the relay did not publish. Each consumer
//! reconnects on its own; all stop when the shutdown signal flips.

use std::sync::Arc;
use std::time::Duration;

use meta_chat_channels::{GraphClient, SendRateLimiter};
use meta_chat_database::{DbPool, pool};
use meta_chat_events::{Consumer, ConsumerSpec, Publisher, Relay, Topology, topology, webhooks};
use meta_chat_llm::Provider;
use meta_chat_orchestrator::{Assistant, IngestHandler, MediaHandler, OutboundHandler, ReplyHandler};
use meta_chat_rag::Embedders;
use meta_chat_shared::Config;
use meta_chat_shared::secrets::Keyring;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Unpublished outbox events republished per sweep.
const SWEEP_BATCH: i64 = 500;
/// Tenant webhook deliveries attempted per poll.
const DELIVERY_BATCH: usize = 50;

/// Starts the consumers and the sweeper on `tasks`, answering each tenant with the model its settings name;
/// they run until `shutdown` turns true.
///
/// # Errors
/// The configuration cannot build a pool, the keyring or the Graph client.
pub fn start(
    config: &Config,
    owner: DbPool,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    start_inner(config, owner, tasks, shutdown, None)
}

/// [`start`] answering every tenant with `provider` (tests inject slow or failing ones).
///
/// # Errors
/// As [`start`].
pub fn start_with(
    config: &Config,
    owner: DbPool,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
    provider: Arc<dyn Provider>,
) -> anyhow::Result<()> {
    start_inner(config, owner, tasks, shutdown, Some(provider))
}

fn start_inner(
    config: &Config,
    owner: DbPool,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
    provider: Option<Arc<dyn Provider>>,
) -> anyhow::Result<()> {
    let app = pool::build(&config.database, "metachat-worker-pipeline")?;
    let url = config.amqp.url.expose().to_owned();
    let topology = Topology::from_config(&config.amqp);
    let publisher = Arc::new(Publisher::new(&url, "meta-chat-worker", topology.clone(), Duration::from_secs(5)));
    let relay = Relay::new(Arc::clone(&publisher), app.clone());
    let keyring = Arc::new(Keyring::from_config(&config.secrets)?);
    let graph = GraphClient::new(&config.meta.graph_base_url, &config.meta.graph_api_version)?;
    let pacing = Arc::new(SendRateLimiter::new(config.meta.sends_per_second, config.meta.sends_per_second));
    let prefetch = config.amqp.prefetch;

    let providers = Arc::new(meta_chat_llm::Providers::new(&config.llm)?);
    let embedders = Embedders::from_config(&providers, &config.llm.embedding);
    let knowledge = Arc::new(config.knowledge.clone());
    let mut assistant =
        Assistant::new(Arc::clone(&providers), embedders.clone(), Arc::clone(&knowledge), Arc::clone(&keyring));
    if let Some(provider) = provider {
        assistant = assistant.with_provider(provider);
    }
    let replies = ReplyHandler::new(app.clone(), relay.clone(), assistant, Arc::new(config.billing.clone()));
    let spec = spec_of(&topology, topology::ORCHESTRATOR)?;
    let consumer = Consumer::new(&url, spec, prefetch, Arc::new(replies), Arc::clone(&publisher));
    tasks.spawn(consumer.run(shutdown.clone()));

    let outbound = OutboundHandler::new(
        app.clone(),
        relay.clone(),
        graph.clone(),
        pacing,
        Arc::clone(&keyring),
        topology.max_retries(),
    );
    let spec = spec_of(&topology, topology::OUTBOUND)?;
    let consumer = Consumer::new(&url, spec, prefetch, Arc::new(outbound), Arc::clone(&publisher));
    tasks.spawn(consumer.run(shutdown.clone()));

    let media = MediaHandler::new(
        app.clone(),
        graph,
        Arc::clone(&keyring),
        config.meta.media_max_bytes,
        topology.max_retries(),
    );
    let spec = spec_of(&topology, topology::MEDIA)?;
    let consumer = Consumer::new(&url, spec, prefetch, Arc::new(media), Arc::clone(&publisher));
    tasks.spawn(consumer.run(shutdown.clone()));

    let ingestion = IngestHandler::new(app.clone(), relay.clone(), embedders.clone(), Arc::clone(&knowledge));
    let spec = spec_of(&topology, topology::INGESTION)?;
    let consumer = Consumer::new(&url, spec, prefetch, Arc::new(ingestion), Arc::clone(&publisher));
    tasks.spawn(consumer.run(shutdown.clone()));
    start_model_switches(config, owner.clone(), app.clone(), embedders, knowledge, tasks, shutdown);

    let spec = spec_of(&topology, topology::WEBHOOKS)?;
    let consumer = Consumer::new(&url, spec, prefetch, Arc::new(webhooks::FanOut::new(app.clone())), publisher);
    tasks.spawn(consumer.run(shutdown.clone()));
    start_webhook_delivery(config, owner.clone(), app, keyring, tasks, shutdown);

    let after = Duration::from_millis(config.amqp.sweep_after_ms);
    periodic(tasks, shutdown, Duration::from_millis(config.amqp.sweep_interval_ms), move || {
        let (relay, owner) = (relay.clone(), owner.clone());
        async move {
            if let Err(err) = relay.sweep(&owner, after, SWEEP_BATCH).await {
                tracing::warn!(error = %err, "outbox sweep failed; retrying at the next tick");
            }
        }
    });
    Ok(())
}

fn spec_of(topology: &Topology, name: &str) -> anyhow::Result<ConsumerSpec> {
    topology.consumer(name).cloned().ok_or_else(|| anyhow::anyhow!("consumer `{name}` is not in the topology"))
}

/// Re-embeds the chunks of tenants switching embedding models, `knowledge.reembed_batch` per tenant per
/// tick, and switches each tenant once it is complete (`meta_chat_rag::reembed`).
fn start_model_switches(
    config: &Config,
    owner: DbPool,
    app: DbPool,
    embedders: Embedders,
    knowledge: Arc<meta_chat_shared::config::KnowledgeConfig>,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    let every = Duration::from_millis(config.knowledge.reembed_interval_ms);
    periodic(tasks, shutdown, every, move || {
        let (owner, app, embedders, knowledge) =
            (owner.clone(), app.clone(), embedders.clone(), Arc::clone(&knowledge));
        async move {
            if let Err(err) = meta_chat_rag::reembed::run(&owner, &app, &embedders, &knowledge).await {
                tracing::warn!(error = %err, "embedding model switch failed; retrying at the next tick");
            }
        }
    });
}

/// Sends due tenant webhook deliveries every `webhooks.poll_interval_ms` until `shutdown`.
fn start_webhook_delivery(
    config: &Config,
    owner: DbPool,
    app: DbPool,
    keyring: Arc<Keyring>,
    tasks: &mut JoinSet<()>,
    shutdown: &watch::Receiver<bool>,
) {
    let settings = Arc::new(webhooks::WebhookSettings::from_config(&config.webhooks));
    let every = Duration::from_millis(config.webhooks.poll_interval_ms);
    let stop = shutdown.clone();
    periodic(tasks, shutdown, every, move || {
        let (owner, app, keyring, settings, stop) =
            (owner.clone(), app.clone(), Arc::clone(&keyring), Arc::clone(&settings), stop.clone());
        async move {
            // a full batch means more are due: go again at once
            loop {
                match webhooks::deliver_due(&owner, &app, &keyring, &settings, DELIVERY_BATCH).await {
                    Ok(n) if n >= DELIVERY_BATCH && !*stop.borrow() => {}
                    Ok(_) => break,
                    Err(err) => {
                        tracing::warn!(error = %err, "webhook delivery failed; retrying at the next tick");
                        break;
                    }
                }
            }
        }
    });
}

/// Runs `job` every `every` (a run that overruns delays the next) until `shutdown` turns true.
fn periodic<F, Fut>(tasks: &mut JoinSet<()>, shutdown: &watch::Receiver<bool>, every: Duration, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut stop = shutdown.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => job().await,
            }
        }
    });
}
