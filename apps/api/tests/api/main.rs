//! Black-box tests of the API: the real server on port 0, a per-test database, real RabbitMQ.
//! Needs `TEST_DATABASE_URL` (`source .local/env` after `scripts/services.sh up`) and RabbitMQ on 5672.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests and their helpers fail loudly")]

mod admin;
mod analytics;
mod api_keys;
mod assistant;
mod auth;
mod billing;
mod channels;
mod chat;
mod docs;
mod documents;
mod errors;
mod headers;
mod health;
mod helpers;
mod inbox;
mod integrations;
mod legacy;
mod metrics;
mod model_switch;
mod pipeline;
mod quota;
mod rate_limit;
mod retrieval;
mod route_matrix;
mod shutdown;
mod stripe;
mod team;
mod tenant;
mod webhooks;
