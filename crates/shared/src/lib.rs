//! Building blocks every other crate shares: typed ids (UUIDv7 newtypes), the domain enums with strict
//! parsing, layered configuration, tracing initialisation, the AES-256-GCM secret envelope, authentication
//! primitives (argon2id passwords, JWT key ring, opaque tokens), outgoing mail and the typed tenant settings.
//!
//! May depend on: no workspace crate. Names no database, broker or web framework crate.
//!
//! Entry points: [`config::Config::load`], [`telemetry::init`], [`secrets::Keyring`], [`auth::JwtKeys`],
//! [`auth::password`], [`mail::Mailer`], [`settings::TenantSettings`], the ids in [`ids`] and the enums in
//! [`domain`]. Feature `openapi` derives OpenAPI schemas for the types the API shows.
#![warn(missing_docs)]

pub mod api_keys;
pub mod auth;
pub mod config;
pub mod domain;
pub mod ids;
pub mod mail;
pub mod random;
pub mod secrets;
pub mod settings;
pub mod telemetry;

pub use config::{Config, ConfigError, Secret};
pub use domain::{
    ChannelType, ConversationStatus, DeliveryStatus, DocumentStatus, MessageDirection, MessageType, ParseEnumError,
    Plan, TenantStatus, UserRole, UserStatus,
};
pub use ids::ParseIdError;
