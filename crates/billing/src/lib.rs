//! Plans, usage metering, quota enforcement, the Stripe client and Stripe webhook processing.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-events`.
//!
//! Entry points: [`plan::in_force`] (the plan whose limits apply, subscription status and grace included),
//! [`quota::consume`] and [`quota::make_room`] (enforcement with `usage.limit_reached` at 80 % and 100 %),
//! [`client::StripeClient`] (customers, checkout, portal, subscriptions), [`stripe_signature::verify`] and
//! [`webhook::process`] (the Stripe webhook).
#![warn(missing_docs)]

pub mod client;
pub mod objects;
pub mod plan;
pub mod quota;
pub mod stripe_signature;
pub mod webhook;

pub use client::{CheckoutRequest, StripeClient, StripeError};
pub use quota::Exceeded;
