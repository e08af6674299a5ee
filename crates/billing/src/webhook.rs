//! Processing of a verified Stripe webhook event (the signature is checked by the caller, on the raw body,
//! before this is called). Each event id is processed once: its `stripe_events` row commits with the changes
//! it makes. State carries Stripe's event time, so an event older than the state applied is ignored.
//!
//! Handled: `checkout.session.completed`, `customer.subscription.created|updated|deleted`, `invoice.paid`,
//! `invoice.payment_failed`. Every other type is recorded and ignored.

use meta_chat_database::subscriptions::{self, InvoiceState, SubscriptionState};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{AsyncPgConnection, DbError, tenants};
use meta_chat_events::{Envelope, EventType};
use meta_chat_shared::Plan;
use meta_chat_shared::config::BillingConfig;
use meta_chat_shared::ids::TenantId;
use serde_json::json;

use crate::objects::{CheckoutSession, Event, Invoice, Subscription};
use crate::plan;

/// What processing an event did.
#[derive(Debug)]
pub enum Outcome {
    /// The event changed the tenant's billing state; publish `events` after the commit (already recorded).
    Applied {
        /// The tenant.
        tenant: TenantId,
        /// `subscription.updated` when the subscription changed.
        events: Vec<Envelope>,
    },
    /// Processed before (a redelivery): nothing changed.
    Duplicate,
    /// Recorded and ignored: an unhandled type, an unknown tenant, or state older than what is stored.
    Ignored(&'static str),
}

/// Why an event could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The signed body is not a Stripe event of the expected shape.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// The database failed; Stripe will retry.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The object of a handled event type.
enum Object {
    Checkout(CheckoutSession),
    Subscription(Subscription),
    Invoice { invoice: Invoice, paid: bool },
}

fn parse_object(event: &Event) -> Result<Option<Object>, WebhookError> {
    let object = event.data.object.clone();
    let malformed = |err: serde_json::Error| WebhookError::Malformed(format!("{}: {err}", event.event_type));
    Ok(Some(match event.event_type.as_str() {
        "checkout.session.completed" => Object::Checkout(serde_json::from_value(object).map_err(malformed)?),
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
            Object::Subscription(serde_json::from_value(object).map_err(malformed)?)
        }
        "invoice.paid" => Object::Invoice { invoice: serde_json::from_value(object).map_err(malformed)?, paid: true },
        "invoice.payment_failed" => {
            Object::Invoice { invoice: serde_json::from_value(object).map_err(malformed)?, paid: false }
        }
        _ => return Ok(None),
    }))
}

/// Processes one verified event body.
///
/// # Errors
/// [`WebhookError::Malformed`] for a body that is not an event (answer 400); [`WebhookError::Db`] when the
/// change could not be committed (answer 5xx so Stripe retries).
pub async fn process(
    conn: &mut AsyncPgConnection,
    config: &BillingConfig,
    body: &[u8],
) -> Result<Outcome, WebhookError> {
    let event: Event = serde_json::from_slice(body).map_err(|err| WebhookError::Malformed(err.to_string()))?;
    if !event.id.starts_with("evt_")
        || event.id.len() > 255
        || !event.id[4..].bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(WebhookError::Malformed("event id".into()));
    }
    let event_type = event.event_type.chars().take(128).collect::<String>();
    let Some(object) = parse_object(&event)? else {
        return record_unrouted(conn, &event.id, &event_type, "unhandled event type").await;
    };
    let Some(tenant) = tenant_of(conn, &object).await? else {
        tracing::warn!(stripe.event = %event.id, stripe.type = %event_type, "stripe event for no known tenant");
        return record_unrouted(conn, &event.id, &event_type, "no tenant").await;
    };
    let config = config.clone();
    let outcome = in_tenant_tx(conn, tenant, |conn| {
        Box::pin(async move {
            if tenants::find(conn, tenant).await?.is_none() {
                subscriptions::record_event(conn, &event.id, &event_type, None).await?;
                return Ok::<_, DbError>(Outcome::Ignored("no tenant"));
            }
            if !subscriptions::record_event(conn, &event.id, &event_type, Some(tenant)).await? {
                return Ok(Outcome::Duplicate);
            }
            apply(conn, tenant, &config, &event, object).await
        })
    })
    .await?;
    Ok(outcome)
}

async fn record_unrouted(
    conn: &mut AsyncPgConnection,
    id: &str,
    event_type: &str,
    why: &'static str,
) -> Result<Outcome, WebhookError> {
    let fresh = subscriptions::record_event(conn, id, event_type, None).await?;
    Ok(if fresh { Outcome::Ignored(why) } else { Outcome::Duplicate })
}

/// The tenant an object belongs to: the tenant id the platform put in its metadata (or the checkout's
/// client reference), else the tenant whose Stripe customer it is.
async fn tenant_of(conn: &mut AsyncPgConnection, object: &Object) -> Result<Option<TenantId>, WebhookError> {
    let (metadata, reference, customer) = match object {
        Object::Checkout(session) => {
            (session.metadata.get("tenantId"), session.client_reference_id.as_ref(), session.customer.as_ref())
        }
        Object::Subscription(sub) => (sub.metadata.get("tenantId"), None, Some(&sub.customer)),
        Object::Invoice { invoice, .. } => (None, None, invoice.customer.as_ref()),
    };
    if let Some(id) = metadata.or(reference).and_then(|id| id.parse::<uuid::Uuid>().ok()) {
        return Ok(Some(TenantId::from_uuid(id)));
    }
    match customer {
        Some(customer) => Ok(subscriptions::tenant_of_customer(conn, customer.id()).await?),
        None => Ok(None),
    }
}

/// The plan a subscription pays for: its price's plan, else the plan in its metadata.
fn plan_of(config: &BillingConfig, price: Option<&str>, metadata: Option<&String>) -> Option<Plan> {
    let by_price = price.and_then(|price| {
        config.plans.all().into_iter().find(|(_, p)| !p.stripe_price_id.is_empty() && p.stripe_price_id == price)
    });
    by_price.map(|(id, _)| id).or_else(|| metadata.and_then(|plan| plan.parse().ok()))
}

async fn apply(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    config: &BillingConfig,
    event: &Event,
    object: Object,
) -> Result<Outcome, DbError> {
    let at = event.at();
    let changed = match object {
        Object::Checkout(session) => {
            let (Some(customer), Some(subscription)) = (session.customer.as_ref(), session.subscription.as_ref())
            else {
                return Ok(Outcome::Ignored("not a subscription checkout"));
            };
            if !subscriptions::set_customer(conn, tenant, customer.id()).await?
                && subscriptions::customer(conn, tenant).await?.as_deref() != Some(customer.id())
            {
                tracing::warn!(stripe.event = %event.id, "checkout for a customer other than the tenant's");
            }
            let Some(plan) = plan_of(config, None, session.metadata.get("planId")) else {
                tracing::warn!(stripe.event = %event.id, "checkout without a planId the platform sells");
                return Ok(Outcome::Ignored("checkout without planId"));
            };
            let paid = matches!(session.payment_status.as_deref(), Some("paid" | "no_payment_required"));
            let state = SubscriptionState {
                stripe_subscription_id: subscription.id(),
                stripe_customer_id: customer.id(),
                plan_id: plan.as_str(),
                status: if paid { "active" } else { "incomplete" },
                current_period_start: None,
                current_period_end: None,
                cancel_at_period_end: None,
                canceled_at: None,
                at,
            };
            subscriptions::apply(conn, tenant, &state).await?
        }
        Object::Subscription(sub) => {
            let Some(plan) = plan_of(config, sub.price_id(), sub.metadata.get("planId")) else {
                tracing::warn!(stripe.event = %event.id, "subscription for a price no plan sells");
                return Ok(Outcome::Ignored("unknown price"));
            };
            let (start, end) = sub.period();
            let state = SubscriptionState {
                stripe_subscription_id: &sub.id,
                stripe_customer_id: sub.customer.id(),
                plan_id: plan.as_str(),
                status: &sub.status,
                current_period_start: start,
                current_period_end: end,
                cancel_at_period_end: Some(sub.cancel_at_period_end),
                canceled_at: sub.canceled_at.and_then(crate::objects::timestamp),
                at,
            };
            subscriptions::apply(conn, tenant, &state).await?
        }
        Object::Invoice { invoice, paid } => {
            let status = invoice.status.as_deref().unwrap_or(if paid { "paid" } else { "open" });
            let state = InvoiceState {
                stripe_invoice_id: &invoice.id,
                stripe_subscription_id: invoice.subscription_id(),
                status,
                currency: &invoice.currency,
                amount_due: invoice.amount_due,
                amount_paid: invoice.amount_paid,
                hosted_invoice_url: invoice.hosted_invoice_url.as_deref(),
                period_start: invoice.period_start.and_then(crate::objects::timestamp),
                period_end: invoice.period_end.and_then(crate::objects::timestamp),
                at,
            };
            subscriptions::apply_invoice(conn, tenant, &state).await?;
            match invoice.subscription_id() {
                Some(sub) if paid => {
                    subscriptions::set_status(conn, tenant, sub, &["past_due", "unpaid"], "active", at).await?
                }
                Some(sub) => {
                    let from = ["active", "trialing", "past_due"];
                    subscriptions::set_status(conn, tenant, sub, &from, "past_due", at).await?
                }
                None => false,
            }
        }
    };
    if !changed {
        // an event older than the state applied (or one that changes nothing)
        return Ok(Outcome::Ignored("no newer state"));
    }
    let events = vec![subscription_updated(conn, tenant, config).await?];
    meta_chat_events::record(conn, tenant, &events).await?;
    Ok(Outcome::Applied { tenant, events })
}

/// `subscription.updated` with the state after the change.
async fn subscription_updated(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    config: &BillingConfig,
) -> Result<Envelope, DbError> {
    let in_force = plan::in_force(conn, tenant, config).await?;
    let sub = in_force.subscription.as_ref();
    Ok(Envelope::new(
        EventType::SubscriptionUpdated,
        tenant,
        sub.map(|s| s.id),
        json!({
            "planId": in_force.plan.as_str(),
            "status": sub.map(|s| s.status.as_str()),
            "currentPeriodEnd": sub.and_then(|s| s.current_period_end),
            "cancelAtPeriodEnd": sub.is_some_and(|s| s.cancel_at_period_end),
        }),
    ))
}
