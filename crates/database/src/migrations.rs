//! The migrations under `migrations/`, embedded in the binary and applied explicitly (worker `migrate`),
//! never implicitly at API start. Every migration has a `down.sql`; [`revert`] runs them.

use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{DbError, DbResult};

/// Every migration of the platform, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

async fn with_sync_connection<T, F>(url: &str, f: F) -> DbResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut SyncConnection) -> DbResult<T> + Send + 'static,
{
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = <SyncConnection as diesel::Connection>::establish(&url)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| DbError::Migration(format!("migration task failed: {e}")))?
}

/// Applies every pending migration (each in its own transaction) as the owner role; returns their versions.
pub async fn run_pending(owner_url: &str) -> DbResult<Vec<String>> {
    with_sync_connection(owner_url, |conn| {
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Reverts the last `count` applied migrations, newest first; returns their versions. Stops early when
/// nothing is left to revert.
pub async fn revert(owner_url: &str, count: usize) -> DbResult<Vec<String>> {
    with_sync_connection(owner_url, move |conn| {
        let mut reverted = Vec::new();
        for _ in 0..count {
            let applied = conn.applied_migrations().map_err(|e| DbError::Migration(e.to_string()))?;
            if applied.is_empty() {
                break;
            }
            let version = conn.revert_last_migration(MIGRATIONS).map_err(|e| DbError::Migration(e.to_string()))?;
            reverted.push(version.to_string());
        }
        Ok(reverted)
    })
    .await
}

/// Versions of the migrations applied to the database, oldest first.
pub async fn applied(owner_url: &str) -> DbResult<Vec<String>> {
    with_sync_connection(owner_url, |conn| {
        let mut versions: Vec<String> = conn
            .applied_migrations()
            .map_err(|e| DbError::Migration(e.to_string()))?
            .iter()
            .map(ToString::to_string)
            .collect();
        versions.sort();
        Ok(versions)
    })
    .await
}

/// Versions of the migrations compiled into this binary that are not applied yet.
pub async fn pending(owner_url: &str) -> DbResult<Vec<String>> {
    with_sync_connection(owner_url, |conn| {
        Ok(conn
            .pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    })
    .await
}
