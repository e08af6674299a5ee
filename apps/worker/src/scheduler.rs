//! `run`: the long-running worker. Starts the message pipeline's consumers and outbox sweeper
//! ([`crate::pipeline`]), runs partition maintenance and the integrity check at start and then on their
//! configured intervals, and the analytics job at start and then hourly (today every hour, yesterday once
//! more after midnight: [`commands::analytics`]), until SIGTERM or Ctrl-C; a job in progress finishes before
//! exit, and consumers stop without acknowledging what they had not finished (it is redelivered).

use std::time::Duration;

use meta_chat_database::pool;
use meta_chat_shared::Config;
use tokio::time::{MissedTickBehavior, interval};

use crate::commands;

/// Between two runs of the analytics job: today's numbers are at most this old in `analytics_daily` (the
/// endpoints compute today live anyway), and yesterday is finalised within this time after midnight.
const ANALYTICS_INTERVAL: Duration = Duration::from_secs(3600);

pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let pool = pool::build_admin(&config.database, "metachat-worker")?;
    let mut partitions_tick = interval(Duration::from_secs(config.scheduler.partitions_interval_secs));
    let mut integrity_tick = interval(Duration::from_secs(config.scheduler.integrity_interval_secs));
    partitions_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    integrity_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut analytics_tick = interval(ANALYTICS_INTERVAL);
    analytics_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut analytics_schedule = commands::analytics::Schedule::default();
    let shutdown = shutdown_signal()?;
    tokio::pin!(shutdown);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    crate::pipeline::start(&config, pool.clone(), &mut tasks, &stopped)?;
    tracing::info!("worker started");
    loop {
        tokio::select! {
            // shutdown first: a pending signal wins over a due job
            biased;
            () = &mut shutdown => break,
            _ = partitions_tick.tick() => {
                // a failed run is logged and retried at the next tick; the worker keeps serving
                if let Err(err) = commands::partitions::run_once(&pool, &config).await {
                    tracing::error!(error = %format!("{err:#}"), "partition maintenance failed");
                }
            }
            _ = integrity_tick.tick() => {
                if let Err(err) = commands::integrity::run_once(&pool, true).await {
                    tracing::error!(error = %format!("{err:#}"), "integrity check failed");
                }
            }
            _ = analytics_tick.tick() => {
                if let Err(err) = commands::analytics::run_once(&pool, &mut analytics_schedule).await {
                    tracing::error!(error = %format!("{err:#}"), "analytics aggregation failed");
                }
            }
        }
    }
    let _ = stop.send(true);
    if tokio::time::timeout(Duration::from_secs(10), async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("pipeline tasks did not stop within 10 s; aborting them");
        tasks.abort_all();
    }
    tracing::info!("worker stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed before this returns, so a signal that arrives
/// while a job is running is not lost (and does not kill the process mid-job).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}
