//! Partition maintenance and the integrity checker, against a real PostgreSQL. One test binary; each test
//! gets its own database (`TestDb`).

#![expect(clippy::expect_used, clippy::unwrap_used, reason = "tests fail loudly")]
mod integrity;
mod partitions;
mod support;
