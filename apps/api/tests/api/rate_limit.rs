//! Abuse protection: the sign-in routes are limited per client IP.

use serde_json::json;

use crate::helpers::{assert_envelope, header, spawn_app_with};

#[tokio::test]
async fn the_login_attempt_over_the_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(|config, _| config.rate_limit.auth_per_ip_per_minute = 3).await;
    let attempt = || {
        app.post("/api/v1/auth/login").json(&json!({ "email": "nobody@example.com", "password": "wrong password" })).send()
    };
    for _ in 0..3 {
        assert_eq!(attempt().await.unwrap().status(), 401);
    }
    let limited = attempt().await.unwrap();
    let retry_after: u64 = header(&limited, "retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = assert_envelope(limited, 429, "RATE_LIMITED").await;
    assert_eq!(body["error"]["details"]["retryAfterSeconds"], retry_after);
    // the legacy path shares the bucket; other routes are not limited by it
    let legacy = app.post("/api/auth/forgot-password").json(&json!({ "email": "a@example.com" })).send().await.unwrap();
    assert_eq!(legacy.status(), 429);
    assert_eq!(app.get("/health/live").send().await.unwrap().status(), 200);
}
