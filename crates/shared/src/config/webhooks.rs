//! The `webhooks` section: tenant outbound webhooks (delivery by `meta-chat-events`, management by the API).

use serde::{Deserialize, Serialize};

/// Tenant outbound webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Host names or IP addresses exempt from the SSRF guard (which otherwise refuses destinations that
    /// resolve to loopback, private, link-local, CGNAT, multicast or otherwise non-public addresses). A host
    /// name is matched as written in the webhook URL; an IP address matches the URL's literal address or an
    /// address the host resolves to. Empty by default (tests that deliver to a local receiver list `127.0.0.1`).
    pub allow_private_hosts: Vec<String>,
    /// Time allowed to one delivery attempt (connect, send, first 4 KiB of the answer), in milliseconds.
    pub timeout_ms: u64,
    /// A delivery is retried with backoff for this many hours after it was created, then given up.
    pub max_attempts_window_hours: u32,
    /// Consecutive failed attempts after which a webhook is disabled (audited as `webhook.disabled`).
    pub disable_after_failures: u32,
    /// How often the worker looks for due deliveries, in milliseconds.
    pub poll_interval_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_private_hosts: Vec::new(),
            timeout_ms: 10_000,
            max_attempts_window_hours: 24,
            disable_after_failures: 20,
            poll_interval_ms: 1_000,
        }
    }
}
