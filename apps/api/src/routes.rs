//! Route registration. The same health routes answer at the root (for probes) and under `/api/v1`;
//! everything else lives under `/api/v1` (and, through the legacy alias, under `/api`).
//!
//! Register routes as `web::resource(path).route(web::get().to(handler))`, not `cfg.route(path, ...)`:
//! the latter puts the method guard on the resource itself, so a wrong method answers 404 instead of
//! 405 with `Allow`.

pub mod admin;
pub mod analytics;
pub mod api_keys;
pub mod auth;
pub mod billing;
pub mod channels;
pub mod chat;
pub mod contacts;
pub mod conversations;
pub mod docs;
pub mod documents;
pub mod health;
pub mod integrations;
pub mod media;
pub mod team;
pub mod tenant;
pub mod webhooks;

use actix_web::{HttpResponse, web};

use crate::error::ApiError;

/// The versioned base path.
pub const API_V1: &str = "/api/v1";

/// Routes served outside `/api/v1`.
pub fn configure_root(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
}

/// Routes served under `/api/v1`.
pub fn configure_v1(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    docs::configure(cfg);
    auth::configure(cfg);
    billing::configure(cfg);
    analytics::configure(cfg);
    conversations::configure(cfg);
    media::configure(cfg);
    contacts::configure(cfg);
    api_keys::configure(cfg);
    channels::configure(cfg);
    integrations::configure(cfg);
    admin::configure(cfg);
    tenant::configure(cfg);
    team::configure(cfg);
    webhooks::configure(cfg);
    documents::configure(cfg);
    chat::configure(cfg);
}

/// The default service: no route matches the path.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
