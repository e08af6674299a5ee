//! The worker binary: database migrations, partition maintenance, integrity checks, platform-admin accounts,
//! the analytics backfill, and the long-running `run` mode: the message pipeline's queue consumers, the
//! outbox sweeper, and the scheduled jobs (maintenance, daily analytics). No business
//! logic lives here: every command is a thin call into a domain crate.
//!
//! May depend on: any workspace crate. Names no web framework.

mod commands;
pub mod pipeline;
mod scheduler;

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use meta_chat_shared::Config;
use meta_chat_shared::ids::TenantId;

/// Command line of `meta-chat-worker`. Configuration comes from defaults, `metachat.toml` and `METACHAT_*`.
#[derive(Debug, Parser)]
#[command(name = "meta-chat-worker", version, about = "Meta Chat Platform worker")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Worker subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (as the owner role, `database.admin_url`), or revert the last N.
    Migrate {
        /// Revert the last N applied migrations instead of applying pending ones.
        #[arg(long, value_name = "N")]
        revert: Option<usize>,
        /// Only list applied and pending migrations.
        #[arg(long, conflicts_with = "revert")]
        status: bool,
    },
    /// Partition maintenance.
    Partitions {
        /// Partition action.
        #[command(subcommand)]
        action: PartitionsAction,
    },
    /// Run every integrity check; exit 1 when a critical finding exists, 2 when the check could not run.
    IntegrityCheck {
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Do not store the report in `integrity_reports`.
        #[arg(long)]
        no_store: bool,
    },
    /// Daily analytics.
    Analytics {
        /// Analytics action.
        #[command(subcommand)]
        action: AnalyticsAction,
    },
    /// The knowledge base.
    Knowledge {
        /// Knowledge action.
        #[command(subcommand)]
        action: KnowledgeAction,
    },
    /// Run the scheduler (partitions and retention daily, integrity daily, analytics hourly) until SIGTERM or
    /// Ctrl-C.
    Run,
    /// Create a platform admin. The password (12–128 characters) is read from standard input, never from
    /// the command line: `printf '%s' "$PW" | meta-chat-worker create-admin --email ops@example.com --name Ops`.
    /// Prints the new admin's id.
    CreateAdmin {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Disable a platform admin: no more logins, and tokens already issued stop working.
    DisableAdmin {
        /// The admin's login email.
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled platform admin.
    EnableAdmin {
        /// The admin's login email.
        #[arg(long)]
        email: String,
    },
    /// Set a platform admin's password, read from standard input like `create-admin`'s.
    SetAdminPassword {
        /// The admin's login email.
        #[arg(long)]
        email: String,
    },
}

/// Partition actions.
#[derive(Debug, Subcommand)]
pub enum PartitionsAction {
    /// Create monthly partitions ahead, move rows out of DEFAULT partitions, drop expired `api_logs` partitions.
    Ensure,
}

/// Analytics actions.
#[derive(Debug, Subcommand)]
pub enum AnalyticsAction {
    /// Aggregate every UTC day from `--from` to `--to` (both included, at most 366 days, not after today) again,
    /// replacing the stored days, for every tenant or only `--tenant`. Exit 0 when every tenant-day was stored,
    /// 2 otherwise.
    Backfill {
        /// First day.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        /// Last day.
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
        /// Only this tenant.
        #[arg(long, value_name = "UUID")]
        tenant: Option<TenantId>,
    },
}

/// Knowledge base actions.
#[derive(Debug, Subcommand)]
pub enum KnowledgeAction {
    /// Start switching a tenant to another embedding model (one this worker's configuration embeds with:
    /// `local-hash-384` or `llm.embedding.model`). The running worker builds the new vectors beside the old
    /// ones; queries use the old model until every chunk has a new vector, then switch. Naming the active
    /// model cancels a switch under way.
    SwitchModel {
        /// The tenant.
        #[arg(long, value_name = "UUID")]
        tenant: TenantId,
        /// The model name.
        #[arg(long)]
        model: String,
    },
}

/// Exit code for "the command could not run" (configuration, connection, SQL errors).
pub const EXIT_ERROR: u8 = 2;

/// Loads configuration, initialises logging and runs one command.
pub async fn run_cli(cli: Cli) -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(err) => {
            report_startup_error(&err.to_string());
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if let Err(err) = meta_chat_shared::telemetry::init(config.environment, &config.telemetry) {
        report_startup_error(&err);
        return ExitCode::from(EXIT_ERROR);
    }
    let result = match cli.command {
        Command::Migrate { revert, status } => commands::migrate::run(&config, revert, status).await,
        Command::Partitions { action: PartitionsAction::Ensure } => commands::partitions::ensure(&config).await,
        Command::IntegrityCheck { json, no_store } => commands::integrity::run(&config, json, !no_store).await,
        Command::Analytics { action: AnalyticsAction::Backfill { from, to, tenant } } => {
            commands::analytics::backfill(&config, from, to, tenant).await
        }
        Command::Knowledge { action: KnowledgeAction::SwitchModel { tenant, model } } => {
            commands::knowledge::switch_model(&config, tenant, &model).await
        }
        Command::Run => scheduler::run(config).await.map(|()| ExitCode::SUCCESS),
        Command::CreateAdmin { email, name } => commands::admins::create(&config, &email, &name).await,
        Command::DisableAdmin { email } => commands::admins::set_disabled(&config, &email, true).await,
        Command::EnableAdmin { email } => commands::admins::set_disabled(&config, &email, false).await,
        Command::SetAdminPassword { email } => commands::admins::set_password(&config, &email).await,
    };
    result.unwrap_or_else(|err| {
        tracing::error!(error = %format!("{err:#}"), "command failed");
        ExitCode::from(EXIT_ERROR)
    })
}

#[expect(clippy::print_stderr, reason = "start-up errors happen before logging exists")]
fn report_startup_error(message: &str) {
    eprintln!("meta-chat-worker: {message}");
}
