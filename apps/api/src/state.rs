//! [`AppState`]: what every handler can reach, built once in [`crate::startup`] and shared by all workers.

use std::sync::Arc;

use meta_chat_database::DbPool;
use meta_chat_shared::config::Config;

/// Shared application state (`web::Data<AppState>`).
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// PostgreSQL pool of the runtime role; connects lazily, so the API starts while the database is down.
    pub db: DbPool,
}
