//! Small helpers shared by the schema tests.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use meta_chat_database::DbError;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.expect("connect")
}

pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).await.expect(sql).n
}

/// Runs a statement and returns the database's verdict, mapped to `DbError`.
pub async fn try_exec(conn: &mut AsyncPgConnection, sql: &str) -> Result<usize, DbError> {
    diesel::sql_query(sql).execute(conn).await.map_err(DbError::from)
}
