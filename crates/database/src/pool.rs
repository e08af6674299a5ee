//! The connection pool: diesel-async on deadpool. Every new connection gets the configured
//! `statement_timeout` and an `application_name`, so a runaway query is cut off and visible in
//! `pg_stat_activity`.

use std::time::Duration;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::FutureExt as _;
use meta_chat_shared::config::DatabaseConfig;

use crate::error::{DbError, DbResult};

/// A pool of connections.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection checked out of a [`DbPool`].
pub type PooledConnection = Object<AsyncPgConnection>;

/// Settings for [`build_with`]; [`build`] derives them from configuration.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Maximum number of open connections.
    pub max_size: usize,
    /// `statement_timeout` for every statement.
    pub statement_timeout: Duration,
    /// How long to wait for a connection (new or pooled).
    pub connect_timeout: Duration,
    /// Reported in `pg_stat_activity`.
    pub application_name: String,
}

/// Builds the application pool (runtime role) from configuration. Connects lazily.
pub fn build(config: &DatabaseConfig, application_name: &str) -> DbResult<DbPool> {
    build_with(config.url.expose(), &options(config, application_name))
}

/// Builds a pool of the owner role (`database.admin_url`) for migrations and maintenance.
pub fn build_admin(config: &DatabaseConfig, application_name: &str) -> DbResult<DbPool> {
    let mut options = options(config, application_name);
    // maintenance runs a handful of statements at a time
    options.max_size = options.max_size.min(4);
    build_with(config.admin_url.expose(), &options)
}

fn options(config: &DatabaseConfig, application_name: &str) -> PoolOptions {
    PoolOptions {
        max_size: config.max_connections,
        statement_timeout: Duration::from_millis(config.statement_timeout_ms),
        connect_timeout: Duration::from_millis(config.connect_timeout_ms),
        application_name: application_name.to_owned(),
    }
}

/// Builds a pool for `url` with explicit options. Connects lazily.
pub fn build_with(url: &str, options: &PoolOptions) -> DbResult<DbPool> {
    let setup = format!(
        "SET statement_timeout = {}; SET application_name = '{}'",
        options.statement_timeout.as_millis(),
        // application_name is chosen by our own code; keep it to a safe alphabet anyway
        options
            .application_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>()
    );
    let connect_timeout = options.connect_timeout;
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.custom_setup = Box::new(move |url| {
        let setup = setup.clone();
        async move {
            let mut conn = tokio::time::timeout(connect_timeout, AsyncPgConnection::establish(url))
                .await
                .map_err(|_| diesel::ConnectionError::BadConnection("connect timed out".into()))??;
            conn.batch_execute(&setup).await.map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
    Pool::builder(manager)
        .max_size(options.max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(options.connect_timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Checks that the database answers a trivial query within `timeout`. Used by readiness probes.
pub async fn ping(pool: &DbPool, timeout: Duration) -> DbResult<()> {
    let check = async {
        let mut conn = pool.get().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok::<_, DbError>(())
    };
    tokio::time::timeout(timeout, check).await.map_err(|_| DbError::Pool("database check timed out".into()))?
}

/// Closes `conn` instead of returning it to the pool (its session holds state that must not be reused, such as
/// an advisory lock that could not be released).
pub fn discard(conn: PooledConnection) {
    drop(Object::take(conn));
}
