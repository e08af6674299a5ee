//! [`DbError`]: what the database layer can fail with, in terms callers can act on.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Result alias for this crate.
pub type DbResult<T> = Result<T, DbError>;

/// A database failure. Messages never include SQL text or bound values.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique constraint rejected the write; carries the constraint name.
    #[error("unique constraint `{0}` violated")]
    Conflict(String),
    /// A foreign key rejected the write (the parent does not exist for this tenant).
    #[error("foreign key `{0}` violated")]
    ForeignKey(String),
    /// A CHECK or NOT NULL constraint rejected the write.
    #[error("constraint `{0}` violated")]
    Check(String),
    /// No connection could be obtained from the pool in time.
    #[error("no database connection available: {0}")]
    Pool(String),
    /// Connecting to the database failed.
    #[error("database connection failed: {0}")]
    Connection(String),
    /// Applying or reverting migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// An argument was refused before anything was executed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Any other query failure.
    #[error("query failed: {0}")]
    Query(DieselError),
}

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        match &err {
            DieselError::DatabaseError(kind, info) => {
                let name = info.constraint_name().unwrap_or("unknown").to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => Self::Conflict(name),
                    DatabaseErrorKind::ForeignKeyViolation => Self::ForeignKey(name),
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => Self::Check(name),
                    _ => Self::Query(err),
                }
            }
            _ => Self::Query(err),
        }
    }
}

impl From<diesel::ConnectionError> for DbError {
    fn from(err: diesel::ConnectionError) -> Self {
        Self::Connection(err.to_string())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for DbError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Pool(err.to_string())
    }
}
