//! Schema tests against a real PostgreSQL: migrations round trip, constraints, row-level security.
//! One test binary; each test gets its own database (`TestDb`).

#![expect(clippy::expect_used, reason = "test helpers fail loudly")]
mod constraints;
mod migrations;
mod rls;
mod support;
