//! `integrity-check [--json]`: exit 0 when nothing is critical, 1 when something is, 2 when it could not run.

use std::io::Write as _;
use std::process::ExitCode;

use meta_chat_database::{integrity, pool};
use meta_chat_shared::Config;

pub(crate) async fn run(config: &Config, json: bool, store: bool) -> anyhow::Result<ExitCode> {
    let pool = pool::build_admin(&config.database, "metachat-worker-integrity")?;
    let report = run_once(&pool, store).await?;
    if json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    }
    Ok(if report.has_critical() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Runs every check, logs a summary and (optionally) stores the report; shared with the scheduler.
pub(crate) async fn run_once(pool: &pool::DbPool, store: bool) -> anyhow::Result<integrity::IntegrityReport> {
    let mut conn = pool.get().await?;
    let report = integrity::run(&mut conn).await?;
    for finding in &report.findings {
        tracing::warn!(
            check = finding.check,
            severity = ?finding.severity,
            count = finding.count,
            "integrity finding"
        );
    }
    tracing::info!(findings = report.findings.len(), critical = report.has_critical(), "integrity check done");
    if store {
        integrity::store(&mut conn, &report).await?;
    }
    Ok(report)
}
