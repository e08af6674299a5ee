//! WhatsApp Cloud API, Messenger and web chat channel adapters: webhook verification handshakes, signature
//! checks, parsing and normalising inbound deliveries, and sending outbound messages through the Graph API.
//!
//! May depend on: `meta-chat-shared` only. Does not touch the database or the broker: callers persist what it parses.
//!
//! Status: channel configuration is here — typed per-type validation ([`config`]), sealing secrets into
//! ready-to-store records and opening them again ([`record`]); the Graph API client sends outbound WhatsApp and
//! Messenger messages, downloads inbound WhatsApp media, classifies Graph errors and paces sends per number
//! ([`graph`]); Meta webhook signatures and the subscription handshake are checked ([`signature`]) and WhatsApp
//! and Messenger deliveries are parsed into one channel-neutral model ([`inbound`], [`whatsapp`], [`messenger`]);
//! the adapters arrive with the message pipeline issue.
//!
//! Entry points: [`validate_create`], [`prepare_create`], [`prepare_update`], [`open_secret`], [`ChannelConfig::parse`],
//! [`GraphClient`], [`SendRateLimiter`], [`verify_meta_signature`], [`verify_subscription`], [`parse_whatsapp`],
//! [`parse_messenger`].
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod graph;
pub mod inbound;
pub mod messenger;
pub mod record;
pub mod signature;
pub mod validation;
pub mod whatsapp;

pub use config::{ChannelConfig, MessengerConfig, SecretField, TemplateRef, WebChatConfig, WhatsAppConfig};
pub use error::ChannelsError;
pub use graph::{
    DownloadedMedia, GraphClient, GraphError, MediaKind, MessageTag, OutboundContent, QuickReply, SendError,
    SendErrorKind, SendRateLimiter, SenderAction, SentMessage, WINDOW_CLOSED_CODE,
};
pub use inbound::{
    DeliveryReceipt, InboundBatch, InboundContact, InboundMessage, ParseError, ProviderError, ReceiptTarget,
};
pub use messenger::parse_messenger;
pub use record::{
    ChannelUpdate, CreateChannel, NewChannelRecord, SealedConfig, StoredChannel, UpdateChannel, ValidatedChannel,
    associated_data, generate_widget_key, open_secret, prepare_create, prepare_update, secrets_set, validate_create,
};
pub use signature::{HandshakeError, SignatureError, sign_meta_body, verify_meta_signature, verify_subscription};
pub use validation::{FieldError, ValidationErrors};
pub use whatsapp::parse_whatsapp;
