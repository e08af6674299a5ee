//! The parts of Stripe's objects the platform reads, parsed leniently: unknown fields are ignored (Stripe
//! adds fields in every API version) and the fields that moved between versions are read from both places
//! (a subscription's period is on the subscription before 2025-03-31 and on its items after; an invoice's
//! subscription is `subscription` before and `parent.subscription_details.subscription` after).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// An event as delivered to the webhook.
#[derive(Debug, Deserialize)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// `checkout.session.completed`, ...
    #[serde(rename = "type")]
    pub event_type: String,
    /// Unix seconds when Stripe created the event: the order of state changes.
    pub created: i64,
    /// The object.
    pub data: EventData,
}

/// `data` of an event.
#[derive(Debug, Deserialize)]
pub struct EventData {
    /// The object the event is about, read by type.
    pub object: serde_json::Value,
}

impl Event {
    /// When Stripe created the event.
    #[must_use]
    pub fn at(&self) -> DateTime<Utc> {
        timestamp(self.created).unwrap_or_default()
    }
}

/// Unix seconds to a time.
#[must_use]
pub fn timestamp(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// A field that is an id or the expanded object with that id.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    /// Not expanded.
    Id(String),
    /// Expanded.
    Object {
        /// Its id.
        id: String,
    },
}

impl Expandable {
    /// The id either way.
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

/// A Checkout Session.
#[derive(Debug, Deserialize)]
pub struct CheckoutSession {
    /// `cs_…`.
    pub id: String,
    /// `subscription` for plan purchases.
    pub mode: Option<String>,
    /// `paid`, `unpaid`, `no_payment_required`.
    pub payment_status: Option<String>,
    /// The customer.
    pub customer: Option<Expandable>,
    /// The subscription created.
    pub subscription: Option<Expandable>,
    /// The tenant id the platform put there.
    pub client_reference_id: Option<String>,
    /// `tenantId`, `planId`.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// The hosted page (in the create response).
    pub url: Option<String>,
}

/// A Subscription.
#[derive(Debug, Deserialize)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// The customer.
    pub customer: Expandable,
    /// Stripe's status.
    pub status: String,
    /// Ends at the period's end.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// When it was canceled.
    pub canceled_at: Option<i64>,
    /// Period start (API versions before 2025-03-31).
    pub current_period_start: Option<i64>,
    /// Period end (API versions before 2025-03-31).
    pub current_period_end: Option<i64>,
    /// The items (price, and the period in newer versions).
    pub items: Option<List<SubscriptionItem>>,
    /// `tenantId`, `planId`.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A list object.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    /// The page.
    pub data: Vec<T>,
}

/// A subscription item.
#[derive(Debug, Deserialize)]
pub struct SubscriptionItem {
    /// The price.
    pub price: Option<Price>,
    /// Period start (API versions from 2025-03-31).
    pub current_period_start: Option<i64>,
    /// Period end (API versions from 2025-03-31).
    pub current_period_end: Option<i64>,
}

/// A price.
#[derive(Debug, Deserialize)]
pub struct Price {
    /// `price_…`.
    pub id: String,
}

impl Subscription {
    fn first_item(&self) -> Option<&SubscriptionItem> {
        self.items.as_ref().and_then(|items| items.data.first())
    }

    /// The first item's price id.
    #[must_use]
    pub fn price_id(&self) -> Option<&str> {
        self.first_item().and_then(|item| item.price.as_ref()).map(|price| price.id.as_str())
    }

    /// The paid period, wherever this API version puts it.
    #[must_use]
    pub fn period(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let item = self.first_item();
        let start = self.current_period_start.or_else(|| item.and_then(|i| i.current_period_start));
        let end = self.current_period_end.or_else(|| item.and_then(|i| i.current_period_end));
        (start.and_then(timestamp), end.and_then(timestamp))
    }
}

/// An Invoice.
#[derive(Debug, Deserialize)]
pub struct Invoice {
    /// `in_…`.
    pub id: String,
    /// The customer.
    pub customer: Option<Expandable>,
    /// `draft`, `open`, `paid`, `uncollectible`, `void`.
    pub status: Option<String>,
    /// Lower-case ISO 4217.
    pub currency: String,
    /// Minor units due.
    #[serde(default)]
    pub amount_due: i64,
    /// Minor units paid.
    #[serde(default)]
    pub amount_paid: i64,
    /// Hosted page.
    pub hosted_invoice_url: Option<String>,
    /// Billed period start.
    pub period_start: Option<i64>,
    /// Billed period end.
    pub period_end: Option<i64>,
    /// The subscription (API versions before 2025-03-31).
    pub subscription: Option<Expandable>,
    /// Where the subscription moved to in newer versions.
    pub parent: Option<InvoiceParent>,
}

/// `invoice.parent`.
#[derive(Debug, Deserialize)]
pub struct InvoiceParent {
    /// Set for subscription invoices.
    pub subscription_details: Option<SubscriptionDetails>,
}

/// `invoice.parent.subscription_details`.
#[derive(Debug, Deserialize)]
pub struct SubscriptionDetails {
    /// The subscription.
    pub subscription: Option<Expandable>,
}

impl Invoice {
    /// The subscription billed, wherever this API version puts it.
    #[must_use]
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription
            .as_ref()
            .or_else(|| {
                self.parent.as_ref().and_then(|p| p.subscription_details.as_ref()).and_then(|d| d.subscription.as_ref())
            })
            .map(Expandable::id)
    }
}

/// A Billing Portal session or a Customer (only the id and url are read).
#[derive(Debug, Deserialize)]
pub struct Created {
    /// The object's id.
    pub id: String,
    /// Its URL, for sessions.
    pub url: Option<String>,
}

/// Stripe's error body.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// `error` of an error body.
#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    /// `card_error`, `invalid_request_error`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// e.g. `resource_missing`.
    pub code: Option<String>,
    /// Human readable (may name parameters; never shown to clients).
    pub message: Option<String>,
}
