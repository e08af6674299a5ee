//! Accounts data layer (sign-up, users, refresh sessions, email tokens) against a real PostgreSQL, through the
//! runtime role: row-level security applies exactly as in the API.

#![expect(clippy::expect_used, clippy::unwrap_used, reason = "tests fail loudly")]

mod sessions;
mod signup;
mod support;
mod team;
