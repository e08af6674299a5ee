//! The `billing` section: the plans (limits, prices, Stripe price ids), the grace period of a subscription
//! whose payment failed, and the Stripe account (API key, webhook signing secret, base URL, return URLs).

use serde::{Deserialize, Serialize};

use super::Secret;

/// Plans, dunning and Stripe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    /// The four plans.
    pub plans: PlansConfig,
    /// How long a `past_due` subscription keeps its plan (from the first failed payment) before the tenant
    /// falls back to the free plan's limits.
    pub past_due_grace_days: u32,
    /// The Stripe account.
    pub stripe: StripeConfig,
}

/// The Stripe account. With an empty `secret_key` checkout, portal and cancel answer 503; with an empty
/// `webhook_secret` the webhook answers 503 (Stripe retries) instead of accepting unverifiable events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// Secret API key (`sk_live_…`, `sk_test_…` or a restricted `rk_…` key).
    pub secret_key: Secret,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: Secret,
    /// Stripe's API base URL; tests point it at a local fake server.
    pub api_base_url: String,
    /// Timeout of one Stripe API call.
    pub timeout_ms: u64,
    /// How old a webhook's signed timestamp may be.
    pub webhook_tolerance_secs: u64,
    /// Where checkout sends the customer after paying (`{CHECKOUT_SESSION_ID}` is filled in by Stripe).
    pub checkout_success_url: String,
    /// Where checkout sends the customer who gives up.
    pub checkout_cancel_url: String,
    /// Where the billing portal's "return" link goes.
    pub portal_return_url: String,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            secret_key: Secret::new(""),
            webhook_secret: Secret::new(""),
            api_base_url: "https://api.stripe.com".to_owned(),
            timeout_ms: 10_000,
            webhook_tolerance_secs: 300,
            checkout_success_url: "http://localhost:3007/billing/success?session_id={CHECKOUT_SESSION_ID}".to_owned(),
            checkout_cancel_url: "http://localhost:3007/billing/canceled".to_owned(),
            portal_return_url: "http://localhost:3007/billing".to_owned(),
        }
    }
}

/// One entry per plan id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlansConfig {
    /// `free`.
    pub free: PlanConfig,
    /// `starter`.
    pub starter: PlanConfig,
    /// `pro`.
    pub pro: PlanConfig,
    /// `enterprise`.
    pub enterprise: PlanConfig,
}

/// A plan as sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    /// Display name.
    pub name: String,
    /// Monthly price in the currency's minor unit (cents).
    pub monthly_price_minor: u64,
    /// ISO 4217 currency code, lower case (`usd`, `eur`).
    pub currency: String,
    /// The Stripe price checkout subscribes to; empty for plans that are not sold through checkout.
    pub stripe_price_id: String,
    /// Monthly and absolute limits.
    pub limits: PlanLimits,
}

/// Limits of a plan; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Inbound channel messages per month.
    pub inbound_messages: Option<u64>,
    /// AI replies per month.
    pub ai_replies: Option<u64>,
    /// Knowledge-base documents.
    pub documents: Option<u64>,
    /// Stored bytes (documents and media).
    pub storage_bytes: Option<u64>,
    /// Team members.
    pub team_members: Option<u64>,
    /// Connected channels.
    pub channels: Option<u64>,
    /// Authenticated API calls per month.
    pub api_calls: Option<u64>,
}

fn plan(name: &str, cents: u64, price: &str, limits: [Option<u64>; 7]) -> PlanConfig {
    let [inbound_messages, ai_replies, documents, storage_bytes, team_members, channels, api_calls] = limits;
    PlanConfig {
        name: name.to_owned(),
        monthly_price_minor: cents,
        currency: "usd".to_owned(),
        stripe_price_id: price.to_owned(),
        limits: PlanLimits {
            inbound_messages,
            ai_replies,
            documents,
            storage_bytes,
            team_members,
            channels,
            api_calls,
        },
    }
}

const MIB: u64 = 1024 * 1024;

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            past_due_grace_days: 7,
            stripe: StripeConfig::default(),
            plans: PlansConfig {
                free: plan(
                    "Free",
                    0,
                    "",
                    [Some(500), Some(100), Some(10), Some(50 * MIB), Some(2), Some(1), Some(1_000)],
                ),
                starter: plan(
                    "Starter",
                    2_900,
                    "",
                    [Some(5_000), Some(2_000), Some(100), Some(1024 * MIB), Some(5), Some(3), Some(50_000)],
                ),
                pro: plan(
                    "Pro",
                    9_900,
                    "",
                    [Some(50_000), Some(20_000), Some(1_000), Some(10 * 1024 * MIB), Some(20), Some(10), Some(500_000)],
                ),
                enterprise: plan("Enterprise", 0, "", [None; 7]),
            },
        }
    }
}

impl PlansConfig {
    /// `(id, plan)` for each plan, cheapest first.
    #[must_use]
    pub fn all(&self) -> [(crate::Plan, &PlanConfig); 4] {
        [
            (crate::Plan::Free, &self.free),
            (crate::Plan::Starter, &self.starter),
            (crate::Plan::Pro, &self.pro),
            (crate::Plan::Enterprise, &self.enterprise),
        ]
    }
}
