//! `migrate`: apply pending migrations, revert the last N, or show status.

use std::process::ExitCode;
use std::time::Instant;

use meta_chat_database::migrations;
use meta_chat_shared::Config;

pub(crate) async fn run(config: &Config, revert: Option<usize>, status: bool) -> anyhow::Result<ExitCode> {
    let url = config.database.admin_url.expose();
    let started = Instant::now();
    if status {
        let applied = migrations::applied(url).await?;
        let pending = migrations::pending(url).await?;
        tracing::info!(applied = applied.len(), pending = pending.len(), ?pending, "migration status");
    } else if let Some(count) = revert {
        let reverted = migrations::revert(url, count).await?;
        let duration_ms = started.elapsed().as_millis();
        tracing::info!(count = reverted.len(), ?reverted, duration_ms, "migrations reverted");
    } else {
        let applied = migrations::run_pending(url).await?;
        let duration_ms = started.elapsed().as_millis();
        tracing::info!(count = applied.len(), ?applied, duration_ms, "migrations applied");
    }
    Ok(ExitCode::SUCCESS)
}
