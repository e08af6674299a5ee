//! `meta-chat-worker`: see the library crate for what each subcommand does.

use std::process::ExitCode;

use clap::Parser as _;
use meta_chat_worker::{Cli, run_cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    run_cli(cli).await
}
