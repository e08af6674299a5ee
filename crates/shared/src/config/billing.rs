//! The `billing` section: the plans (limits, prices, Stripe price ids). Stripe keys and dunning join it with
//! the rest of the billing issue.

use serde::{Deserialize, Serialize};

/// Plans.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    /// The four plans.
    pub plans: PlansConfig,
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
