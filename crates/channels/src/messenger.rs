//! The Messenger channel: reading page webhook deliveries (`object: "page"`) into the channel-neutral
//! [`crate::inbound`] model. Signatures and the subscription handshake are shared with WhatsApp and live in
//! [`crate::signature`].

mod inbound;

pub use inbound::parse_messenger;

#[cfg(test)]
mod tests;
