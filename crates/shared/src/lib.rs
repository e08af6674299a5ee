//! Building blocks every other crate shares: typed ids (UUIDv7 newtypes), the domain enums with strict
//! parsing, layered configuration, tracing initialisation and the AES-256-GCM secret envelope.
//!
//! May depend on: no workspace crate. Names no database, broker or web framework crate.
//!
//! Entry points: [`config::Config::load`], [`telemetry::init`], [`secrets::Keyring`], the ids in [`ids`]
//! and the enums in [`domain`].
#![warn(missing_docs)]

pub mod config;
pub mod domain;
pub mod ids;
pub mod secrets;
pub mod telemetry;

pub use config::{Config, ConfigError, Secret};
pub use domain::{
    ChannelType, ConversationStatus, DeliveryStatus, DocumentStatus, MessageDirection, MessageType, ParseEnumError,
    UserRole,
};
pub use ids::ParseIdError;
