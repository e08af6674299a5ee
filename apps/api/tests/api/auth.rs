//! Sign-up, verification, login, refresh rotation, logout, password reset and `GET /me`, end to end: the
//! real server, a per-test database, and a capturing mailer whose messages carry the emailed tokens.

use std::time::Duration;

use chrono::Utc;
use meta_chat_database::testkit::seed;
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{JwtKeys, Subject, opaque};
use meta_chat_shared::ids::{AdminId, ChannelId, ContactId, TenantId, UserId};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_envelope, header, spawn_app, spawn_app_with};

const PASSWORD: &str = "correct horse battery";

fn signup_body(email: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "name": "Ada Lovelace", "companyName": "Acme Corp" })
}

/// The token in an emailed link (`...?token=<token>`).
fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

impl TestApp {
    async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post(&format!("/api/v1{path}")).json(body).send().await.unwrap()
    }

    async fn me(&self, token: &str) -> reqwest::Response {
        self.get("/api/v1/me").bearer_auth(token).send().await.unwrap()
    }

    /// Signs up `email` and returns the verification token from the email.
    async fn sign_up(&self, email: &str) -> String {
        let res = self.post_json("/auth/signup", &signup_body(email)).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        token_in(&self.email_to(email, "Confirm").await.text)
    }

    /// Signs up and verifies `email`.
    async fn verified_user(&self, email: &str) {
        let token = self.sign_up(email).await;
        let res = self.post_json("/auth/verify-email", &json!({ "token": token })).await;
        assert_eq!(res.status(), 200);
    }

    async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/auth/login", &json!({ "email": email, "password": password })).await
    }

    /// Logs in and returns the response body (`accessToken`, `refreshToken`, ...).
    async fn session(&self, email: &str) -> Value {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    async fn refresh(&self, refresh_token: &Value) -> reqwest::Response {
        self.post_json("/auth/refresh", &json!({ "refreshToken": refresh_token })).await
    }

    /// Rows of `sql` (one text column named `value`), read as the owner role (no row-level security).
    async fn texts(&self, sql: &str) -> Vec<String> {
        let mut conn = seed::connect(&self.db.owner_url()).await;
        seed::texts(&mut conn, sql).await
    }
}

/// The body without the parts that differ between any two responses.
fn without_request_specifics(mut body: Value) -> Value {
    body["error"]["requestId"] = Value::Null;
    body["error"]["timestamp"] = Value::Null;
    body
}

#[tokio::test]
async fn signup_creates_an_unverified_owner_and_emails_a_verification_link() {
    let app = spawn_app().await;
    let res = app.post_json("/auth/signup", &signup_body("Ada@Acme.Example")).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let tenant = &body["tenant"];
    let user = &body["user"];
    assert_eq!(tenant["name"], "Acme Corp");
    assert_eq!(tenant["slug"], "acme-corp");
    assert_eq!(tenant["plan"], "free");
    assert_eq!(tenant["status"], "active");
    assert_eq!(user["email"], "ada@acme.example", "stored in lower case");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "owner");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["tenantId"], tenant["id"]);
    assert_eq!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap().get_version_num(), 7);
    assert!(user.get("passwordHash").is_none() && user.get("password").is_none());

    let email = app.email_to("ada@acme.example", "Confirm").await;
    assert!(email.text.contains("http://127.0.0.1:3007/verify-email?token="), "{}", email.text);
    assert_eq!(token_in(&email.text).len(), 43);
}

#[tokio::test]
async fn login_needs_a_verified_address_and_then_me_answers() {
    let app = spawn_app().await;
    let token = app.sign_up("ada@acme.example").await;

    let res = app.login("ada@acme.example", PASSWORD).await;
    let body = assert_envelope(res, 403, "FORBIDDEN").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("Confirm your email"), "{body}");

    let res = app.post_json("/auth/verify-email", &json!({ "token": token })).await;
    assert_eq!(res.status(), 200);
    let verified: Value = res.json().await.unwrap();
    assert_eq!(verified["user"]["emailVerified"], true);
    // single use
    let res = app.post_json("/auth/verify-email", &json!({ "token": token })).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;

    let session = app.session("ADA@acme.example").await;
    assert_eq!(session["tokenType"], "Bearer");
    assert_eq!(session["expiresIn"], 900);
    assert_eq!(session["user"]["email"], "ada@acme.example");
    assert_eq!(session["user"]["role"], "owner");
    assert!(session["refreshToken"].as_str().unwrap().len() >= 43);

    let res = app.me(session["accessToken"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["user"]["id"], session["user"]["id"]);
    assert_eq!(me["user"]["email"], "ada@acme.example");
    assert_eq!(me["user"]["name"], "Ada Lovelace");
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(me["user"]["tenantId"], me["tenant"]["id"]);
    assert_eq!(me["tenant"]["name"], "Acme Corp");
    assert_eq!(me["tenant"]["plan"], "free");
    assert_eq!(me["tenant"]["status"], "active");
}

#[tokio::test]
async fn resend_verification_always_answers_202_and_only_the_newest_link_works() {
    let app = spawn_app().await;
    let first = app.sign_up("ada@acme.example").await;
    let res = app.post_json("/auth/resend-verification", &json!({ "email": "nobody@acme.example" })).await;
    assert_eq!(res.status(), 202);

    let res = app.post_json("/auth/resend-verification", &json!({ "email": "ada@acme.example" })).await;
    assert_eq!(res.status(), 202);
    let mut second = first.clone();
    for _ in 0..250 {
        second = token_in(&app.email_to("ada@acme.example", "Confirm").await.text);
        if second != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_ne!(second, first, "a new link was sent");
    let res = app.post_json("/auth/verify-email", &json!({ "token": first })).await;
    assert_envelope(res, 401, "INVALID_TOKEN").await;
    let res = app.post_json("/auth/verify-email", &json!({ "token": second })).await;
    assert_eq!(res.status(), 200);
    assert!(app.mailer.sent().iter().all(|e| e.to == "ada@acme.example"), "nothing sent to unknown addresses");
}

#[tokio::test]
async fn a_registered_email_is_email_exists_and_creates_nothing() {
    let app = spawn_app().await;
    app.sign_up("ada@acme.example").await;
    let mut body = signup_body("ADA@acme.example");
    body["companyName"] = json!("Another Corp");
    let res = app.post_json("/auth/signup", &body).await;
    let error = assert_envelope(res, 409, "EMAIL_EXISTS").await;
    assert_eq!(error["error"]["details"]["field"], "email");
    assert_eq!(app.texts("SELECT count(*)::text AS value FROM tenants").await, ["1"]);
}

#[tokio::test]
async fn invalid_signup_bodies_name_the_field() {
    let app = spawn_app().await;
    let cases: [(&str, Value); 7] = [
        ("email", json!({ "email": "not-an-email" })),
        ("password", json!({ "password": "short" })),
        ("password", json!({ "password": "x".repeat(129) })),
        ("name", json!({ "name": "   " })),
        ("name", json!({ "name": "n".repeat(201) })),
        ("companyName", json!({ "companyName": "" })),
        ("nickname", json!({ "nickname": "unknown fields are rejected" })),
    ];
    for (field, change) in cases {
        let mut body = signup_body("ada@acme.example");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let res = app.post_json("/auth/signup", &body).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        let fields = error["error"]["details"]["fields"].as_array().unwrap();
        assert!(fields.iter().any(|f| f["path"] == field), "{field}: {error}");
    }
    let mut missing = signup_body("ada@acme.example");
    missing.as_object_mut().unwrap().remove("companyName");
    let error = assert_envelope(app.post_json("/auth/signup", &missing).await, 400, "VALIDATION_ERROR").await;
    assert_eq!(error["error"]["details"]["fields"][0]["path"], "companyName");
    assert_eq!(app.texts("SELECT count(*)::text AS value FROM tenants").await, ["0"]);
    assert!(app.mailer.sent().is_empty());
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.verified_user("ada@acme.example").await;
    let wrong = assert_envelope(app.login("ada@acme.example", "not the password").await, 401, "UNAUTHORIZED").await;
    let unknown = assert_envelope(app.login("eve@acme.example", "not the password").await, 401, "UNAUTHORIZED").await;
    assert_eq!(without_request_specifics(wrong), without_request_specifics(unknown));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = spawn_app_with(|config, _| {
        config.auth.login_lockout_threshold = 2;
        config.auth.login_lockout_base_secs = 30;
    })
    .await;
    app.verified_user("ada@acme.example").await;
    for _ in 0..2 {
        assert_envelope(app.login("ada@acme.example", "not the password").await, 401, "UNAUTHORIZED").await;
    }
    // locked: even the right password waits
    let res = app.login("ada@acme.example", PASSWORD).await;
    let retry_after: u64 = header(&res, "retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry_after), "Retry-After {retry_after}");
    let body = assert_envelope(res, 429, "RATE_LIMITED").await;
    assert_eq!(body["error"]["details"]["retryAfterSeconds"], retry_after);

    // the lock is recorded, as are the failures
    let audit = app.texts("SELECT action AS value FROM audit_log WHERE action LIKE 'auth.login%' ORDER BY id").await;
    assert_eq!(audit, ["auth.login_failed", "auth.login_failed"]);
    // other accounts are not affected
    app.verified_user("bob@acme.example").await;
    app.session("bob@acme.example").await;
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = spawn_app_with(|config, _| config.auth.login_lockout_threshold = 2).await;
    app.verified_user("ada@acme.example").await;
    assert_envelope(app.login("ada@acme.example", "not the password").await, 401, "UNAUTHORIZED").await;
    app.session("ada@acme.example").await;
    assert_envelope(app.login("ada@acme.example", "not the password").await, 401, "UNAUTHORIZED").await;
    app.session("ada@acme.example").await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = spawn_app().await;
    app.verified_user("ada@acme.example").await;
    let first = app.session("ada@acme.example").await;

    let res = app.refresh(&first["refreshToken"]).await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(app.me(second["accessToken"].as_str().unwrap()).await.status(), 200);

    // the first token again: someone copied it. Both it and its successor stop working.
    assert_envelope(app.refresh(&first["refreshToken"]).await, 401, "INVALID_TOKEN").await;
    assert_envelope(app.refresh(&second["refreshToken"]).await, 401, "INVALID_TOKEN").await;
    let audit = app.texts("SELECT action AS value FROM audit_log WHERE action = 'auth.refresh_token_reused'").await;
    assert_eq!(audit.len(), 1);

    // a new login starts a new family
    let third = app.session("ada@acme.example").await;
    assert_eq!(app.refresh(&third["refreshToken"]).await.status(), 200);
    assert_envelope(app.refresh(&json!("made-up-token")).await, 401, "INVALID_TOKEN").await;
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let app = spawn_app().await;
    app.verified_user("ada@acme.example").await;
    let session = app.session("ada@acme.example").await;
    let other = app.session("ada@acme.example").await;
    let res = app.post_json("/auth/logout", &json!({ "refreshToken": session["refreshToken"] })).await;
    assert_eq!(res.status(), 204);
    assert_envelope(app.refresh(&session["refreshToken"]).await, 401, "INVALID_TOKEN").await;
    assert_eq!(app.refresh(&other["refreshToken"]).await.status(), 200, "other logins stay");
    // idempotent
    let res = app.post_json("/auth/logout", &json!({ "refreshToken": session["refreshToken"] })).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn password_reset_works_once_and_revokes_every_session() {
    let app = spawn_app().await;
    app.verified_user("ada@acme.example").await;
    let before = app.session("ada@acme.example").await;

    let res = app.post_json("/auth/forgot-password", &json!({ "email": "eve@acme.example" })).await;
    assert_eq!(res.status(), 202, "unknown addresses get the same answer");
    let res = app.post_json("/auth/forgot-password", &json!({ "email": "ada@acme.example" })).await;
    assert_eq!(res.status(), 202);
    let email = app.email_to("ada@acme.example", "Reset").await;
    assert!(email.text.contains("/reset-password?token="), "{}", email.text);
    let token = token_in(&email.text);

    let new_password = "a brand new passphrase";
    let reset = json!({ "token": token, "password": new_password });
    assert_eq!(app.post_json("/auth/reset-password", &reset).await.status(), 204);
    assert_envelope(app.post_json("/auth/reset-password", &reset).await, 401, "INVALID_TOKEN").await;

    assert_envelope(app.refresh(&before["refreshToken"]).await, 401, "INVALID_TOKEN").await;
    assert_envelope(app.login("ada@acme.example", PASSWORD).await, 401, "UNAUTHORIZED").await;
    assert_eq!(app.login("ada@acme.example", new_password).await.status(), 200);
    assert!(app.mailer.sent().iter().all(|e| e.to != "eve@acme.example"));

    let short = json!({ "token": token, "password": "short" });
    let error = assert_envelope(app.post_json("/auth/reset-password", &short).await, 400, "VALIDATION_ERROR").await;
    assert_eq!(error["error"]["details"]["fields"][0]["path"], "password");
}

#[tokio::test]
async fn me_refuses_missing_malformed_expired_and_foreign_kind_tokens() {
    let app = spawn_app().await;
    app.verified_user("ada@acme.example").await;
    let session = app.session("ada@acme.example").await;
    let me: Value = app.me(session["accessToken"].as_str().unwrap()).await.json().await.unwrap();
    let user = UserId::from_uuid(me["user"]["id"].as_str().unwrap().parse().unwrap());
    let tenant = TenantId::from_uuid(me["tenant"]["id"].as_str().unwrap().parse().unwrap());

    let res = app.get("/api/v1/me").send().await.unwrap();
    assert_eq!(header(&res, "www-authenticate"), "Bearer");
    assert_envelope(res, 401, "UNAUTHORIZED").await;
    let res = app.get("/api/v1/me").basic_auth("ada", Some("pw")).send().await.unwrap();
    assert_envelope(res, 401, "UNAUTHORIZED").await;

    // tokens signed with the application's own keys, but of the wrong kind or expired
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let ttl = Duration::from_secs(900);
    let admin = keys.issue(&Subject::PlatformAdmin { admin: AdminId::new() }, ttl).unwrap().token;
    let widget = Subject::WidgetSession { contact: ContactId::new(), tenant, channel: ChannelId::new() };
    let widget = keys.issue(&widget, ttl).unwrap().token;
    let owner = Subject::TenantUser { user, tenant, role: UserRole::Owner };
    let expired = keys.issue_at(&owner, Utc::now() - chrono::Duration::hours(2), ttl).unwrap().token;
    let ghost = Subject::TenantUser { user: UserId::new(), tenant, role: UserRole::Owner };
    let ghost = keys.issue(&ghost, ttl).unwrap().token;
    let refresh = session["refreshToken"].as_str().unwrap().to_owned();
    for token in ["garbage", "a.b.c", admin.as_str(), widget.as_str(), expired.as_str(), ghost.as_str(), &refresh] {
        let res = app.me(token).await;
        assert_eq!(header(&res, "www-authenticate"), r#"Bearer error="invalid_token""#);
        assert_envelope(res, 401, "INVALID_TOKEN").await;
    }
    // and a fresh one of the right kind passes
    assert_eq!(app.me(&keys.issue(&owner, ttl).unwrap().token).await.status(), 200);
}

#[tokio::test]
async fn a_suspended_tenant_or_disabled_user_is_forbidden() {
    let app = spawn_app().await;
    app.verified_user("ada@acme.example").await;
    let session = app.session("ada@acme.example").await;
    let token = session["accessToken"].as_str().unwrap();
    let mut owner = seed::connect(&app.db.owner_url()).await;

    seed::exec(&mut owner, "UPDATE tenant_users SET status = 'disabled'").await;
    assert_envelope(app.me(token).await, 403, "FORBIDDEN").await;
    assert_envelope(app.refresh(&session["refreshToken"]).await, 403, "FORBIDDEN").await;
    assert_envelope(app.login("ada@acme.example", PASSWORD).await, 403, "FORBIDDEN").await;
    seed::exec(&mut owner, "UPDATE tenant_users SET status = 'active'").await;

    seed::exec(&mut owner, "UPDATE tenants SET status = 'suspended', suspended_at = now()").await;
    assert_envelope(app.me(token).await, 403, "FORBIDDEN").await;
    assert_envelope(app.login("ada@acme.example", PASSWORD).await, 403, "FORBIDDEN").await;
}

/// Tokens are handed out once and stored only as SHA-256; passwords only as argon2id.
#[tokio::test]
async fn no_token_or_password_is_stored_in_plain_text() {
    let app = spawn_app().await;
    let verification = app.sign_up("ada@acme.example").await;
    app.post_json("/auth/verify-email", &json!({ "token": verification })).await;
    let first = app.session("ada@acme.example").await;
    let second: Value = app.refresh(&first["refreshToken"]).await.json().await.unwrap();
    app.post_json("/auth/forgot-password", &json!({ "email": "ada@acme.example" })).await;
    let reset = token_in(&app.email_to("ada@acme.example", "Reset").await.text);

    let plain = [
        verification,
        reset,
        first["refreshToken"].as_str().unwrap().to_owned(),
        second["refreshToken"].as_str().unwrap().to_owned(),
    ];
    let rows = [
        app.texts("SELECT t::text AS value FROM refresh_sessions t").await,
        app.texts("SELECT t::text AS value FROM email_tokens t").await,
        app.texts("SELECT t::text AS value FROM tenant_users t").await,
        app.texts("SELECT t::text AS value FROM audit_log t").await,
    ]
    .concat();
    assert!(rows.len() >= 6, "{rows:?}");
    let hex = |bytes: &[u8]| {
        bytes.iter().fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
    };
    for token in &plain {
        let token_hex = hex(token.as_bytes());
        for row in &rows {
            assert!(!row.contains(token.as_str()) && !row.contains(&token_hex), "a token is stored in plain text");
        }
    }
    // what is stored is the SHA-256 of each token
    let stored = [
        app.texts("SELECT encode(token_hash, 'hex') AS value FROM refresh_sessions").await,
        app.texts("SELECT encode(token_hash, 'hex') AS value FROM email_tokens").await,
    ]
    .concat();
    for token in &plain {
        assert!(stored.contains(&hex(&opaque::hash(token))), "the hash of each token is stored");
    }
    let hashes = app.texts("SELECT password_hash AS value FROM tenant_users").await;
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$") && !h.contains(PASSWORD)), "{hashes:?}");
    assert!(rows.iter().all(|row| !row.contains(PASSWORD)));
}

#[tokio::test]
async fn auth_routes_are_documented_and_refuse_other_methods() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    for path in [
        "/auth/signup",
        "/auth/verify-email",
        "/auth/resend-verification",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/forgot-password",
        "/auth/reset-password",
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path} missing");
    }
    assert!(doc["paths"]["/me"]["get"]["security"][0]["bearerAuth"].is_array());
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");

    let res = app.get("/api/v1/auth/login").send().await.unwrap();
    assert_eq!(header(&res, "allow"), "POST");
    assert_envelope(res, 405, "METHOD_NOT_ALLOWED").await;
}
