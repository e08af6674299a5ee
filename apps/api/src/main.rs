//! `meta-chat-api`: loads the configuration, initialises logging and serves until SIGTERM/SIGINT.

use std::process::ExitCode;

use meta_chat_api::Application;
use meta_chat_shared::{config::Config, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let built = Config::load().map_err(|err| err.to_string()).and_then(|config| {
        telemetry::init(config.environment, &config.telemetry)?;
        Application::build(config).map_err(|err| err.to_string())
    });
    let app = match built {
        Ok(app) => app,
        Err(message) => return startup_failure(&message),
    };
    tracing::info!(port = app.port(), metrics_port = app.metrics_port(), "meta-chat-api listening");
    app.run_until_stopped()
        .await
        .map_or_else(|err| startup_failure(&format!("server failed: {err}")), |()| ExitCode::SUCCESS)
}

#[expect(clippy::print_stderr, reason = "start-up errors are reported before (or instead of) logging")]
fn startup_failure(message: &str) -> ExitCode {
    eprintln!("meta-chat-api: {message}");
    ExitCode::from(2)
}
