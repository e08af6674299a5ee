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

/// `run` performs partition maintenance, the integrity check and the analytics job (yesterday and today) at
/// start, then stops cleanly on SIGTERM.
#[tokio::test]
async fn run_schedules_maintenance_and_stops_on_sigterm() {
    let db = TestDb::new();
    let url = db.owner_url();
    let mut conn = seed::connect(&url).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    seed::exec(
        &mut conn,
        &format!(
            "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status) \
             VALUES ('{}', gen_random_uuid(), '{}', 'inbound', 'contact', 'text', 'hi', 'received')",
            acme.tenant, acme.conversation
        ),
    )
    .await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meta-chat-worker"))
        .arg("run")
        .env("METACHAT_ENVIRONMENT", "test")
        .env("METACHAT_DATABASE__ADMIN_URL", &url)
        .env("METACHAT_TELEMETRY__LOG_FILTER", "warn")
        .env_remove("METACHAT_CONFIG_FILE")
        .spawn()
        .expect("start the worker");
    let mut done = false;
    let today_inbound =
        "SELECT 1 FROM analytics_daily WHERE day = (now() AT TIME ZONE 'UTC')::date AND messages_inbound = 1";
    for _ in 0..200 {
        let partitions =
            seed::exec(&mut conn, "SELECT 1 FROM pg_inherits WHERE inhparent = 'messages'::regclass").await;
        let reports = seed::exec(&mut conn, "SELECT 1 FROM integrity_reports").await;
        let analytics = seed::exec(&mut conn, "SELECT 1 FROM analytics_daily").await;
        if partitions >= 3 && reports >= 1 && analytics == 2 && seed::exec(&mut conn, today_inbound).await == 1 {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(killed.is_ok_and(|s| s.success()), "send SIGTERM");
    let status = child.wait().expect("wait for the worker");
    assert!(done, "the scheduler created partitions, stored an integrity report and aggregated yesterday and today");
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

/// A day `n` days before today (UTC), as `YYYY-MM-DD`.
fn days_ago(n: u64) -> String {
    let today = chrono::Utc::now().date_naive();
    today.checked_sub_days(chrono::Days::new(n)).expect("date").to_string()
}

/// `tenant day messages_inbound` of every stored analytics row.
async fn analytics_rows(conn: &mut meta_chat_database::AsyncPgConnection) -> Vec<String> {
    seed::texts(
        conn,
        "SELECT t.slug || ' ' || a.day || ' ' || a.messages_inbound AS value \
         FROM analytics_daily a JOIN tenants t ON t.id = a.tenant_id ORDER BY t.slug, a.day",
    )
    .await
}

#[tokio::test]
async fn analytics_backfill_replaces_every_tenant_day_of_its_range() {
    let db = TestDb::new();
    let url = db.owner_url();
    let mut conn = seed::connect(&url).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    let globex = seed::tenant_with_conversation(&mut conn, "globex").await;
    let (first, second, third) = (days_ago(6), days_ago(5), days_ago(4));
    seed::inbound_message(&mut conn, &acme, &format!("{first}T10:00:00Z")).await;
    seed::inbound_message(&mut conn, &acme, &format!("{second}T23:59:59.999Z")).await;
    seed::inbound_message(&mut conn, &globex, &format!("{second}T00:00:00Z")).await;

    let range = ["analytics", "backfill", "--from", first.as_str(), "--to", third.as_str()];
    let all = worker(&url, &range);
    assert_eq!(code(&all), 0, "{}", String::from_utf8_lossy(&all.stderr));
    assert!(String::from_utf8_lossy(&all.stdout).contains("aggregated 6 tenant-days (2 tenants"));
    let expected = [
        format!("acme {first} 1"),
        format!("acme {second} 1"),
        format!("acme {third} 0"),
        format!("globex {first} 0"),
        format!("globex {second} 1"),
        format!("globex {third} 0"),
    ];
    assert_eq!(analytics_rows(&mut conn).await, expected);
    let again = worker(&url, &range);
    assert_eq!(code(&again), 0);
    assert_eq!(analytics_rows(&mut conn).await, expected, "a second backfill replaces, never adds");

    // one tenant: only its rows change
    seed::inbound_message(&mut conn, &acme, &format!("{third}T12:00:00Z")).await;
    seed::inbound_message(&mut conn, &globex, &format!("{third}T12:00:00Z")).await;
    let tenant = acme.tenant.to_string();
    let one = worker(&url, &["analytics", "backfill", "--from", &third, "--to", &third, "--tenant", tenant.as_str()]);
    assert_eq!(code(&one), 0, "{}", String::from_utf8_lossy(&one.stderr));
    let rows = analytics_rows(&mut conn).await;
    assert!(rows.contains(&format!("acme {third} 1")), "{rows:?}");
    assert!(rows.contains(&format!("globex {third} 0")), "globex was not re-aggregated: {rows:?}");
}

#[tokio::test]
async fn analytics_backfill_refuses_bad_ranges_and_unknown_tenants_with_exit_2() {
    let db = TestDb::new();
    let url = db.owner_url();
    let mut conn = seed::connect(&url).await;
    seed::tenant_with_conversation(&mut conn, "acme").await;
    let (today, yesterday, tomorrow) = (days_ago(0), days_ago(1), {
        let today = chrono::Utc::now().date_naive();
        today.succ_opt().expect("date").to_string()
    });
    let year_ago = days_ago(366);
    let unknown = uuid::Uuid::now_v7().to_string();
    let refused: [(&[&str], &str); 6] = [
        (&["--from", &today, "--to", &yesterday], "must not be after --to"),
        (&["--from", &year_ago, "--to", &today], "at most 366 days"),
        (&["--from", &today, "--to", &tomorrow], "must not be after today"),
        (&["--from", &yesterday, "--to", &today, "--tenant", &unknown], "no tenant has the id"),
        (&["--from", "2026-13-01", "--to", &today], "invalid value"),
        (&["--from", &yesterday, "--to", &today, "--tenant", "acme"], "invalid value"),
    ];
    for (args, message) in refused {
        let output = worker(&url, &[&["analytics", "backfill"], args].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 2, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(seed::exec(&mut conn, "SELECT 1 FROM analytics_daily").await, 0, "nothing was stored");
    // 366 days is the most a backfill covers
    let longest = worker(&url, &["analytics", "backfill", "--from", &days_ago(365), "--to", &today]);
    assert_eq!(code(&longest), 0, "{}", String::from_utf8_lossy(&longest.stderr));
    assert_eq!(seed::exec(&mut conn, "SELECT 1 FROM analytics_daily").await, 366);
}
