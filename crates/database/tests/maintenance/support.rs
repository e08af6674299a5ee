//! Connections, small queries and fixture rows for the maintenance tests (tenants, channels, contacts and
//! conversations come from `testkit::seed`).

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The fixed "today" of the partition tests.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("date")
}

pub async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.expect("connect")
}

pub async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> usize {
    diesel::sql_query(sql).execute(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Runs a query whose single text column is named `line`.
pub async fn lines(conn: &mut AsyncPgConnection, sql: &str) -> Vec<String> {
    let rows: Vec<Line> = diesel::sql_query(sql).load(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.line).collect()
}

/// Every partition of `messages` and `api_logs` with its bound, as `partition: bound` (session in UTC).
pub async fn partition_catalog(conn: &mut AsyncPgConnection) -> Vec<String> {
    exec(conn, "SET TimeZone = 'UTC'").await;
    lines(
        conn,
        "SELECT i.inhparent::regclass::text || ' > ' || c.relname || ': ' || pg_get_expr(c.relpartbound, c.oid) AS line \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent IN ('messages'::regclass, 'api_logs'::regclass) ORDER BY 1",
    )
    .await
}

/// The partition a row of `table` with `id` is stored in.
pub async fn partition_of(conn: &mut AsyncPgConnection, table: &str, id: Uuid) -> String {
    let sql = format!("SELECT tableoid::regclass::text AS line FROM {table} WHERE id = $1");
    let mut rows: Vec<Line> =
        diesel::sql_query(&sql).bind::<SqlUuid, _>(id).load(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(rows.len(), 1, "exactly one {table} row {id}");
    rows.remove(0).line
}

pub async fn insert_api_log(conn: &mut AsyncPgConnection, tenant: Uuid, created_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO api_logs (tenant_id, id, method, route, status, duration_ms, created_at) \
         VALUES ($1, $2, 'GET', '/v1/conversations', 200, 12, $3::timestamptz)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(created_at)
    .execute(conn)
    .await
    .expect("insert api log");
    id
}

/// A document of `tenant` (`text/plain`, 10 bytes, version 1) with `status`; returns its id.
pub async fn insert_document(conn: &mut AsyncPgConnection, tenant: Uuid, status: &str, chunk_count: i32) -> Uuid {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO documents (tenant_id, id, filename, mime_type, size_bytes, checksum, status, chunk_count) \
         VALUES ($1, $2, 'a.txt', 'text/plain', 10, sha256(convert_to($2::text, 'UTF8')), $3, $4)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status)
    .bind::<diesel::sql_types::Integer, _>(chunk_count)
    .execute(conn)
    .await
    .expect("insert document");
    id
}

/// A chunk of `document` at `position`; returns its id.
pub async fn insert_chunk(conn: &mut AsyncPgConnection, tenant: Uuid, document: Uuid, position: i32) -> Uuid {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO chunks (tenant_id, id, document_id, document_version, position, content, token_count) \
         VALUES ($1, $2, $3, 1, $4, 'some text', 2)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(document)
    .bind::<diesel::sql_types::Integer, _>(position)
    .execute(conn)
    .await
    .expect("insert chunk");
    id
}

/// An embedding of `chunk` for `model`, with `dims` dimensions.
pub async fn insert_embedding(conn: &mut AsyncPgConnection, tenant: Uuid, chunk: Uuid, model: &str, dims: i32) {
    diesel::sql_query(
        "INSERT INTO chunk_embeddings (tenant_id, chunk_id, model, embedding) \
         VALUES ($1, $2, $3, array_fill(0.1::real, ARRAY[$4::int])::vector)",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(chunk)
    .bind::<Text, _>(model)
    .bind::<diesel::sql_types::Integer, _>(dims)
    .execute(conn)
    .await
    .expect("insert embedding");
}
