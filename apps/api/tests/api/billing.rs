//! Billing routes: the public plan list comes from configuration.

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn plans_are_public_cheapest_first_with_prices_and_limits() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/billing/plans").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["free", "starter", "pro", "enterprise"]);
    assert_eq!(body["nextCursor"], Value::Null);
    let free = &body["data"][0];
    assert_eq!(free["price"], json!({ "monthlyAmountMinor": 0, "currency": "usd", "selfServe": false }));
    assert_eq!(free["limits"]["aiRepliesPerMonth"], 100);
    assert_eq!(body["data"][3]["limits"]["channels"], Value::Null, "enterprise is unlimited");
}

#[tokio::test]
async fn plans_follow_the_configuration() {
    let app = spawn_app_with(|config, _| {
        config.billing.plans.pro.monthly_price_minor = 12_345;
        config.billing.plans.pro.stripe_price_id = "price_123".into();
        config.billing.plans.pro.limits.channels = Some(42);
    })
    .await;
    let body: Value = app.get("/api/v1/billing/plans").send().await.unwrap().json().await.unwrap();
    let pro = &body["data"][2];
    assert_eq!(pro["price"]["monthlyAmountMinor"], 12_345);
    assert_eq!(pro["price"]["selfServe"], true);
    assert_eq!(pro["limits"]["channels"], 42);
}
