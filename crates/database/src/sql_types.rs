//! SQL types diesel does not ship, referenced by the generated `schema.rs` (see `diesel.toml`).

/// PostgreSQL `tsvector`: the generated keyword-search column of `chunks`. Only ever read by SQL
/// expressions (`@@`, `ts_rank`), never loaded into Rust.
#[derive(Debug, Clone, Copy, Default, diesel::query_builder::QueryId, diesel::sql_types::SqlType)]
#[diesel(postgres_type(name = "tsvector"))]
pub struct Tsvector;
