//! Plan limits on API actions: the action that would exceed a limit gets 402 `PLAN_LIMIT_EXCEEDED` with the
//! numbers, the one before it succeeds, concurrent requests at the boundary never exceed it, and
//! `usage.limit_reached` is announced once at 80 % and once at 100 %.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, spawn_app_with};
use crate::tenant::{rows, send};

fn webchat(n: usize) -> Value {
    json!({ "type": "webchat", "name": format!("Site {n}"), "config": { "allowedOrigins": ["https://example.com"] } })
}

async fn alerts(app: &TestApp, metric: &str) -> Vec<String> {
    rows(
        app,
        &format!(
            "SELECT (payload->>'threshold') || '@' || (payload->>'used') AS value FROM outbox_events \
             WHERE event_type = 'usage.limit_reached' AND payload->>'metric' = '{metric}' \
             ORDER BY (payload->>'threshold')::int"
        ),
    )
    .await
}

#[tokio::test]
async fn channel_creation_stops_at_the_limit_with_the_numbers() {
    let app = spawn_app_with(|config, _| config.billing.plans.free.limits.channels = Some(5)).await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    // the seeded tenant has one channel already
    for n in 2..=5 {
        let res = send(&app, Method::POST, "/channels", &owner, Some(webchat(n))).await;
        assert_eq!(res.status(), 201, "channel {n}");
    }
    let res = send(&app, Method::POST, "/channels", &owner, Some(webchat(6))).await;
    let body = assert_envelope(res, 402, "PLAN_LIMIT_EXCEEDED").await;
    assert_eq!(body["error"]["details"], json!({ "metric": "channels", "limit": 5, "used": 5 }));
    assert_eq!(rows(&app, "SELECT count(*)::text AS value FROM channels").await, ["5"]);
    assert_eq!(alerts(&app, "channels").await, ["80@4", "100@5"]);

    // room again after a deletion
    let list: Value = send(&app, Method::GET, "/channels", &owner, None).await.json().await.unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(send(&app, Method::DELETE, &format!("/channels/{id}"), &owner, None).await.status(), 204);
    assert_eq!(send(&app, Method::POST, "/channels", &owner, Some(webchat(7))).await.status(), 201);
    assert_eq!(alerts(&app, "channels").await.len(), 2, "announced once per period");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_channel_creations_never_exceed_the_limit() {
    let app = spawn_app_with(|config, _| config.billing.plans.free.limits.channels = Some(3)).await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    let (app, owner) = (&app, owner.as_str());
    let statuses: Vec<u16> =
        join_all((0..8).map(|n| async move {
            send(app, Method::POST, "/channels", owner, Some(webchat(n))).await.status().as_u16()
        }))
        .await;
    // one channel is seeded: two more fit
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 6, "{statuses:?}");
    assert_eq!(rows(app, "SELECT count(*)::text AS value FROM channels").await, ["3"]);
}

#[tokio::test]
async fn team_invites_stop_at_the_limit() {
    let app = spawn_app_with(|config, _| config.billing.plans.free.limits.team_members = Some(2)).await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    let invite = |n: u32| json!({ "email": format!("agent{n}@example.com"), "name": "Agent", "role": "agent" });
    assert_eq!(send(&app, Method::POST, "/users", &owner, Some(invite(1))).await.status(), 201);
    let res = send(&app, Method::POST, "/users", &owner, Some(invite(2))).await;
    let body = assert_envelope(res, 402, "PLAN_LIMIT_EXCEEDED").await;
    assert_eq!(body["error"]["details"], json!({ "metric": "team_members", "limit": 2, "used": 2 }));
    assert!(app.mailer.sent().iter().all(|mail| !mail.to.contains("agent2")), "no invitation sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_calls_are_metered_and_refused_beyond_the_plan() {
    let app = spawn_app_with(|config, _| config.billing.plans.free.limits.api_calls = Some(5)).await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    let key =
        crate::api_keys::create_key(&app, &owner, &["conversations:read"]).await["key"].as_str().unwrap().to_owned();
    let call = || async {
        app.get("/api/v1/conversations").header("x-api-key", key.as_str()).send().await.unwrap().status().as_u16()
    };
    assert_eq!(call().await, 200);
    // four left: eight concurrent calls, four get through
    let statuses = join_all((0..8).map(|_| call())).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 4, "{statuses:?}");
    let res = app.get("/api/v1/conversations").header("x-api-key", key.as_str()).send().await.unwrap();
    let body = assert_envelope(res, 402, "PLAN_LIMIT_EXCEEDED").await;
    assert_eq!(body["error"]["details"], json!({ "metric": "api_calls", "limit": 5, "used": 5 }));
    // signed-in users are not metered and still get in
    assert_eq!(send(&app, Method::GET, "/conversations", &owner, None).await.status(), 200);
    let usage: Value = send(&app, Method::GET, "/billing/usage", &owner, None).await.json().await.unwrap();
    let api_calls = usage["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "api_calls").unwrap();
    assert_eq!(api_calls, &json!({ "metric": "api_calls", "used": 5, "limit": 5 }));
    assert_eq!(alerts(&app, "api_calls").await, ["80@4", "100@5"]);
}

#[tokio::test]
async fn usage_reports_every_limited_metric() {
    let app = spawn_app_with(|_, _| {}).await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    assert_eq!(send(&app, Method::POST, "/channels", &owner, Some(webchat(1))).await.status(), 201);
    let usage: Value = send(&app, Method::GET, "/billing/usage", &owner, None).await.json().await.unwrap();
    let metrics: Vec<(String, i64)> = usage["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["metric"].as_str().unwrap().to_owned(), m["used"].as_i64().unwrap()))
        .collect();
    let names: Vec<&str> = metrics.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        names,
        ["inbound_messages", "ai_replies", "api_calls", "documents", "storage_bytes", "team_members", "channels"]
    );
    assert_eq!(metrics[6].1, 2, "the seeded channel and the new one");
    assert!(metrics[5].1 >= 1, "the owner is a team member");
}
