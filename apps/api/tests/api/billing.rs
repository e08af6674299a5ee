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

#[tokio::test]
async fn usage_counts_each_inbound_message_once_against_the_plan() {
    use reqwest::Method;

    use crate::integrations::{APP_SECRET, BATCH, TEXT, deliver, whatsapp_channel};
    use crate::tenant::send;

    let app = spawn_app().await;
    let (seeded, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    let channel = whatsapp_channel(&app, &owner).await;
    let path = format!("/integrations/whatsapp/{channel}");
    for body in [TEXT, BATCH, TEXT, BATCH] {
        assert_eq!(deliver(&app, &path, body, Some(APP_SECRET)).await.status(), 200);
    }
    let usage: Value = send(&app, Method::GET, "/billing/usage", &owner, None).await.json().await.unwrap();
    assert_eq!(usage["planId"], "free");
    assert_eq!(usage["metrics"][0], json!({ "metric": "inbound_messages", "used": 4, "limit": 500 }));
    assert_eq!(usage["metrics"][1], json!({ "metric": "ai_replies", "used": 0, "limit": 100 }));
    let start = usage["periodStart"].as_str().unwrap();
    assert!(start.ends_with("-01"), "{start}");

    let agent = crate::api_keys::member_token(&app, &seeded, meta_chat_shared::UserRole::Agent).await;
    assert_eq!(send(&app, Method::GET, "/billing/usage", &agent, None).await.status(), 403);
}
