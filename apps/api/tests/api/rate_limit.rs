//! Abuse protection: the sign-in routes are limited per client IP.

use serde_json::json;

use crate::helpers::{assert_envelope, header, spawn_app_with};

#[tokio::test]
async fn the_login_attempt_over_the_limit_gets_429_with_retry_after() {
    let app = spawn_app_with(|config, _| config.rate_limit.auth_per_ip_per_minute = 3).await;
    let attempt = || {
        app.post("/api/v1/auth/login")
            .json(&json!({ "email": "nobody@example.com", "password": "wrong password" }))
            .send()
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

#[tokio::test]
async fn a_tenant_over_its_api_allowance_gets_429() {
    use meta_chat_database::testkit::seed;
    use meta_chat_shared::UserRole;
    use meta_chat_shared::auth::{JwtKeys, Subject};
    use meta_chat_shared::ids::{TenantId, UserId};

    let app = spawn_app_with(|config, _| config.rate_limit.api_per_tenant_per_minute = 2).await;
    let mut conn = seed::connect(&app.db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    let globex = seed::tenant_with_conversation(&mut conn, "globex").await;
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let token = |s: &seed::Seeded| {
        let subject = Subject::TenantUser {
            user: UserId::from_uuid(s.user),
            tenant: TenantId::from_uuid(s.tenant),
            role: UserRole::Owner,
        };
        keys.issue(&subject, std::time::Duration::from_secs(600)).unwrap().token
    };
    let (acme_token, globex_token) = (token(&acme), token(&globex));
    let list = |t: &str| app.get("/api/v1/conversations").bearer_auth(t.to_owned()).send();
    assert_eq!(list(&acme_token).await.unwrap().status(), 200);
    assert_eq!(list(&acme_token).await.unwrap().status(), 200);
    let limited = list(&acme_token).await.unwrap();
    assert!(header(&limited, "retry-after").parse::<u64>().is_ok());
    assert_envelope(limited, 429, "RATE_LIMITED").await;
    assert_eq!(list(&globex_token).await.unwrap().status(), 200, "tenants have separate allowances");
}
