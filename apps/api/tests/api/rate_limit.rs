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

/// An address without an account locks after as many failures as a real account does, so a 429 says nothing
/// about which addresses exist; and one client IP failing on many addresses is backed off as a whole.
#[tokio::test]
async fn failed_sign_ins_back_off_per_address_and_per_ip_alike() {
    let app = spawn_app_with(|config, _| {
        config.auth.login_lockout_threshold = 2;
        config.rate_limit.auth_per_ip_per_minute = 1000;
    })
    .await;
    let login = |email: String| {
        app.post("/api/v1/auth/login").json(&json!({ "email": email, "password": "wrong password" })).send()
    };
    // an unknown address: two failures, then locked like an account would be
    for _ in 0..2 {
        assert_eq!(login("ghost@example.com".into()).await.unwrap().status(), 401);
    }
    let locked = login("ghost@example.com".into()).await.unwrap();
    assert!(header(&locked, "retry-after").parse::<u64>().is_ok());
    assert_envelope(locked, 429, "RATE_LIMITED").await;
    // the IP threshold is four times the account threshold: after 8 failures in all, this client is locked
    for i in 0..6 {
        assert_eq!(login(format!("other{i}@example.com")).await.unwrap().status(), 401, "attempt {i}");
    }
    let ip_locked = login("someone-new@example.com".into()).await.unwrap();
    assert_envelope(ip_locked, 429, "RATE_LIMITED").await;
}
