//! The WhatsApp Cloud API channel: reading webhook deliveries (`object: "whatsapp_business_account"`) into
//! the channel-neutral [`crate::inbound`] model. Signatures and the subscription handshake are shared with
//! Messenger and live in [`crate::signature`].

mod content;
mod inbound;

pub use inbound::parse_whatsapp;

#[cfg(test)]
mod tests;
