//! Plans, usage metering, quota enforcement, the Stripe client and Stripe webhook verification.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-events`.
//!
//! Status: Stripe webhook signature verification ([`stripe_signature`]); plans are configuration
//! (`meta_chat_shared::config::BillingConfig`). Metering, enforcement, the Stripe client and the webhook
//! handler come with the rest of the billing issue.
//!
//! Entry points: [`stripe_signature::verify`].
#![warn(missing_docs)]

pub mod stripe_signature;
