//! Stripe: checkout, the billing portal and cancellation against a fake Stripe (wiremock), and the signed
//! webhook moving the tenant between plans — once per event, never backwards in time.

use meta_chat_billing::stripe_signature;
use meta_chat_shared::config::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, assert_envelope, spawn_app_with};
use crate::tenant::{rows, send};

const CHECKOUT_COMPLETED: &str = include_str!("../../../../../shared/fixtures/stripe/checkout_completed.json");
const SECRET: &str = "whsec_test_secret";
/// `created` of the fixture; later events are numbered from it.
const T0: i64 = 1_749_417_200;

pub struct StripeWorld {
    pub app: TestApp,
    pub stripe: MockServer,
    pub tenant: String,
    pub owner: String,
    pub seeded: meta_chat_database::testkit::seed::Seeded,
}

pub async fn stripe_world_with(customize: impl FnOnce(&mut meta_chat_shared::config::Config)) -> StripeWorld {
    let stripe = MockServer::start().await;
    let uri = stripe.uri();
    let app = spawn_app_with(move |config, _| {
        config.billing.stripe.secret_key = Secret::new("sk_test_123");
        config.billing.stripe.webhook_secret = Secret::new(SECRET);
        config.billing.stripe.api_base_url = uri;
        config.billing.plans.starter.stripe_price_id = "price_starter".into();
        config.billing.plans.pro.stripe_price_id = "price_pro".into();
        customize(config);
    })
    .await;
    let (seeded, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    StripeWorld { app, stripe, tenant: seeded.tenant.to_string(), owner, seeded }
}

async fn stripe_world() -> StripeWorld {
    stripe_world_with(|_| {}).await
}

fn checkout_completed(tenant: &str) -> String {
    CHECKOUT_COMPLETED.replace("TENANT_ID_PLACEHOLDER", tenant)
}

/// An event of `event_type` about `object`, created `at` (unix seconds).
pub fn event(id: &str, event_type: &str, at: i64, object: &Value) -> String {
    json!({ "id": id, "object": "event", "type": event_type, "created": at, "livemode": false, "data": { "object": object } })
        .to_string()
}

/// A subscription object as Stripe's 2025 API versions send it (period on the item).
pub fn subscription(status: &str, price: &str, cancel_at_period_end: bool) -> Value {
    json!({
        "id": "sub_Example0001", "object": "subscription", "customer": "cus_Example0001", "status": status,
        "cancel_at_period_end": cancel_at_period_end, "canceled_at": null, "metadata": {},
        "items": { "object": "list", "data": [{
            "price": { "id": price }, "current_period_start": T0, "current_period_end": T0 + 2_592_000
        }]}
    })
}

fn invoice(id: &str, status: &str) -> Value {
    json!({
        "id": id, "object": "invoice", "customer": "cus_Example0001", "status": status, "currency": "eur",
        "amount_due": 9900, "amount_paid": if status == "paid" { 9900 } else { 0 },
        "hosted_invoice_url": "https://invoice.stripe.com/i/x", "period_start": T0, "period_end": T0 + 2_592_000,
        "parent": { "subscription_details": { "subscription": "sub_Example0001" } }
    })
}

pub fn signature(body: &str) -> String {
    stripe_signature::sign(SECRET, chrono::Utc::now().timestamp(), body.as_bytes())
}

pub async fn deliver(app: &TestApp, body: &str, signature: Option<&str>) -> reqwest::Response {
    let mut request = app.post("/api/v1/billing/stripe/webhook").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    request.body(body.to_owned()).send().await.unwrap()
}

/// Delivers a correctly signed event and returns the acknowledged outcome.
pub async fn deliver_signed(app: &TestApp, body: &str) -> String {
    let res = deliver(app, body, Some(&signature(body))).await;
    assert_eq!(res.status(), 200);
    let ack: Value = res.json().await.unwrap();
    assert_eq!(ack["received"], true);
    ack["outcome"].as_str().unwrap().to_owned()
}

async fn subscription_view(w: &StripeWorld) -> Value {
    let res = send(&w.app, Method::GET, "/billing/subscription", &w.owner, None).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn form(request: &wiremock::Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

async fn mock_checkout(stripe: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header("authorization", "Bearer sk_test_123"))
        .and(header_exists("idempotency-key"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "cus_Example0001", "object": "customer" })),
        )
        .expect(1)
        .mount(stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_a1Example0001", "object": "checkout.session", "mode": "subscription",
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1Example0001"
        })))
        .mount(stripe)
        .await;
}

#[tokio::test]
async fn checkout_then_signed_events_move_the_tenant_between_plans() {
    let w = stripe_world().await;
    mock_checkout(&w.stripe).await;
    let res = send(&w.app, Method::POST, "/billing/checkout-session", &w.owner, Some(json!({ "planId": "pro" }))).await;
    assert_eq!(res.status(), 201);
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["url"], "https://checkout.stripe.com/c/pay/cs_test_a1Example0001");

    let requests = w.stripe.received_requests().await.unwrap();
    let customer = requests.iter().find(|r| r.url.path() == "/v1/customers").unwrap();
    assert_eq!(customer.headers["idempotency-key"], format!("customer-{}", w.tenant).as_str());
    assert_eq!(field(&form(customer), "metadata[tenantId]"), w.tenant);
    let checkout = requests.iter().find(|r| r.url.path() == "/v1/checkout/sessions").unwrap();
    let fields = form(checkout);
    assert_eq!(field(&fields, "mode"), "subscription");
    assert_eq!(field(&fields, "customer"), "cus_Example0001");
    assert_eq!(field(&fields, "line_items[0][price]"), "price_pro");
    for name in ["client_reference_id", "metadata[tenantId]", "subscription_data[metadata][tenantId]"] {
        assert_eq!(field(&fields, name), w.tenant, "{name}");
    }
    assert_eq!(field(&fields, "metadata[planId]"), "pro");
    assert!(!checkout.headers["idempotency-key"].is_empty());

    assert_eq!(deliver_signed(&w.app, &checkout_completed(&w.tenant)).await, "applied");
    let view = subscription_view(&w).await;
    assert_eq!((view["planId"].as_str(), view["status"].as_str()), (Some("pro"), Some("active")));
    let usage: Value = send(&w.app, Method::GET, "/billing/usage", &w.owner, None).await.json().await.unwrap();
    assert_eq!(usage["planId"], "pro");
    assert_eq!(usage["metrics"][1]["limit"], 20_000, "pro's AI replies");

    // later events happen now: the grace period counts from the failed payment's time
    let now = chrono::Utc::now().timestamp();
    // a plan change in the portal arrives as customer.subscription.updated with the new price
    let updated =
        event("evt_upd1", "customer.subscription.updated", now - 40, &subscription("active", "price_starter", false));
    assert_eq!(deliver_signed(&w.app, &updated).await, "applied");
    let view = subscription_view(&w).await;
    assert_eq!(view["planId"], "starter");
    assert_eq!(view["currentPeriodEnd"], "2025-07-08T21:13:20Z");

    // a failed renewal: past_due, still served during the grace period
    let failed = event("evt_fail1", "invoice.payment_failed", now - 30, &invoice("in_1", "open"));
    assert_eq!(deliver_signed(&w.app, &failed).await, "applied");
    let view = subscription_view(&w).await;
    assert_eq!((view["status"].as_str(), view["planId"].as_str()), (Some("past_due"), Some("starter")));
    assert!(view["graceEndsAt"].is_string(), "{view}");
    assert_eq!(rows(&w.app, "SELECT status || ':' || amount_due AS value FROM invoices").await, ["open:9900"]);

    let paid = event("evt_paid1", "invoice.paid", now - 20, &invoice("in_1", "paid"));
    assert_eq!(deliver_signed(&w.app, &paid).await, "applied");
    assert_eq!(subscription_view(&w).await["status"], "active");
    assert_eq!(rows(&w.app, "SELECT status || ':' || amount_paid AS value FROM invoices").await, ["paid:9900"]);

    let deleted =
        event("evt_del1", "customer.subscription.deleted", now - 10, &subscription("canceled", "price_starter", false));
    assert_eq!(deliver_signed(&w.app, &deleted).await, "applied");
    let view = subscription_view(&w).await;
    assert_eq!((view["planId"].as_str(), view["status"].as_str()), (Some("free"), Some("canceled")));
    let events =
        rows(&w.app, "SELECT count(*)::text AS value FROM outbox_events WHERE event_type = 'subscription.updated'");
    assert_eq!(events.await, ["5"]);
}

#[tokio::test]
async fn bad_signatures_change_nothing() {
    let w = stripe_world().await;
    let body = checkout_completed(&w.tenant);
    let now = chrono::Utc::now().timestamp();
    let wrong_secret = stripe_signature::sign("whsec_other", now, body.as_bytes());
    let expired = stripe_signature::sign(SECRET, now - 301, body.as_bytes());
    let tampered = body.replace("\"pro\"", "\"enterprise\"");
    for (what, body, signature) in [
        ("no header", body.as_str(), None),
        ("garbage header", body.as_str(), Some("nonsense".to_owned())),
        ("another secret", body.as_str(), Some(wrong_secret)),
        ("expired timestamp", body.as_str(), Some(expired)),
        ("body changed after signing", tampered.as_str(), Some(signature(&body))),
    ] {
        let res = deliver(&w.app, body, signature.as_deref()).await;
        assert_eq!(res.status(), 401, "{what}");
        assert_envelope(res, 401, "INVALID_SIGNATURE").await;
    }
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM stripe_events").await, ["0"]);
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM subscriptions").await, ["0"]);
    assert_eq!(subscription_view(&w).await["planId"], "free");

    // during a secret roll Stripe sends several v1 values: one valid is enough
    let good = signature(&body);
    let rolled = format!("{good},v1={}", "0".repeat(64));
    let res = deliver(&w.app, &body, Some(&rolled)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(subscription_view(&w).await["planId"], "pro");
}

#[tokio::test]
async fn an_event_applies_once_and_older_events_never_roll_state_back() {
    let w = stripe_world().await;
    let body = checkout_completed(&w.tenant);
    assert_eq!(deliver_signed(&w.app, &body).await, "applied");
    assert_eq!(deliver_signed(&w.app, &body).await, "duplicate");
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM stripe_events").await, ["1"]);

    let newer = event("evt_new", "customer.subscription.updated", T0 + 100, &subscription("active", "price_pro", true));
    assert_eq!(deliver_signed(&w.app, &newer).await, "applied");
    // an update Stripe sent earlier arrives late: recorded, not applied
    let older =
        event("evt_old", "customer.subscription.updated", T0 + 50, &subscription("past_due", "price_starter", false));
    assert_eq!(deliver_signed(&w.app, &older).await, "ignored");
    let view = subscription_view(&w).await;
    assert_eq!((view["planId"].as_str(), view["status"].as_str()), (Some("pro"), Some("active")));
    assert_eq!(view["cancelAtPeriodEnd"], true);
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM stripe_events").await, ["3"]);
}

#[tokio::test]
async fn past_due_beyond_the_grace_period_falls_back_to_free_limits() {
    let w = stripe_world_with(|config| config.billing.past_due_grace_days = 0).await;
    assert_eq!(deliver_signed(&w.app, &checkout_completed(&w.tenant)).await, "applied");
    let failed = event("evt_fail", "invoice.payment_failed", T0 + 5, &invoice("in_2", "open"));
    assert_eq!(deliver_signed(&w.app, &failed).await, "applied");
    let view = subscription_view(&w).await;
    assert_eq!((view["status"].as_str(), view["planId"].as_str()), (Some("past_due"), Some("free")));
    assert_eq!(view["subscribedPlanId"], "pro");
    let usage: Value = send(&w.app, Method::GET, "/billing/usage", &w.owner, None).await.json().await.unwrap();
    assert_eq!(usage["metrics"][1]["limit"], 100, "free AI replies");
}

#[tokio::test]
async fn unknown_event_types_and_unknown_tenants_are_acknowledged_and_ignored() {
    let w = stripe_world().await;
    let other = event("evt_cus", "customer.created", T0, &json!({ "id": "cus_X", "object": "customer" }));
    assert_eq!(deliver_signed(&w.app, &other).await, "ignored");
    let stranger = CHECKOUT_COMPLETED.replace("TENANT_ID_PLACEHOLDER", "0190b6c0-0000-7000-8000-000000000000");
    assert_eq!(deliver_signed(&w.app, &stranger.replace("evt_1QExample0001", "evt_2")).await, "ignored");
    assert_eq!(
        rows(&w.app, "SELECT id || ':' || coalesce(tenant_id::text, '-') AS value FROM stripe_events ORDER BY id")
            .await,
        ["evt_2:-", "evt_cus:-"]
    );
    assert_eq!(rows(&w.app, "SELECT count(*)::text AS value FROM subscriptions").await, ["0"]);
}

#[tokio::test]
async fn portal_and_cancel_go_through_stripe() {
    let w = stripe_world().await;
    for route in ["/billing/portal-session", "/billing/cancel"] {
        let res = send(&w.app, Method::POST, route, &w.owner, None).await;
        assert_envelope(res, 409, "CONFLICT").await;
    }
    assert_eq!(deliver_signed(&w.app, &checkout_completed(&w.tenant)).await, "applied");
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bps_1", "object": "billing_portal.session", "url": "https://billing.stripe.com/p/session/test_1"
        })))
        .mount(&w.stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_Example0001"))
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription("active", "price_pro", true)))
        .expect(1)
        .mount(&w.stripe)
        .await;
    let res = send(&w.app, Method::POST, "/billing/portal-session", &w.owner, None).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["url"], "https://billing.stripe.com/p/session/test_1");
    let portal = w.stripe.received_requests().await.unwrap();
    assert_eq!(field(&form(&portal[0]), "customer"), "cus_Example0001");

    let res = send(&w.app, Method::POST, "/billing/cancel", &w.owner, None).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!((view["cancelAtPeriodEnd"].as_bool(), view["planId"].as_str()), (Some(true), Some("pro")));
    let cancel = w.stripe.received_requests().await.unwrap();
    assert_eq!(field(&form(cancel.last().unwrap()), "cancel_at_period_end"), "true");
    // Stripe's own event about the change still applies afterwards
    let updated = event("evt_upd", "customer.subscription.updated", T0 + 1, &subscription("active", "price_pro", true));
    assert_eq!(deliver_signed(&w.app, &updated).await, "applied");
}

#[tokio::test]
async fn checkout_refuses_unsold_plans_live_subscriptions_and_reports_stripe_failures() {
    let w = stripe_world().await;
    for plan in ["free", "enterprise", "gold"] {
        let res =
            send(&w.app, Method::POST, "/billing/checkout-session", &w.owner, Some(json!({ "planId": plan }))).await;
        let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(body["error"]["details"]["fields"][0]["path"], "planId", "{plan}");
    }
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "error": { "type": "api_error" } })))
        .mount(&w.stripe)
        .await;
    let res = send(&w.app, Method::POST, "/billing/checkout-session", &w.owner, Some(json!({ "planId": "pro" }))).await;
    let body = assert_envelope(res, 502, "EXTERNAL_SERVICE_ERROR").await;
    assert_eq!(body["error"]["details"]["service"], "stripe");
    assert_eq!(rows(&w.app, "SELECT coalesce(stripe_customer_id, '-') AS value FROM tenants").await, ["-"]);

    assert_eq!(deliver_signed(&w.app, &checkout_completed(&w.tenant)).await, "applied");
    let res =
        send(&w.app, Method::POST, "/billing/checkout-session", &w.owner, Some(json!({ "planId": "starter" }))).await;
    assert_envelope(res, 409, "CONFLICT").await;
}

#[tokio::test]
async fn without_stripe_keys_stripe_routes_answer_503() {
    let app = spawn_app_with(|config, _| config.billing.plans.pro.stripe_price_id = "price_pro".into()).await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    let res = send(&app, Method::POST, "/billing/checkout-session", &owner, Some(json!({ "planId": "pro" }))).await;
    assert_envelope(res, 503, "SERVICE_UNAVAILABLE").await;
    let body = event("evt_x", "invoice.paid", T0, &json!({}));
    let res = deliver(&app, &body, Some(&signature(&body))).await;
    assert_envelope(res, 503, "SERVICE_UNAVAILABLE").await;
    // the subscription view works without Stripe
    let view: Value = send(&app, Method::GET, "/billing/subscription", &owner, None).await.json().await.unwrap();
    assert_eq!(
        view,
        json!({
            "planId": "free", "status": "none", "currentPeriodEnd": null, "cancelAtPeriodEnd": false,
            "subscribedPlanId": null, "graceEndsAt": null
        })
    );
}

#[tokio::test]
async fn admins_manage_billing_like_owners() {
    let w = stripe_world().await;
    let admin = crate::api_keys::member_token(&w.app, &w.seeded, meta_chat_shared::UserRole::Admin).await;
    mock_checkout(&w.stripe).await;
    for route in ["/billing/subscription", "/billing/usage"] {
        assert_eq!(send(&w.app, Method::GET, route, &admin, None).await.status(), 200, "{route}");
    }
    let res =
        send(&w.app, Method::POST, "/billing/checkout-session", &admin, Some(json!({ "planId": "starter" }))).await;
    assert_eq!(res.status(), 201);
}
