//! `run`: the long-running worker. Runs partition maintenance and the integrity check at start and then
//! on their configured intervals, until SIGTERM or Ctrl-C; a job in progress finishes before exit.

use std::time::Duration;

use meta_chat_database::pool;
use meta_chat_shared::Config;
use tokio::time::{MissedTickBehavior, interval};

use crate::commands;

pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let pool = pool::build_admin(&config.database, "metachat-worker")?;
    let mut partitions_tick = interval(Duration::from_secs(config.scheduler.partitions_interval_secs));
    let mut integrity_tick = interval(Duration::from_secs(config.scheduler.integrity_interval_secs));
    partitions_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    integrity_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    tracing::info!("worker started");
    loop {
        tokio::select! {
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
        }
    }
    tracing::info!("worker stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
