//! Tracing initialisation: JSON lines in production, pretty output locally. `RUST_LOG` overrides the
//! configured filter. Never log message bodies, phone numbers, tokens or prompts (docs/logging.md).

use std::sync::Once;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{Environment, LogFormat, TelemetryConfig};

/// Installs the global subscriber. Call once, at start-up; a second call returns an error instead of panicking.
pub fn init(environment: Environment, config: &TelemetryConfig) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_filter))
        .map_err(|e| format!("telemetry.log_filter: {e}"))?;
    let json = match config.log_format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => environment == Environment::Production,
    };
    // stderr: stdout is reserved for command output such as `integrity-check --json`
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_writer(std::io::stderr)
        // colours only on a terminal: log files and collectors get plain text
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| e.to_string())
}

/// For tests: idempotent, writes through the test harness, silent unless `TEST_LOG` is set.
pub fn init_for_tests() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug"));
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
    });
}
