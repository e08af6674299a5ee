//! Agent inbox data layer against a real PostgreSQL, through the runtime role (row-level security on).

#![expect(clippy::expect_used, reason = "tests fail loudly")]

mod contacts;
mod conversations;
mod support;
mod usage;
