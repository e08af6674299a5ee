//! WhatsApp Cloud API, Messenger and web chat channel adapters: webhook verification handshakes, signature
//! checks, parsing and normalising inbound deliveries, and sending outbound messages through the Graph API.
//!
//! May depend on: `meta-chat-shared` only. Does not touch the database or the broker: callers persist what it parses.
//!
//! Status: channel configuration is here — typed per-type validation ([`config`]), sealing secrets into
//! ready-to-store records and opening them again ([`record`]); the adapters arrive with the message pipeline issue.
//!
//! Entry points: [`validate_create`], [`prepare_create`], [`prepare_update`], [`open_secret`], [`ChannelConfig::parse`].
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod record;
pub mod validation;

pub use config::{ChannelConfig, MessengerConfig, SecretField, WebChatConfig, WhatsAppConfig};
pub use error::ChannelsError;
pub use record::{
    ChannelUpdate, CreateChannel, NewChannelRecord, SealedConfig, StoredChannel, UpdateChannel, ValidatedChannel,
    associated_data, generate_widget_key, open_secret, prepare_create, prepare_update, secrets_set, validate_create,
};
pub use validation::{FieldError, ValidationErrors};
