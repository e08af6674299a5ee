//! Stripe state of a tenant: its customer id, subscriptions and invoices, and the log of processed Stripe
//! events. Changes carry Stripe's own event time and never overwrite state applied from a newer event, so
//! webhooks that arrive out of order cannot roll a subscription back. Everything except [`record_event`]
//! runs in the tenant's transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

use crate::error::DbResult;
use crate::schema::{subscriptions, tenants};

/// A subscription row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct Subscription {
    /// Id.
    pub id: Uuid,
    /// `sub_…`.
    pub stripe_subscription_id: String,
    /// `cus_…`.
    pub stripe_customer_id: String,
    /// The plan subscribed to.
    pub plan_id: String,
    /// Stripe's status (`active`, `past_due`, `canceled`, ...).
    pub status: String,
    /// Start of the paid period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the paid period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at `current_period_end`.
    pub cancel_at_period_end: bool,
    /// When it was canceled.
    pub canceled_at: Option<DateTime<Utc>>,
    /// When its payment first failed (while `past_due`).
    pub past_due_since: Option<DateTime<Utc>>,
    /// Stripe's time of the last change applied.
    pub stripe_updated_at: DateTime<Utc>,
}

/// The statuses in which a subscription provides its plan (`past_due` only within the grace period).
pub const LIVE_STATUSES: [&str; 3] = ["active", "trialing", "past_due"];

/// A subscription's state as a Stripe event tells it. `None` fields are unknown to the event and keep
/// their stored value.
#[derive(Debug, Clone)]
pub struct SubscriptionState<'a> {
    /// `sub_…`.
    pub stripe_subscription_id: &'a str,
    /// `cus_…`.
    pub stripe_customer_id: &'a str,
    /// The plan (from the price, or the checkout's metadata).
    pub plan_id: &'a str,
    /// Stripe's status.
    pub status: &'a str,
    /// Start of the paid period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the paid period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end; `None`: unknown.
    pub cancel_at_period_end: Option<bool>,
    /// When it was canceled.
    pub canceled_at: Option<DateTime<Utc>>,
    /// Stripe's time of the event.
    pub at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct AppliedRow {
    #[diesel(sql_type = SqlUuid)]
    #[expect(dead_code, reason = "only whether a row came back matters")]
    id: Uuid,
}

/// Inserts or updates the subscription unless a newer event was applied already; `true` when it changed.
/// The tenant's plan follows (see [`refresh_tenant_plan`]).
pub async fn apply(conn: &mut AsyncPgConnection, tenant: TenantId, state: &SubscriptionState<'_>) -> DbResult<bool> {
    let applied: Option<AppliedRow> = diesel::sql_query(
        "INSERT INTO subscriptions (tenant_id, id, stripe_subscription_id, stripe_customer_id, plan_id, status, \
           current_period_start, current_period_end, cancel_at_period_end, canceled_at, past_due_since, stripe_updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, false), $10, \
           CASE WHEN $6 = 'past_due' THEN $11 END, $11) \
         ON CONFLICT (stripe_subscription_id) DO UPDATE SET \
           stripe_customer_id = excluded.stripe_customer_id, plan_id = excluded.plan_id, status = excluded.status, \
           current_period_start = coalesce(excluded.current_period_start, subscriptions.current_period_start), \
           current_period_end = coalesce(excluded.current_period_end, subscriptions.current_period_end), \
           cancel_at_period_end = coalesce($9, subscriptions.cancel_at_period_end), \
           canceled_at = coalesce(excluded.canceled_at, subscriptions.canceled_at), \
           past_due_since = CASE WHEN excluded.status = 'past_due' \
             THEN coalesce(subscriptions.past_due_since, excluded.past_due_since) END, \
           stripe_updated_at = excluded.stripe_updated_at \
         WHERE subscriptions.tenant_id = excluded.tenant_id \
           AND subscriptions.stripe_updated_at <= excluded.stripe_updated_at \
         RETURNING id",
    )
    .bind::<SqlUuid, _>(tenant.as_uuid())
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(state.stripe_subscription_id)
    .bind::<Text, _>(state.stripe_customer_id)
    .bind::<Text, _>(state.plan_id)
    .bind::<Text, _>(state.status)
    .bind::<Nullable<Timestamptz>, _>(state.current_period_start)
    .bind::<Nullable<Timestamptz>, _>(state.current_period_end)
    .bind::<Nullable<Bool>, _>(state.cancel_at_period_end)
    .bind::<Nullable<Timestamptz>, _>(state.canceled_at)
    .bind::<Timestamptz, _>(state.at)
    .get_result(conn)
    .await
    .optional()?;
    if applied.is_some() {
        refresh_tenant_plan(conn, tenant).await?;
    }
    Ok(applied.is_some())
}

/// Moves a subscription to `status` (`past_due` after a failed payment, `active` after a paid invoice) if
/// it is in one of `from` and no newer event was applied; `true` when it changed.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    stripe_subscription_id: &str,
    from: &[&str],
    status: &str,
    at: DateTime<Utc>,
) -> DbResult<bool> {
    let changed = diesel::sql_query(
        "UPDATE subscriptions SET status = $3, stripe_updated_at = $4, \
           past_due_since = CASE WHEN $3 = 'past_due' THEN coalesce(past_due_since, $4) END \
         WHERE tenant_id = $1 AND stripe_subscription_id = $2 AND status = ANY($5) AND stripe_updated_at <= $4",
    )
    .bind::<SqlUuid, _>(tenant.as_uuid())
    .bind::<Text, _>(stripe_subscription_id)
    .bind::<Text, _>(status)
    .bind::<Timestamptz, _>(at)
    .bind::<diesel::sql_types::Array<Text>, _>(from)
    .execute(conn)
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    refresh_tenant_plan(conn, tenant).await?;
    Ok(true)
}

/// Sets `tenants.plan_id` to the plan of the tenant's newest live subscription, or `free` without one.
pub async fn refresh_tenant_plan(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<()> {
    let plan = in_force(conn, tenant).await?.map_or_else(|| "free".to_owned(), |sub| sub.plan_id);
    diesel::update(tenants::table.filter(tenants::id.eq(tenant.as_uuid())))
        .set(tenants::plan_id.eq(plan))
        .execute(conn)
        .await?;
    Ok(())
}

/// The tenant's newest subscription in a live status (see [`LIVE_STATUSES`]).
pub async fn in_force(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Option<Subscription>> {
    Ok(subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.as_uuid()).and(subscriptions::status.eq_any(LIVE_STATUSES)))
        .order((subscriptions::created_at.desc(), subscriptions::id.desc()))
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's newest subscription in any status.
pub async fn latest(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Option<Subscription>> {
    Ok(subscriptions::table
        .filter(subscriptions::tenant_id.eq(tenant.as_uuid()))
        .order((subscriptions::created_at.desc(), subscriptions::id.desc()))
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's Stripe customer id, if it has one.
pub async fn customer(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<Option<String>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(tenants::stripe_customer_id)
        .first::<Option<String>>(conn)
        .await
        .optional()?
        .flatten())
}

/// Stores the tenant's Stripe customer id unless it already has one; `true` when stored. Returns the one in
/// force either way through [`customer`].
pub async fn set_customer(conn: &mut AsyncPgConnection, tenant: TenantId, customer_id: &str) -> DbResult<bool> {
    let changed = diesel::update(
        tenants::table.filter(tenants::id.eq(tenant.as_uuid()).and(tenants::stripe_customer_id.is_null())),
    )
    .set(tenants::stripe_customer_id.eq(customer_id))
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

/// Records that `event_id` is being processed; `false` when it was processed before (a redelivery), in which
/// case the caller changes nothing. Committed with the changes the event makes, so a failed attempt leaves
/// no record and Stripe's retry is processed in full.
pub async fn record_event(
    conn: &mut AsyncPgConnection,
    event_id: &str,
    event_type: &str,
    tenant: Option<TenantId>,
) -> DbResult<bool> {
    use crate::schema::stripe_events;
    let inserted = diesel::insert_into(stripe_events::table)
        .values((
            stripe_events::id.eq(event_id),
            stripe_events::event_type.eq(event_type),
            stripe_events::tenant_id.eq(tenant.map(|t| t.as_uuid())),
            stripe_events::processed_at.eq(Some(Utc::now())),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}

/// An invoice as a Stripe event tells it.
#[derive(Debug, Clone)]
pub struct InvoiceState<'a> {
    /// `in_…`.
    pub stripe_invoice_id: &'a str,
    /// The subscription it bills, if any.
    pub stripe_subscription_id: Option<&'a str>,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: &'a str,
    /// Lower-case ISO 4217.
    pub currency: &'a str,
    /// Minor units due.
    pub amount_due: i64,
    /// Minor units paid.
    pub amount_paid: i64,
    /// Stripe's hosted page (https only, else dropped).
    pub hosted_invoice_url: Option<&'a str>,
    /// Billed period start.
    pub period_start: Option<DateTime<Utc>>,
    /// Billed period end.
    pub period_end: Option<DateTime<Utc>>,
    /// Stripe's time of the event.
    pub at: DateTime<Utc>,
}

/// Stores or updates an invoice unless a newer event was applied; `true` when it changed.
pub async fn apply_invoice(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    invoice: &InvoiceState<'_>,
) -> DbResult<bool> {
    let url = invoice.hosted_invoice_url.filter(|url| url.starts_with("https://"));
    let applied: Option<AppliedRow> = diesel::sql_query(
        "INSERT INTO invoices (tenant_id, id, stripe_invoice_id, subscription_id, status, currency, amount_due, \
           amount_paid, hosted_invoice_url, period_start, period_end, stripe_updated_at) \
         VALUES ($1, $2, $3, (SELECT s.id FROM subscriptions s WHERE s.tenant_id = $1 AND s.stripe_subscription_id = $4), \
           $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (stripe_invoice_id) DO UPDATE SET \
           subscription_id = coalesce(excluded.subscription_id, invoices.subscription_id), status = excluded.status, \
           currency = excluded.currency, amount_due = excluded.amount_due, amount_paid = excluded.amount_paid, \
           hosted_invoice_url = coalesce(excluded.hosted_invoice_url, invoices.hosted_invoice_url), \
           period_start = excluded.period_start, period_end = excluded.period_end, \
           stripe_updated_at = excluded.stripe_updated_at \
         WHERE invoices.tenant_id = excluded.tenant_id AND invoices.stripe_updated_at <= excluded.stripe_updated_at \
         RETURNING id",
    )
    .bind::<SqlUuid, _>(tenant.as_uuid())
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(invoice.stripe_invoice_id)
    .bind::<Nullable<Text>, _>(invoice.stripe_subscription_id)
    .bind::<Text, _>(invoice.status)
    .bind::<Text, _>(invoice.currency)
    .bind::<Int8, _>(invoice.amount_due.max(0))
    .bind::<Int8, _>(invoice.amount_paid.max(0))
    .bind::<Nullable<Text>, _>(url)
    .bind::<Nullable<Timestamptz>, _>(invoice.period_start)
    .bind::<Nullable<Timestamptz>, _>(invoice.period_end)
    .bind::<Timestamptz, _>(invoice.at)
    .get_result(conn)
    .await
    .optional()?;
    Ok(applied.is_some())
}

/// An invoice row (the fields tests and the API read).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::schema::invoices, check_for_backend(diesel::pg::Pg))]
pub struct Invoice {
    /// `in_…`.
    pub stripe_invoice_id: String,
    /// The subscription row it bills.
    pub subscription_id: Option<Uuid>,
    /// Stripe's status.
    pub status: String,
    /// Minor units due.
    pub amount_due: i64,
    /// Minor units paid.
    pub amount_paid: i64,
}

/// The tenant's invoices, newest first (at most `limit`).
pub async fn invoices(conn: &mut AsyncPgConnection, tenant: TenantId, limit: i64) -> DbResult<Vec<Invoice>> {
    use crate::schema::invoices;
    Ok(invoices::table
        .filter(invoices::tenant_id.eq(tenant.as_uuid()))
        .order(invoices::created_at.desc())
        .limit(limit)
        .select(Invoice::as_select())
        .load(conn)
        .await?)
}

#[derive(QueryableByName)]
struct CustomerTenant {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    tenant: Option<Uuid>,
}

/// The tenant a Stripe customer belongs to, in any tenant (`app_lookup_stripe_customer`); runs outside a
/// tenant transaction and returns nothing but the id.
pub async fn tenant_of_customer(conn: &mut AsyncPgConnection, customer_id: &str) -> DbResult<Option<TenantId>> {
    let row: CustomerTenant = diesel::sql_query("SELECT app_lookup_stripe_customer($1) AS tenant")
        .bind::<Text, _>(customer_id)
        .get_result(conn)
        .await?;
    Ok(row.tenant.map(TenantId::from_uuid))
}
