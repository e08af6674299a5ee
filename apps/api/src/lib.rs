//! `meta-chat-api`: the public HTTP API (actix-web). Routes, extractors, middleware and the OpenAPI
//! document; no business logic and no SQL — handlers call the domain crates.
//!
//! May depend on: every workspace crate. The only crate allowed to name `actix-web` and `actix-cors`.
//!
//! Entry points: [`startup::Application`] (build, bind, run), [`error::ApiError`] (the error envelope),
//! [`openapi::ApiDoc`]. Conventions: `/work/shared/API.md`; middleware order: [`middleware`].

pub mod accounts;
pub mod caller;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openapi;
pub mod payload;
pub mod platform;
pub mod prometheus;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tenancy;

pub use error::{ApiError, ErrorCode};
pub use startup::{Application, StartupError, StopHandle};
