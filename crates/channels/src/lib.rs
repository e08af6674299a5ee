//! WhatsApp Cloud API, Messenger and web chat channel adapters: webhook verification handshakes, signature
//! checks, parsing and normalising inbound deliveries, and sending outbound messages through the Graph API.
//!
//! May depend on: `meta-chat-shared` only. Does not touch the database or the broker: callers persist what it parses.
//!
//! Status: no code yet; built in the message pipeline issue.
