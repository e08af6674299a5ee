//! Platform administration end to end: admins seeded as the worker's `create-admin` would (an argon2id hash
//! inserted as the owner role), logging in through the API, and working across tenants that row-level
//! security hides from the runtime role.

use std::time::Duration;

use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_shared::UserRole;
use meta_chat_shared::api_keys::GeneratedApiKey;
use meta_chat_shared::auth::{JwtKeys, Subject, TokenKind, password};
use meta_chat_shared::ids::{AdminId, TenantId, UserId};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_envelope, spawn_app};

const ADMIN_EMAIL: &str = "ops@platform.example";
const ADMIN_PASSWORD: &str = "a long admin passphrase";

/// Inserts an admin as the owner role, exactly as `meta-chat-worker create-admin` stores one.
async fn seed_admin(app: &TestApp, email: &str) -> Uuid {
    let id = Uuid::now_v7();
    let hash = password::hash(ADMIN_PASSWORD).unwrap();
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO platform_admins (id, email, name, password_hash) VALUES ('{id}', '{email}', 'Ops', '{hash}')"
        ),
    )
    .await;
    id
}

async fn admin_login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let body = json!({ "email": email, "password": password });
    app.post("/api/v1/admin/auth/login").json(&body).send().await.unwrap()
}

/// Seeds an admin and logs it in through the API; returns (admin id, access token).
async fn admin(app: &TestApp) -> (Uuid, String) {
    let id = seed_admin(app, ADMIN_EMAIL).await;
    let res = admin_login(app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    (id, body["accessToken"].as_str().unwrap().to_owned())
}

/// A tenant with an owner, a channel, a contact and a conversation, and an access token for the owner.
async fn tenant(app: &TestApp, slug: &str) -> (Seeded, String) {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let seeded = seed::tenant_with_conversation(&mut owner, slug).await;
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let subject = Subject::TenantUser {
        user: UserId::from_uuid(seeded.user),
        tenant: TenantId::from_uuid(seeded.tenant),
        role: UserRole::Owner,
    };
    (seeded, keys.issue(&subject, Duration::from_secs(600)).unwrap().token)
}

/// An API key of `tenant` with the `conversations:read` scope, inserted as the owner role.
async fn api_key(app: &TestApp, tenant: Uuid) -> String {
    let key = GeneratedApiKey::generate().unwrap();
    let hash = key.hash().iter().fold(String::new(), |mut hex, byte| {
        use std::fmt::Write as _;
        write!(hex, "{byte:02x}").unwrap();
        hex
    });
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(
        &mut owner,
        &format!(
            "INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash, scopes) VALUES \
             ('{tenant}', '{}', 'ci', '{}', decode('{hash}', 'hex'), ARRAY['conversations:read'])",
            Uuid::now_v7(),
            key.prefix()
        ),
    )
    .await;
    key.key().expose().to_owned()
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.http.request(method, app.url(&format!("/api/v1{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn ok_json(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Rows of `sql` (one text column named `value`), read as the owner role.
async fn texts(app: &TestApp, sql: &str) -> Vec<String> {
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::texts(&mut owner, sql).await
}

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn admin_login_issues_a_platform_admin_token_and_refuses_bad_credentials_alike() {
    let app = spawn_app().await;
    let id = seed_admin(&app, ADMIN_EMAIL).await;
    let body = ok_json(admin_login(&app, "OPS@Platform.example", ADMIN_PASSWORD).await).await;
    assert_eq!(body["admin"], json!({ "id": id.to_string(), "email": ADMIN_EMAIL, "name": "Ops" }));
    assert_eq!(body["expiresIn"], app.config.auth.access_token_ttl_secs);
    assert!(body.get("refreshToken").is_none(), "admins get no refresh token: {body}");
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let verified = keys.verify(body["accessToken"].as_str().unwrap(), TokenKind::PlatformAdmin).unwrap();
    assert_eq!(verified.subject, Subject::PlatformAdmin { admin: AdminId::from_uuid(id) });
    assert_eq!(texts(&app, "SELECT (last_login_at IS NOT NULL)::text AS value FROM platform_admins").await, ["true"]);

    let strip = |mut body: Value| {
        body["error"]["requestId"] = Value::Null;
        body["error"]["timestamp"] = Value::Null;
        body
    };
    let wrong = assert_envelope(admin_login(&app, ADMIN_EMAIL, "not the password").await, 401, "UNAUTHORIZED").await;
    let unknown =
        assert_envelope(admin_login(&app, "nobody@platform.example", ADMIN_PASSWORD).await, 401, "UNAUTHORIZED").await;
    assert_eq!(strip(wrong), strip(unknown), "unknown email and wrong password look the same");
    // a tenant user's credentials are no admin's
    let (_, _) = tenant(&app, "acme").await;
    assert_envelope(admin_login(&app, "acme@example.com", ADMIN_PASSWORD).await, 401, "UNAUTHORIZED").await;

    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(&mut owner, "UPDATE platform_admins SET disabled_at = now()").await;
    assert_envelope(admin_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await, 403, "FORBIDDEN").await;

    let actions = texts(
        &app,
        "SELECT action || ' ' || actor_type || ' ' || coalesce(tenant_id::text, 'platform') AS value \
         FROM audit_log ORDER BY created_at, id",
    )
    .await;
    assert_eq!(
        actions,
        [
            "admin.login admin platform",
            "admin.login_failed admin platform",
            "admin.login_failed system platform",
            "admin.login_failed system platform",
            "admin.login_refused admin platform",
        ]
    );
    let recorded = texts(&app, "SELECT details::text AS value FROM audit_log").await.join(" ");
    assert!(!recorded.contains("nobody@") && !recorded.contains(ADMIN_PASSWORD), "{recorded}");
}

#[tokio::test]
async fn admin_routes_take_admin_tokens_only_and_admin_tokens_open_nothing_else() {
    let app = spawn_app().await;
    let (admin_id, admin_token) = admin(&app).await;
    let (acme, user_token) = tenant(&app, "acme").await;
    let key = api_key(&app, acme.tenant).await;
    let tenant_path = format!("/admin/tenants/{}", acme.tenant);
    let routes: [(Method, &str, Option<Value>); 4] = [
        (Method::GET, "/admin/tenants", None),
        (Method::GET, &tenant_path, None),
        (Method::PATCH, &tenant_path, Some(json!({ "status": "suspended" }))),
        (Method::GET, "/admin/audit-log", None),
    ];
    for (method, path, body) in &routes {
        let none = call(&app, method.clone(), path, None, body.clone()).await;
        assert_envelope(none, 401, "UNAUTHORIZED").await;
        let user = call(&app, method.clone(), path, Some(&user_token), body.clone()).await;
        assert_envelope(user, 401, "INVALID_TOKEN").await;
        let as_key = call(&app, method.clone(), path, Some(&key), body.clone()).await;
        assert_envelope(as_key, 401, "INVALID_TOKEN").await;
        let header_key =
            app.http.request(method.clone(), app.url(&format!("/api/v1{path}"))).header("x-api-key", &key).send().await;
        assert_envelope(header_key.unwrap(), 401, "INVALID_TOKEN").await;
    }
    assert_eq!(texts(&app, "SELECT status AS value FROM tenants").await, ["active"], "nothing was suspended");

    // an admin token is not a tenant token
    for path in ["/me", "/conversations", &format!("/conversations/{}", acme.conversation)] {
        assert_envelope(call(&app, Method::GET, path, Some(&admin_token), None).await, 401, "INVALID_TOKEN").await;
    }
    ok_json(call(&app, Method::GET, "/admin/tenants", Some(&admin_token), None).await).await;

    // the account behind a token is checked on every request
    let mut owner = seed::connect(&app.db.owner_url()).await;
    seed::exec(&mut owner, "UPDATE platform_admins SET disabled_at = now()").await;
    assert_envelope(call(&app, Method::GET, "/admin/tenants", Some(&admin_token), None).await, 403, "FORBIDDEN").await;
    seed::exec(&mut owner, "UPDATE platform_admins SET disabled_at = NULL").await;
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let ghost = keys.issue(&Subject::PlatformAdmin { admin: AdminId::new() }, Duration::from_secs(600)).unwrap();
    assert_envelope(call(&app, Method::GET, "/admin/tenants", Some(&ghost.token), None).await, 401, "INVALID_TOKEN")
        .await;
    assert_ne!(admin_id, Uuid::nil());
}

#[tokio::test]
async fn tenants_are_listed_across_tenants_filtered_searched_and_paged() {
    let app = spawn_app().await;
    let (_, token) = admin(&app).await;
    let (acme, _) = tenant(&app, "acme").await;
    let (globex, _) = tenant(&app, "globex").await;
    let (initech, _) = tenant(&app, "initech").await;
    let get = |path: String| {
        let token = token.clone();
        let app = &app;
        async move { ok_json(call(app, Method::GET, &path, Some(&token), None).await).await }
    };

    let first = get("/admin/tenants?limit=2".into()).await;
    assert_eq!(ids(&first), [initech.tenant.to_string(), globex.tenant.to_string()], "newest first");
    assert_eq!(first["data"][0]["slug"], "initech");
    assert_eq!(first["data"][0]["status"], "active");
    assert_eq!(first["data"][0]["plan"], "free");
    assert!(first["data"][0].get("counts").is_none(), "lists carry no counts");
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = get(format!("/admin/tenants?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), [acme.tenant.to_string()]);
    assert!(second["nextCursor"].is_null());

    let path = format!("/admin/tenants/{}", globex.tenant);
    let suspended = call(&app, Method::PATCH, &path, Some(&token), Some(json!({ "status": "suspended" }))).await;
    ok_json(suspended).await;
    assert_eq!(ids(&get("/admin/tenants?status=suspended".into()).await), [globex.tenant.to_string()]);
    assert_eq!(ids(&get("/admin/tenants?status=active".into()).await).len(), 2);
    assert_eq!(ids(&get("/admin/tenants?q=GLOB".into()).await), [globex.tenant.to_string()]);
    assert_eq!(ids(&get("/admin/tenants?q=%25".into()).await), Vec::<String>::new(), "`%` is matched literally");
}

#[tokio::test]
async fn a_tenant_shows_its_counts_and_unknown_ids_are_not_found() {
    let app = spawn_app().await;
    let (_, token) = admin(&app).await;
    let (acme, _) = tenant(&app, "acme").await;
    let body =
        ok_json(call(&app, Method::GET, &format!("/admin/tenants/{}", acme.tenant), Some(&token), None).await).await;
    assert_eq!(body["id"], acme.tenant.to_string());
    assert_eq!(body["name"], "acme");
    assert_eq!(body["counts"], json!({ "users": 1, "channels": 1, "conversations": 1 }));
    assert!(body["suspendedAt"].is_null());

    let unknown = call(&app, Method::GET, &format!("/admin/tenants/{}", Uuid::now_v7()), Some(&token), None).await;
    assert_envelope(unknown, 404, "NOT_FOUND").await;
    let patch = Some(json!({ "status": "suspended" }));
    let unknown = call(&app, Method::PATCH, &format!("/admin/tenants/{}", Uuid::now_v7()), Some(&token), patch).await;
    assert_envelope(unknown, 404, "NOT_FOUND").await;
    let malformed = call(&app, Method::GET, "/admin/tenants/not-a-uuid", Some(&token), None).await;
    assert_envelope(malformed, 400, "VALIDATION_ERROR").await;
    let delete = call(&app, Method::DELETE, &format!("/admin/tenants/{}", acme.tenant), Some(&token), None).await;
    assert_eq!(delete.status(), 405);
}

#[tokio::test]
async fn suspending_blocks_the_tenants_users_and_keys_until_it_is_resumed() {
    let app = spawn_app().await;
    let (_, token) = admin(&app).await;
    let (acme, user) = tenant(&app, "acme").await;
    let (_, other_user) = tenant(&app, "globex").await;
    let key = api_key(&app, acme.tenant).await;
    let status_of = |path: &'static str, credential: String| {
        let app = &app;
        async move { call(app, Method::GET, path, Some(&credential), None).await.status().as_u16() }
    };
    assert_eq!(status_of("/me", user.clone()).await, 200);
    assert_eq!(status_of("/conversations", user.clone()).await, 200);
    assert_eq!(status_of("/conversations", key.clone()).await, 200);

    let path = format!("/admin/tenants/{}", acme.tenant);
    let suspend = json!({ "status": "suspended", "suspendedReason": "  unpaid invoices " });
    let body = ok_json(call(&app, Method::PATCH, &path, Some(&token), Some(suspend)).await).await;
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["suspendedReason"], "unpaid invoices");
    assert!(body["suspendedAt"].is_string());
    assert_eq!(body["counts"]["users"], 1);

    for (path, credential) in [("/me", &user), ("/conversations", &user), ("/conversations", &key)] {
        let res = call(&app, Method::GET, path, Some(credential), None).await;
        assert_envelope(res, 403, "FORBIDDEN").await;
    }
    assert_eq!(status_of("/me", other_user.clone()).await, 200, "other tenants are unaffected");

    let body = ok_json(call(&app, Method::PATCH, &path, Some(&token), Some(json!({ "status": "active" }))).await).await;
    assert_eq!(body["status"], "active");
    assert!(body["suspendedAt"].is_null() && body["suspendedReason"].is_null());
    assert_eq!(status_of("/me", user.clone()).await, 200);
    assert_eq!(status_of("/conversations", user.clone()).await, 200);
    assert_eq!(status_of("/conversations", key.clone()).await, 200);

    // plan override: the plan in force follows it, and null removes it
    let body =
        ok_json(call(&app, Method::PATCH, &path, Some(&token), Some(json!({ "planOverride": "enterprise" }))).await)
            .await;
    assert_eq!((body["plan"].as_str(), body["planId"].as_str()), (Some("enterprise"), Some("free")));
    let me = ok_json(call(&app, Method::GET, "/me", Some(&user), None).await).await;
    assert_eq!(me["tenant"]["plan"], "enterprise");
    let body =
        ok_json(call(&app, Method::PATCH, &path, Some(&token), Some(json!({ "planOverride": null }))).await).await;
    assert_eq!(body["plan"], "free");
    assert!(body["planOverride"].is_null());
}

#[tokio::test]
async fn every_admin_action_is_audited_with_who_what_and_from_where() {
    let app = spawn_app().await;
    let admin_id = seed_admin(&app, ADMIN_EMAIL).await;
    let (acme, _) = tenant(&app, "acme").await;
    let send = |method: Method, path: String, token: Option<String>, body: Option<Value>, request_id: &'static str| {
        let app = &app;
        async move {
            let mut request = app
                .http
                .request(method, app.url(&format!("/api/v1{path}")))
                .header("x-request-id", request_id)
                .header("user-agent", "admin-console/1.0");
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            request.send().await.unwrap()
        }
    };
    let login = json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD });
    let session = ok_json(send(Method::POST, "/admin/auth/login".into(), None, Some(login), "req-login").await).await;
    let token = Some(session["accessToken"].as_str().unwrap().to_owned());
    let tenant_path = format!("/admin/tenants/{}", acme.tenant);
    ok_json(send(Method::GET, "/admin/tenants".into(), token.clone(), None, "req-list").await).await;
    ok_json(send(Method::GET, tenant_path.clone(), token.clone(), None, "req-get").await).await;
    let change = json!({ "status": "suspended", "planOverride": "pro" });
    ok_json(send(Method::PATCH, tenant_path.clone(), token.clone(), Some(change), "req-patch").await).await;

    let rows = texts(
        &app,
        "SELECT concat_ws(' ', action, coalesce(tenant_id::text, 'platform'), actor_type, actor_id, host(ip), \
                request_id, user_agent) AS value FROM audit_log ORDER BY created_at, id",
    )
    .await;
    let who_where = format!("admin {admin_id} 127.0.0.1");
    let (t, ua) = (acme.tenant, "admin-console/1.0");
    assert_eq!(
        rows,
        [
            format!("admin.login platform {who_where} req-login {ua}"),
            format!("admin.tenants.listed platform {who_where} req-list {ua}"),
            format!("admin.tenant.viewed {t} {who_where} req-get {ua}"),
            format!("admin.tenant.suspended {t} {who_where} req-patch {ua}"),
            format!("admin.tenant.plan_overridden {t} {who_where} req-patch {ua}"),
        ]
    );
    let details = texts(&app, "SELECT details::text AS value FROM audit_log WHERE action = 'admin.tenant.suspended'")
        .await
        .remove(0);
    let details: Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["before"]["status"], "active");
    assert_eq!(details["after"]["status"], "suspended");
    assert_eq!(details["after"]["planOverride"], "pro");

    // the audit log reads back through the API, filtered and paged, newest first
    let get = |query: String| {
        let token = token.clone();
        let app = &app;
        async move {
            ok_json(call(app, Method::GET, &format!("/admin/audit-log{query}"), token.as_deref(), None).await).await
        }
    };
    let tenant_entries = get(format!("?tenant={}&limit=2", acme.tenant)).await;
    let actions: Vec<&str> =
        tenant_entries["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["admin.tenant.plan_overridden", "admin.tenant.suspended"]);
    let entry = &tenant_entries["data"][0];
    assert_eq!(entry["actorType"], "admin");
    assert_eq!(entry["actorId"], admin_id.to_string());
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(entry["requestId"], "req-patch");
    assert_eq!(entry["tenantId"], acme.tenant.to_string());
    let cursor = tenant_entries["nextCursor"].as_str().unwrap();
    let rest = get(format!("?tenant={}&limit=2&cursor={cursor}", acme.tenant)).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["action"], "admin.tenant.viewed");
    assert!(rest["nextCursor"].is_null());

    let logins = get("?action=admin.login".into()).await;
    assert_eq!(logins["data"].as_array().unwrap().len(), 1);
    assert!(logins["data"][0]["tenantId"].is_null());
    let future = get("?since=2999-01-01T00:00:00Z".into()).await;
    assert_eq!(future["data"], json!([]));
    // reading the audit log is itself audited
    let viewed = texts(&app, "SELECT action AS value FROM audit_log WHERE action = 'admin.audit_log.viewed'").await;
    assert_eq!(viewed.len(), 4);
}

#[tokio::test]
async fn invalid_admin_queries_and_bodies_name_the_field() {
    let app = spawn_app().await;
    let (_, token) = admin(&app).await;
    let (acme, _) = tenant(&app, "acme").await;
    let path = format!("/admin/tenants/{}", acme.tenant);
    let bodies = [
        (json!({ "status": "paused" }), "status"),
        (json!({ "planOverride": "gold" }), "planOverride"),
        (json!({ "suspendedReason": "why" }), "suspendedReason"),
        (json!({ "status": "active", "suspendedReason": "why" }), "suspendedReason"),
        (json!({ "status": "suspended", "suspendedReason": "   " }), "suspendedReason"),
        (json!({ "status": "suspended", "suspendedReason": "x".repeat(501) }), "suspendedReason"),
        (json!({}), "status"),
        (json!({ "status": "active", "plan": "pro" }), "plan"),
    ];
    for (body, field) in bodies {
        let res = call(&app, Method::PATCH, &path, Some(&token), Some(body.clone())).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(error["error"]["details"]["fields"][0]["path"], field, "{body}: {error}");
    }
    assert_eq!(texts(&app, "SELECT status AS value FROM tenants").await, ["active"], "nothing changed");

    let queries = [
        ("/admin/tenants?status=closed", "status"),
        ("/admin/tenants?limit=0", "limit"),
        ("/admin/tenants?limit=101", "limit"),
        ("/admin/tenants?cursor=zzz", "cursor"),
        ("/admin/tenants?q=", "q"),
        ("/admin/audit-log?action=ADMIN%25", "action"),
        ("/admin/audit-log?cursor=zzz", "cursor"),
    ];
    for (query, field) in queries {
        let res = call(&app, Method::GET, query, Some(&token), None).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(error["error"]["details"]["fields"][0]["path"], field, "{query}: {error}");
    }
    let unknown = call(&app, Method::GET, "/admin/tenants?sort=asc", Some(&token), None).await;
    assert_envelope(unknown, 400, "INVALID_QUERY").await;
    let bad_login = app.post("/api/v1/admin/auth/login").json(&json!({ "email": "ops" , "password": "x" })).send();
    let error = assert_envelope(bad_login.await.unwrap(), 400, "VALIDATION_ERROR").await;
    assert_eq!(error["error"]["details"]["fields"][0]["path"], "email");
}

#[tokio::test]
async fn admin_routes_are_documented_with_bearer_auth() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    let paths = &doc["paths"];
    assert!(paths["/admin/auth/login"]["post"].is_object());
    for (path, method) in [
        ("/admin/tenants", "get"),
        ("/admin/tenants/{id}", "get"),
        ("/admin/tenants/{id}", "patch"),
        ("/admin/audit-log", "get"),
    ] {
        let operation = &paths[path][method];
        assert_eq!(operation["security"], json!([{ "bearerAuth": [] }]), "{method} {path}");
    }
}
