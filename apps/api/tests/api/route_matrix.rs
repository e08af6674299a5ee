//! Table-driven checks over every route of the served OpenAPI document: a route that is documented but
//! missing from [`ROUTES`] (or the reverse) fails the first test, so no new route skips the rest:
//! - no credentials → 401 `UNAUTHORIZED`; a token of the wrong kind → 401 `INVALID_TOKEN`;
//! - another tenant's resource id → 404 and nothing of that tenant changes;
//! - an unknown body field → 400 `VALIDATION_ERROR` naming the field;
//! - a role below the route's minimum → 403 `FORBIDDEN`.

use std::collections::BTreeSet;
use std::time::Duration;

use meta_chat_database::testkit::seed::{self, Seeded};
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{JwtKeys, Subject};
use meta_chat_shared::ids::{AdminId, ChannelId, ContactId, TenantId, UserId};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, assert_envelope, spawn_app};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No credentials needed (sign-in routes, health, docs).
    Public,
    /// A tenant user with at least this role (API keys are covered by their own tests).
    Tenant(UserRole),
    /// A platform admin.
    Admin,
    /// A third-party webhook: authenticated by its body's signature only (Meta, Stripe).
    Signature,
}

/// Which tenant resource the `{id}` of a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    None,
    Conversation,
    Contact,
    Channel,
    User,
    ApiKey,
    Tenant,
    Webhook,
    Document,
}

struct Route {
    method: &'static str,
    path: &'static str,
    access: Access,
    resource: Resource,
    /// A body that passes validation (routes that read one), so that what is tested is the check in question.
    body: Option<&'static str>,
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    resource: Resource,
    body: Option<&'static str>,
) -> Route {
    Route { method, path, access, resource, body }
}

use Access::{Admin, Public, Signature, Tenant};
use Resource as R;
const AGENT: Access = Tenant(UserRole::Agent);
const ADMIN: Access = Tenant(UserRole::Admin);

const ROUTES: &[Route] = &[
    route("GET", "/health", Public, R::None, None),
    route("GET", "/health/live", Public, R::None, None),
    route("GET", "/health/ready", Public, R::None, None),
    route(
        "POST",
        "/auth/signup",
        Public,
        R::None,
        Some(r#"{"email": "new@example.com", "password": "long enough password", "name": "N", "companyName": "N Co"}"#),
    ),
    route("POST", "/auth/verify-email", Public, R::None, Some(r#"{"token": "abc"}"#)),
    route("POST", "/auth/resend-verification", Public, R::None, Some(r#"{"email": "new@example.com"}"#)),
    route("POST", "/auth/login", Public, R::None, Some(r#"{"email": "new@example.com", "password": "x"}"#)),
    route("POST", "/auth/refresh", Public, R::None, Some(r#"{"refreshToken": "abc"}"#)),
    route("POST", "/auth/logout", Public, R::None, Some(r#"{"refreshToken": "abc"}"#)),
    route("POST", "/auth/forgot-password", Public, R::None, Some(r#"{"email": "new@example.com"}"#)),
    route(
        "POST",
        "/auth/reset-password",
        Public,
        R::None,
        Some(r#"{"token": "abc", "password": "long enough password"}"#),
    ),
    route("GET", "/me", AGENT, R::None, None),
    route("GET", "/conversations", AGENT, R::None, None),
    route("GET", "/conversations/{id}", AGENT, R::Conversation, None),
    route("PATCH", "/conversations/{id}", AGENT, R::Conversation, Some(r#"{"status": "closed"}"#)),
    route("GET", "/conversations/{id}/messages", AGENT, R::Conversation, None),
    route("POST", "/conversations/{id}/messages", AGENT, R::Conversation, Some(r#"{"text": "hello"}"#)),
    route("POST", "/conversations/{id}/handoff", AGENT, R::Conversation, Some(r#"{"reason": "asked"}"#)),
    route("POST", "/conversations/{id}/release", AGENT, R::Conversation, None),
    route("GET", "/contacts/{id}/export", ADMIN, R::Contact, None),
    route("DELETE", "/contacts/{id}", ADMIN, R::Contact, None),
    route("POST", "/admin/auth/login", Public, R::None, Some(r#"{"email": "new@example.com", "password": "x"}"#)),
    route("GET", "/admin/tenants", Admin, R::None, None),
    route("GET", "/admin/tenants/{id}", Admin, R::Tenant, None),
    route("PATCH", "/admin/tenants/{id}", Admin, R::Tenant, Some(r#"{"planOverride": "pro"}"#)),
    route("GET", "/admin/audit-log", Admin, R::None, None),
    route("GET", "/tenant", AGENT, R::None, None),
    route("PATCH", "/tenant", ADMIN, R::None, Some(r#"{"rag": {"topK": 4}}"#)),
    route("GET", "/users", AGENT, R::None, None),
    route("POST", "/users", ADMIN, R::None, Some(r#"{"email": "invitee@example.com", "name": "I", "role": "agent"}"#)),
    route("PATCH", "/users/{id}", ADMIN, R::User, Some(r#"{"role": "owner"}"#)),
    route("DELETE", "/users/{id}", ADMIN, R::User, None),
    route(
        "POST",
        "/auth/accept-invitation",
        Public,
        R::None,
        Some(r#"{"token": "abc", "password": "long enough password"}"#),
    ),
    route("GET", "/api-keys", ADMIN, R::None, None),
    route("POST", "/api-keys", ADMIN, R::None, Some(r#"{"name": "k", "scopes": ["chat"]}"#)),
    route("POST", "/api-keys/{id}/rotate", ADMIN, R::ApiKey, None),
    route("DELETE", "/api-keys/{id}", ADMIN, R::ApiKey, None),
    route("GET", "/channels", ADMIN, R::None, None),
    route(
        "POST",
        "/channels",
        ADMIN,
        R::None,
        Some(r#"{"type": "webchat", "config": {"allowedOrigins": ["https://a.example"]}}"#),
    ),
    route("GET", "/channels/{id}", ADMIN, R::Channel, None),
    route("PATCH", "/channels/{id}", ADMIN, R::Channel, Some(r#"{"name": "x"}"#)),
    route("DELETE", "/channels/{id}", ADMIN, R::Channel, None),
    route("POST", "/chat", AGENT, R::None, Some(r#"{"message": "Hello"}"#)),
    route("GET", "/documents", AGENT, R::None, None),
    route("POST", "/documents", AGENT, R::None, Some(r#"{"filename": "faq.md", "content": "Opening hours: 9 to 5."}"#)),
    route("GET", "/documents/{id}", AGENT, R::Document, None),
    route("PATCH", "/documents/{id}", AGENT, R::Document, Some(r#"{"filename": "renamed.txt"}"#)),
    route("DELETE", "/documents/{id}", AGENT, R::Document, None),
    route(
        "PUT",
        "/documents/{id}/content",
        AGENT,
        R::Document,
        Some(r#"{"filename": "v2.txt", "content": "Version two."}"#),
    ),
    route("POST", "/documents/{id}/reprocess", AGENT, R::Document, None),
    route("GET", "/documents/{id}/chunks", AGENT, R::Document, None),
    route("POST", "/search", AGENT, R::None, Some(r#"{"query": "opening hours"}"#)),
    route("GET", "/webhooks", ADMIN, R::None, None),
    route(
        "POST",
        "/webhooks",
        ADMIN,
        R::None,
        Some(r#"{"url": "https://203.0.113.10/hook", "events": ["message.received"]}"#),
    ),
    route("GET", "/webhooks/{id}", ADMIN, R::Webhook, None),
    route("PATCH", "/webhooks/{id}", ADMIN, R::Webhook, Some(r#"{"description": "x"}"#)),
    route("DELETE", "/webhooks/{id}", ADMIN, R::Webhook, None),
    route("GET", "/webhooks/{id}/deliveries", ADMIN, R::Webhook, None),
    route("POST", "/webhooks/{id}/test", ADMIN, R::Webhook, None),
    route("GET", "/conversations/{id}/messages/{id}/media", AGENT, R::Conversation, None),
    route("GET", "/billing/plans", Public, R::None, None),
    route("GET", "/billing/usage", ADMIN, R::None, None),
    route("GET", "/analytics/overview", AGENT, R::None, None),
    route("GET", "/analytics/rag", AGENT, R::None, None),
    route("GET", "/analytics/response-times", AGENT, R::None, None),
    route("GET", "/analytics/top-questions", AGENT, R::None, None),
    route("GET", "/analytics/unanswered", AGENT, R::None, None),
    route("GET", "/billing/subscription", ADMIN, R::None, None),
    route("POST", "/billing/checkout-session", ADMIN, R::None, Some(r#"{"planId": "pro"}"#)),
    route("POST", "/billing/portal-session", ADMIN, R::None, None),
    route("POST", "/billing/cancel", ADMIN, R::None, None),
    route("POST", "/billing/stripe/webhook", Signature, R::None, None),
    route("GET", "/integrations/whatsapp/{id}", Public, R::None, None),
    route("POST", "/integrations/whatsapp/{id}", Signature, R::Channel, None),
    route("GET", "/integrations/messenger/{id}", Public, R::None, None),
    route("POST", "/integrations/messenger/{id}", Signature, R::Channel, None),
    route("GET", "/integrations/whatsapp", Public, R::None, None),
    route("POST", "/integrations/whatsapp", Signature, R::None, None),
    route("GET", "/integrations/messenger", Public, R::None, None),
    route("POST", "/integrations/messenger", Signature, R::None, None),
];

/// Two tenants with data, and tokens for acme's owner and agent, a platform admin and a widget session.
struct World {
    app: TestApp,
    acme: Seeded,
    globex: Seeded,
    /// An API key row of each tenant (the key itself is never needed here).
    keys: (uuid::Uuid, uuid::Uuid),
    /// A webhook of each tenant.
    webhooks: (uuid::Uuid, uuid::Uuid),
    /// A document of each tenant.
    documents: (uuid::Uuid, uuid::Uuid),
    owner: String,
    agent: String,
    admin: String,
    widget: String,
}

/// A stored (pending) document for each tenant.
async fn seed_documents(conn: &mut meta_chat_database::AsyncPgConnection, tenants: [uuid::Uuid; 2]) -> Vec<uuid::Uuid> {
    let mut documents = Vec::new();
    for tenant in tenants {
        let id = uuid::Uuid::now_v7();
        seed::exec(
            conn,
            &format!(
                "INSERT INTO documents (tenant_id, id, filename, mime_type, size_bytes, checksum) \
                 VALUES ('{tenant}', '{id}', 'faq.txt', 'text/plain', 5, sha256('hello'::bytea))"
            ),
        )
        .await;
        seed::exec(
            conn,
            &format!(
                "INSERT INTO document_contents (tenant_id, document_id, version, bytes) \
                 VALUES ('{tenant}', '{id}', 1, 'hello'::bytea)"
            ),
        )
        .await;
        documents.push(id);
    }
    documents
}

async fn world() -> World {
    let app = spawn_app().await;
    let mut conn = seed::connect(&app.db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    let globex = seed::tenant_with_conversation(&mut conn, "globex").await;
    seed::inbound_message(&mut conn, &globex, "2026-11-20T10:00:00Z").await;
    let agent_id = uuid::Uuid::now_v7();
    seed::exec(
        &mut conn,
        &format!(
            "INSERT INTO tenant_users (tenant_id, id, email, name, role, password_hash) VALUES \
             ('{}', '{agent_id}', 'agent@acme.example', 'Agent', 'agent', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')",
            acme.tenant
        ),
    )
    .await;
    let mut api_keys = Vec::new();
    for (tenant, prefix) in [(acme.tenant, "mck_acmeKEY1"), (globex.tenant, "mck_globKEY1")] {
        let id = uuid::Uuid::now_v7();
        seed::exec(
            &mut conn,
            &format!(
                "INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash, scopes) \
                 VALUES ('{tenant}', '{id}', 'k', '{prefix}', sha256('{prefix}'::bytea), ARRAY['chat'])"
            ),
        )
        .await;
        api_keys.push(id);
    }
    let mut webhooks = Vec::new();
    for tenant in [acme.tenant, globex.tenant] {
        let id = uuid::Uuid::now_v7();
        seed::exec(
            &mut conn,
            &format!(
                "INSERT INTO tenant_webhooks (tenant_id, id, url, events, secret_enc) \
                 VALUES ('{tenant}', '{id}', 'https://203.0.113.10/hook', ARRAY['message.received'], 'v1.k.a.b')"
            ),
        )
        .await;
        webhooks.push(id);
    }
    let documents = seed_documents(&mut conn, [acme.tenant, globex.tenant]).await;
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let ttl = Duration::from_secs(600);
    let tenant_token = |user: uuid::Uuid, role: UserRole| {
        let subject =
            Subject::TenantUser { user: UserId::from_uuid(user), tenant: TenantId::from_uuid(acme.tenant), role };
        keys.issue(&subject, ttl).unwrap().token
    };
    let owner = tenant_token(acme.user, UserRole::Owner);
    let agent = tenant_token(agent_id, UserRole::Agent);
    // a real admin account: the admin extractor checks that the account exists and is enabled
    let admin_id = AdminId::new();
    seed::exec(
        &mut conn,
        &format!(
            "INSERT INTO platform_admins (id, email, name, password_hash) VALUES \
             ('{admin_id}', 'ops@platform.example', 'Ops', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')"
        ),
    )
    .await;
    let admin = keys.issue(&Subject::PlatformAdmin { admin: admin_id }, ttl).unwrap().token;
    let widget = keys
        .issue(
            &Subject::WidgetSession {
                contact: ContactId::from_uuid(acme.contact),
                tenant: TenantId::from_uuid(acme.tenant),
                channel: ChannelId::from_uuid(acme.channel),
            },
            ttl,
        )
        .unwrap()
        .token;
    World {
        app,
        acme,
        globex,
        keys: (api_keys[0], api_keys[1]),
        webhooks: (webhooks[0], webhooks[1]),
        documents: (documents[0], documents[1]),
        owner,
        agent,
        admin,
        widget,
    }
}

impl World {
    /// The id a path's `{id}` gets: acme's resource, or globex's when `foreign`.
    fn id(&self, resource: Resource, foreign: bool) -> String {
        let seeded = if foreign { &self.globex } else { &self.acme };
        match resource {
            R::Conversation => seeded.conversation.to_string(),
            R::Contact => seeded.contact.to_string(),
            R::Channel => seeded.channel.to_string(),
            R::User => seeded.user.to_string(),
            R::Tenant => seeded.tenant.to_string(),
            R::ApiKey => (if foreign { self.keys.1 } else { self.keys.0 }).to_string(),
            R::Webhook => (if foreign { self.webhooks.1 } else { self.webhooks.0 }).to_string(),
            R::Document => (if foreign { self.documents.1 } else { self.documents.0 }).to_string(),
            R::None => uuid::Uuid::now_v7().to_string(),
        }
    }
}

async fn send(app: &TestApp, route: &Route, id: &str, token: Option<&str>, body: Option<&str>) -> reqwest::Response {
    let method = Method::from_bytes(route.method.as_bytes()).unwrap();
    let url = app.url(&format!("/api/v1{}", route.path.replace("{id}", id)));
    let mut request = app.http.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    request.send().await.unwrap()
}

/// A digest of every row of `tenant` in the tables a route could change (read as the owner role).
async fn tenant_digest(app: &TestApp, tenant: uuid::Uuid) -> Vec<String> {
    let mut conn = seed::connect(&app.db.owner_url()).await;
    let mut digests = Vec::new();
    for table in [
        "tenants",
        "tenant_users",
        "channels",
        "contacts",
        "conversations",
        "messages",
        "api_keys",
        "refresh_sessions",
        "tenant_webhooks",
        "webhook_deliveries",
        "documents",
        "document_contents",
        "chunks",
    ] {
        let column = if table == "tenants" { "id" } else { "tenant_id" };
        let sql = format!(
            "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS value FROM {table} t WHERE {column} = '{tenant}'"
        );
        digests.extend(seed::texts(&mut conn, &sql).await.into_iter().map(|d| format!("{table}:{d}")));
    }
    digests
}

#[tokio::test]
async fn every_documented_route_is_in_the_table_and_vice_versa() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                // path parameters are named per resource in the document; the table writes them `{id}`
                let normalized: String = path
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { "{id}" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                documented.insert((method.to_uppercase(), normalized));
            }
        }
    }
    let table: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    let missing: Vec<_> = documented.difference(&table).collect();
    let stale: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "documented routes missing from ROUTES (add them with their access rules): {missing:?}"
    );
    assert!(stale.is_empty(), "ROUTES entries that are not documented: {stale:?}");
}

#[tokio::test]
async fn protected_routes_refuse_missing_and_wrong_kind_credentials() {
    let w = world().await;
    for route in ROUTES.iter().filter(|r| matches!(r.access, Tenant(_) | Admin)) {
        let id = w.id(route.resource, false);
        let what = format!("{} {}", route.method, route.path);
        let res = send(&w.app, route, &id, None, route.body).await;
        assert_eq!(res.status(), 401, "{what} without credentials");
        assert_envelope(res, 401, "UNAUTHORIZED").await;
        let wrong_kinds: Vec<&str> = match route.access {
            Admin => vec![&w.owner, &w.widget],
            _ => vec![&w.admin, &w.widget],
        };
        for token in wrong_kinds {
            let res = send(&w.app, route, &id, Some(token), route.body).await;
            assert_eq!(res.status(), 401, "{what} with a token of the wrong kind");
            assert_envelope(res, 401, "INVALID_TOKEN").await;
        }
    }
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_nothing_changes() {
    let w = world().await;
    let before = tenant_digest(&w.app, w.globex.tenant).await;
    for route in ROUTES.iter().filter(|r| matches!(r.access, Tenant(_)) && r.resource != R::None) {
        let id = w.id(route.resource, true);
        let res = send(&w.app, route, &id, Some(&w.owner), route.body).await;
        let what = format!("{} {}", route.method, route.path);
        assert_eq!(res.status(), 404, "{what} with another tenant's id");
        let body: Value = res.json().await.unwrap();
        let code = body["error"]["code"].as_str().unwrap_or_default();
        assert!(code.ends_with("NOT_FOUND"), "{what}: {body}");
    }
    assert_eq!(tenant_digest(&w.app, w.globex.tenant).await, before, "another tenant's rows changed");
}

#[tokio::test]
async fn unknown_body_fields_are_validation_errors_naming_the_field() {
    let w = world().await;
    for route in ROUTES.iter().filter(|r| r.body.is_some()) {
        let id = w.id(route.resource, false);
        let token = match route.access {
            Admin => Some(w.admin.as_str()),
            Tenant(_) => Some(w.owner.as_str()),
            Public | Signature => None,
        };
        let res = send(&w.app, route, &id, token, Some(r#"{"zzUnknown": true}"#)).await;
        let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(
            body["error"]["details"]["fields"][0]["path"], "zzUnknown",
            "{} {}: {body}",
            route.method, route.path
        );
    }
}

#[tokio::test]
async fn roles_below_the_minimum_are_forbidden() {
    let w = world().await;
    for route in ROUTES.iter().filter(|r| matches!(r.access, Tenant(role) if role != UserRole::Agent)) {
        let id = w.id(route.resource, false);
        let res = send(&w.app, route, &id, Some(&w.agent), route.body).await;
        assert_eq!(res.status(), 403, "{} {} as an agent", route.method, route.path);
        assert_envelope(res, 403, "FORBIDDEN").await;
    }
}

#[tokio::test]
async fn signature_routes_refuse_unsigned_deliveries_whatever_the_credentials() {
    let app = crate::helpers::spawn_app_with(|config, _| {
        config.meta.app_secret = meta_chat_shared::config::Secret::new("platform-app-secret");
        config.meta.verify_token = meta_chat_shared::config::Secret::new("platform-verify-token");
        config.billing.stripe.webhook_secret = meta_chat_shared::config::Secret::new("whsec_test");
    })
    .await;
    let (_, owner) = crate::api_keys::seeded_tenant(&app, "acme").await;
    let whatsapp = crate::integrations::whatsapp_channel(&app, &owner).await;
    let messenger = crate::integrations::messenger_channel(&app, &owner).await;
    for route in ROUTES.iter().filter(|r| r.access == Signature) {
        let id = if route.path.contains("messenger") { &messenger } else { &whatsapp };
        let what = format!("{} {}", route.method, route.path);
        for token in [None, Some(owner.as_str())] {
            let res =
                send(&app, route, id, token, Some(r#"{"object": "whatsapp_business_account", "entry": []}"#)).await;
            assert_eq!(res.status(), 401, "{what} unsigned (bearer: {})", token.is_some());
            assert_envelope(res, 401, "INVALID_SIGNATURE").await;
        }
    }
}
