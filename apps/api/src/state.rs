//! [`AppState`]: what every handler can reach, built once in [`crate::startup`] and shared by all workers.

use std::sync::Arc;

use meta_chat_database::DbPool;
use meta_chat_shared::auth::JwtKeys;
use meta_chat_shared::config::Config;
use meta_chat_shared::mail::Mailer;
use meta_chat_shared::secrets::Keyring;

/// Shared application state (`web::Data<AppState>`).
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// PostgreSQL pool of the runtime role; connects lazily, so the API starts while the database is down.
    pub db: DbPool,
    /// PostgreSQL pool of the owner role (`database.admin_url`, `BYPASSRLS`, at most 4 connections): the
    /// explicit, audited bypass of row-level security for platform admins. Only [`crate::platform`] (the
    /// `/admin/*` routes) may use it; tenant routes never do.
    pub admin_db: DbPool,
    /// Signs and verifies access tokens (`auth.jwt_*`).
    pub jwt: Arc<JwtKeys>,
    /// Outgoing email (`mail.transport`; tests substitute a capturing mailer).
    pub mailer: Arc<dyn Mailer>,
    /// Rate limiters shared by every worker thread.
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// Publishes outbox events right after their transaction commits (the worker's sweeper catches what
    /// this misses, e.g. while RabbitMQ is down).
    pub relay: meta_chat_events::Relay,
    /// Seals and opens secrets at rest (`secrets.*`): channel tokens, app secrets, ...
    pub keyring: Arc<Keyring>,
    /// The Stripe API client; `None` when `billing.stripe.secret_key` is empty (checkout answers 503).
    pub stripe: Option<meta_chat_billing::StripeClient>,
    /// Model providers (`llm.*`; per tenant from its settings): the chat route's assistant.
    pub llm: Arc<meta_chat_llm::Providers>,
    /// The embedders of the registered models this process can use (retrieval).
    pub embedders: meta_chat_rag::Embedders,
    /// `POST /chat`: the assistant answering inline.
    pub chat: meta_chat_orchestrator::ChatService,
}
