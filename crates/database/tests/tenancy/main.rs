//! Channels and API keys against a real PostgreSQL, through the runtime role (row-level security on):
//! tenant isolation, sealed secrets at rest, uniqueness of connected accounts, pagination, and API key
//! authentication, rotation and revocation.

#![expect(clippy::expect_used, reason = "tests fail loudly")]

mod api_keys;
mod channels;
mod support;
