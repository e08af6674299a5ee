//! Daily analytics against a real PostgreSQL, through the runtime role (row-level security on): a seeded
//! dataset with known numbers (two tenants, messages on both sides of midnight, a hand-off, a silent
//! decision, failed outbound messages) aggregates to hand-computed values; re-aggregating replaces a day;
//! another tenant is never counted; the window reads fill gaps and compute the live day.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

mod aggregate;
mod dataset;
mod reads;
