//! The worker's subcommands, run as a real process against a per-test database.

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

use std::process::{Command, Output};

use meta_chat_database::testkit::{TestDb, seed};

fn worker(db_owner_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meta-chat-worker"))
        .args(args)
        .env("METACHAT_ENVIRONMENT", "test")
        .env("METACHAT_DATABASE__ADMIN_URL", db_owner_url)
        .env("METACHAT_DATABASE__CONNECT_TIMEOUT_MS", "2000")
        .env("METACHAT_TELEMETRY__LOG_FILTER", "warn")
        .env_remove("METACHAT_CONFIG_FILE")
        .output()
        .expect("run meta-chat-worker")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn report(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a JSON report ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[tokio::test]
async fn integrity_check_exit_codes_follow_the_findings() {
    let db = TestDb::new();
    let url = db.owner_url();
    let ensured = worker(&url, &["partitions", "ensure"]);
    assert_eq!(code(&ensured), 0, "{}", String::from_utf8_lossy(&ensured.stderr));

    let clean = worker(&url, &["integrity-check", "--json"]);
    assert_eq!(code(&clean), 0, "clean database: {}", String::from_utf8_lossy(&clean.stdout));
    assert!(report(&clean)["findings"].as_array().is_some());

    // seed a critical defect: an orphan message, possible only once its foreign key is gone
    let mut conn = seed::connect(&url).await;
    let seeded = seed::tenant_with_conversation(&mut conn, "acme").await;
    seed::exec(&mut conn, "ALTER TABLE messages DROP CONSTRAINT messages_tenant_id_conversation_id_fkey").await;
    seed::inbound_message(
        &mut conn,
        &seed::Seeded { conversation: uuid::Uuid::now_v7(), ..seeded },
        "2026-11-20T00:00:00Z",
    )
    .await;

    let broken = worker(&url, &["integrity-check", "--json"]);
    assert_eq!(code(&broken), 1, "critical findings exit 1: {}", String::from_utf8_lossy(&broken.stdout));
    let findings = report(&broken)["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings.iter().any(|f| f["severity"] == "critical" && f["count"].as_i64() >= Some(1)),
        "a critical finding is reported: {findings:?}"
    );

    let stored = seed::exec(&mut conn, "SELECT id FROM integrity_reports").await;
    assert_eq!(stored, 2, "each run stores its report");
}

#[test]
fn integrity_check_that_cannot_connect_exits_2() {
    let output = worker("postgres://metachat_owner@127.0.0.1:9/nowhere", &["integrity-check", "--json"]);
    assert_eq!(code(&output), 2);
}

#[test]
fn invalid_configuration_names_the_key_and_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_meta-chat-worker"))
        .args(["migrate", "--status"])
        .env("METACHAT_DATABASE__MAX_CONNECTIONS", "many")
        .output()
        .expect("run meta-chat-worker");
    assert_eq!(code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.max_connections"), "{stderr}");
}

#[test]
fn migrate_reverts_and_reapplies() {
    let db = TestDb::new();
    let url = db.owner_url();
    let reverted = worker(&url, &["migrate", "--revert", "2"]);
    assert_eq!(code(&reverted), 0, "{}", String::from_utf8_lossy(&reverted.stderr));
    let status = worker(&url, &["migrate", "--status"]);
    assert_eq!(code(&status), 0);
    let applied = worker(&url, &["migrate"]);
    assert_eq!(code(&applied), 0, "{}", String::from_utf8_lossy(&applied.stderr));
    let again = worker(&url, &["migrate"]);
    assert_eq!(code(&again), 0, "nothing pending is fine");
}

/// `run` performs partition maintenance and the integrity check at start, then stops cleanly on SIGTERM.
#[tokio::test]
async fn run_schedules_maintenance_and_stops_on_sigterm() {
    let db = TestDb::new();
    let url = db.owner_url();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meta-chat-worker"))
        .arg("run")
        .env("METACHAT_ENVIRONMENT", "test")
        .env("METACHAT_DATABASE__ADMIN_URL", &url)
        .env("METACHAT_TELEMETRY__LOG_FILTER", "warn")
        .env_remove("METACHAT_CONFIG_FILE")
        .spawn()
        .expect("start the worker");
    let mut conn = seed::connect(&url).await;
    let mut done = false;
    for _ in 0..200 {
        let partitions =
            seed::exec(&mut conn, "SELECT 1 FROM pg_inherits WHERE inhparent = 'messages'::regclass").await;
        let reports = seed::exec(&mut conn, "SELECT 1 FROM integrity_reports").await;
        if partitions >= 3 && reports >= 1 {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(killed.is_ok_and(|s| s.success()), "send SIGTERM");
    let status = child.wait().expect("wait for the worker");
    assert!(done, "the scheduler created partitions and stored an integrity report");
    assert_eq!(status.code(), Some(0), "graceful stop on SIGTERM");
}

/// Runs the worker with `stdin` piped in.
fn worker_with_stdin(db_owner_url: &str, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_meta-chat-worker"))
        .args(args)
        .env("METACHAT_ENVIRONMENT", "test")
        .env("METACHAT_DATABASE__ADMIN_URL", db_owner_url)
        .env("METACHAT_DATABASE__CONNECT_TIMEOUT_MS", "2000")
        .env("METACHAT_TELEMETRY__LOG_FILTER", "warn")
        .env_remove("METACHAT_CONFIG_FILE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start meta-chat-worker");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write the password");
    child.wait_with_output().expect("wait for meta-chat-worker")
}

const ADMIN_PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn create_admin_hashes_the_password_from_stdin_and_audits_it() {
    let db = TestDb::new();
    let url = db.owner_url();
    let args = ["create-admin", "--email", " Ops@Example.com ", "--name", "Ops"];
    let created = worker_with_stdin(&url, &args, &format!("{ADMIN_PASSWORD}\n"));
    assert_eq!(code(&created), 0, "{}", String::from_utf8_lossy(&created.stderr));
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    assert!(uuid::Uuid::try_parse(&id).is_ok(), "prints the new admin's id: {id}");

    let mut conn = seed::connect(&url).await;
    let rows = seed::texts(
        &mut conn,
        &format!("SELECT email || ' ' || name || ' ' || password_hash AS value FROM platform_admins WHERE id = '{id}'"),
    )
    .await;
    let [row] = rows.as_slice() else { panic!("one admin row: {rows:?}") };
    let mut parts = row.splitn(3, ' ');
    assert_eq!(parts.next(), Some("ops@example.com"), "email stored lower case");
    assert_eq!(parts.next(), Some("Ops"));
    let hash = parts.next().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(meta_chat_shared::auth::password::verify(ADMIN_PASSWORD, hash), "the line break is not part of it");
    let audit = seed::texts(
        &mut conn,
        "SELECT action || ' ' || coalesce(tenant_id::text, 'platform') || ' ' || target_id AS value FROM audit_log",
    )
    .await;
    assert_eq!(audit, [format!("admin.account_created platform {id}")]);

    let again = worker_with_stdin(&url, &args, ADMIN_PASSWORD);
    assert_eq!(code(&again), 2, "a taken email is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(seed::exec(&mut conn, "SELECT 1 FROM platform_admins").await, 1);
}

#[tokio::test]
async fn create_admin_refuses_short_or_missing_passwords() {
    let db = TestDb::new();
    let url = db.owner_url();
    let args = ["create-admin", "--email", "ops@example.com", "--name", "Ops"];
    for stdin in ["", "\n", "elevenchars\n"] {
        let refused = worker_with_stdin(&url, &args, stdin);
        assert_eq!(code(&refused), 2, "{stdin:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("at least 12 characters"), "{stdin:?}");
    }
    // the password is not an argument: clap refuses one
    let on_the_command_line = worker_with_stdin(
        &url,
        &["create-admin", "--email", "ops@example.com", "--name", "Ops", "--password", "x"],
        "",
    );
    assert_eq!(code(&on_the_command_line), 2);
    let bad_email = worker_with_stdin(&url, &["create-admin", "--email", "ops", "--name", "Ops"], ADMIN_PASSWORD);
    assert_eq!(code(&bad_email), 2);
    let mut conn = seed::connect(&url).await;
    assert_eq!(seed::exec(&mut conn, "SELECT 1 FROM platform_admins").await, 0, "nothing was created");
}

#[tokio::test]
async fn admins_can_be_disabled_enabled_and_given_a_new_password() {
    let db = TestDb::new();
    let url = db.owner_url();
    let created =
        worker_with_stdin(&url, &["create-admin", "--email", "ops@example.com", "--name", "Ops"], ADMIN_PASSWORD);
    assert_eq!(code(&created), 0, "{}", String::from_utf8_lossy(&created.stderr));
    let mut conn = seed::connect(&url).await;
    let disabled_count = "SELECT 1 FROM platform_admins WHERE disabled_at IS NOT NULL";

    let disabled = worker_with_stdin(&url, &["disable-admin", "--email", "OPS@example.com"], "");
    assert_eq!(code(&disabled), 0, "{}", String::from_utf8_lossy(&disabled.stderr));
    assert_eq!(seed::exec(&mut conn, disabled_count).await, 1);
    let enabled = worker_with_stdin(&url, &["enable-admin", "--email", "ops@example.com"], "");
    assert_eq!(code(&enabled), 0);
    assert_eq!(seed::exec(&mut conn, disabled_count).await, 0);
    let unknown = worker_with_stdin(&url, &["disable-admin", "--email", "nobody@example.com"], "");
    assert_eq!(code(&unknown), 2);

    let changed =
        worker_with_stdin(&url, &["set-admin-password", "--email", "ops@example.com"], "another long password");
    assert_eq!(code(&changed), 0, "{}", String::from_utf8_lossy(&changed.stderr));
    let hash = seed::texts(&mut conn, "SELECT password_hash AS value FROM platform_admins").await.remove(0);
    assert!(meta_chat_shared::auth::password::verify("another long password", &hash));
    let actions = seed::texts(&mut conn, "SELECT action AS value FROM audit_log ORDER BY created_at, id").await;
    assert_eq!(
        actions,
        ["admin.account_created", "admin.account_disabled", "admin.account_enabled", "admin.password_changed"]
    );
}
