//! Plans, usage metering, quota enforcement, the Stripe client and Stripe webhook verification.
//!
//! May depend on: `meta-chat-shared`, `meta-chat-database`, `meta-chat-events`.
//!
//! Status: no code yet; built in the billing issue.
