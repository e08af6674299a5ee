//! `partitions ensure`: create monthly partitions ahead, move DEFAULT rows, drop expired `api_logs` partitions.

use std::process::ExitCode;

use meta_chat_database::{partitions, pool};
use meta_chat_shared::Config;

pub(crate) async fn ensure(config: &Config) -> anyhow::Result<ExitCode> {
    let pool = pool::build_admin(&config.database, "metachat-worker-partitions")?;
    run_once(&pool, config).await?;
    Ok(ExitCode::SUCCESS)
}

/// One maintenance pass; shared with the scheduler.
pub(crate) async fn run_once(pool: &pool::DbPool, config: &Config) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let today = chrono::Utc::now().date_naive();
    let summary = partitions::ensure_all(
        &mut conn,
        today,
        config.partitions.months_ahead,
        config.partitions.api_logs_retention_months,
    )
    .await?;
    tracing::info!(?summary, "partition maintenance done");
    Ok(())
}
