//! Every migration runs up, every down.sql runs, and the schema after a second up equals the first.

use std::process::Command;

use meta_chat_database::migrations;
use meta_chat_database::testkit::TestDb;

use crate::support::{connect, count};

/// A schema-only dump with a fixed restrict key, so two dumps of equal schemas are byte-identical.
fn schema_dump(db: &TestDb) -> String {
    let bin = std::env::var("METACHAT_PG_BIN")
        .expect("METACHAT_PG_BIN must point at the PostgreSQL 18 binaries (source .local/env)");
    let output = Command::new(format!("{bin}/pg_dump"))
        .args(["--schema-only", "--no-owner", "--restrict-key=schemacompare", "--dbname", &db.superuser_url()])
        .output()
        .expect("run pg_dump");
    assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 dump")
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again_to_the_same_schema() {
    let db = TestDb::empty();
    let all = migrations::run_pending(&db.owner_url()).await.expect("first up");
    assert!(all.len() >= 7, "expected every migration to apply, got {all:?}");
    assert!(migrations::pending(&db.owner_url()).await.unwrap().is_empty());
    let first = schema_dump(&db);
    assert!(first.contains("CREATE TABLE public.messages"), "dump has the schema");

    let reverted = migrations::revert(&db.owner_url(), all.len()).await.expect("all down");
    assert_eq!(reverted.len(), all.len(), "every down.sql ran");
    let mut conn = connect(&db.owner_url()).await;
    let tables = count(
        &mut conn,
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'",
    )
    .await;
    assert_eq!(tables, 0, "down.sql files leave no table behind");
    let functions = count(&mut conn, "SELECT count(*) AS n FROM pg_proc WHERE proname LIKE 'app\\_%'").await;
    assert_eq!(functions, 0, "down.sql files leave no app_ function behind");
    drop(conn);

    let again = migrations::run_pending(&db.owner_url()).await.expect("second up");
    assert_eq!(again, all);
    let second = schema_dump(&db);
    assert_eq!(first, second, "schema after down + up differs from the first up");
}

#[tokio::test]
async fn revert_one_then_reapply() {
    let db = TestDb::new();
    let applied = migrations::applied(&db.owner_url()).await.unwrap();
    let reverted = migrations::revert(&db.owner_url(), 1).await.unwrap();
    assert_eq!(reverted.as_slice(), &applied[applied.len() - 1..]);
    assert_eq!(migrations::pending(&db.owner_url()).await.unwrap(), reverted);
    let reapplied = migrations::run_pending(&db.owner_url()).await.unwrap();
    assert_eq!(reapplied, reverted);
}
