//! Channels end to end: per-type create, list, get, patch and delete; secrets write-only (absent from every
//! response, encrypted at rest); one connection per WhatsApp number or Messenger page across tenants; roles;
//! tenant isolation.

use meta_chat_database::testkit::seed;
use meta_chat_shared::UserRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_keys::{Auth, audit_count, create_key, member_token, rows_as_text, seeded_tenant, send};
use crate::helpers::{TestApp, assert_envelope, spawn_app};

const ACCESS_TOKEN: &str = "EAAGwhatsappAccessToken0123456789";
const APP_SECRET: &str = "d41d8cd98f00b204e9800998ecf8427e";
const VERIFY_TOKEN: &str = "verify-me-please-42";
const PAGE_TOKEN: &str = "EAAPmessengerPageToken9876543210";
const PAGE_APP_SECRET: &str = "0cc175b9c0f1b6a831c399e269772661";
const PAGE_VERIFY_TOKEN: &str = "page-verify-token-7";
const IDENTITY_SECRET: &str = "identity-hmac-secret-for-widget";
const NEW_ACCESS_TOKEN: &str = "EAAGrotatedAccessToken5555555555";
const SECRETS: [&str; 8] = [
    ACCESS_TOKEN,
    APP_SECRET,
    VERIFY_TOKEN,
    PAGE_TOKEN,
    PAGE_APP_SECRET,
    PAGE_VERIFY_TOKEN,
    IDENTITY_SECRET,
    NEW_ACCESS_TOKEN,
];

fn whatsapp(phone_number_id: &str) -> Value {
    json!({
        "type": "whatsapp",
        "name": "Support line",
        "config": {
            "phoneNumberId": phone_number_id,
            "businessAccountId": "102290129340398",
            "accessToken": ACCESS_TOKEN,
            "appSecret": APP_SECRET,
            "verifyToken": VERIFY_TOKEN,
        }
    })
}

fn messenger(page_id: &str) -> Value {
    json!({
        "type": "messenger",
        "config": {
            "pageId": page_id,
            "pageAccessToken": PAGE_TOKEN,
            "appSecret": PAGE_APP_SECRET,
            "verifyToken": PAGE_VERIFY_TOKEN,
        }
    })
}

fn webchat() -> Value {
    json!({
        "type": "webchat",
        "name": "Shop widget",
        "enabled": false,
        "config": { "allowedOrigins": ["https://shop.example.com"], "identitySecret": IDENTITY_SECRET }
    })
}

/// Collects response bodies so a test can assert that no secret was ever sent back.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    async fn json(&mut self, res: reqwest::Response, status: u16) -> Value {
        assert_eq!(res.status().as_u16(), status, "{}", res.url());
        let text = res.text().await.unwrap();
        self.0.push(text.clone());
        serde_json::from_str(&text).unwrap()
    }

    fn assert_no_secret(&self) {
        for body in &self.0 {
            for secret in SECRETS {
                assert!(!body.contains(secret), "a secret leaked into a response: {body}");
            }
        }
    }
}

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    send(app, Method::POST, "/channels", Auth::Bearer(token), Some(body)).await
}

fn webhook_url(app: &TestApp, kind: &str, id: &Value) -> String {
    format!("{}/api/v1/integrations/{kind}/{}", app.config.http.public_base_url, id.as_str().unwrap())
}

#[tokio::test]
async fn channels_of_every_type_round_trip_without_their_secrets() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let auth = Auth::Bearer(&owner);
    let mut seen = Seen::default();

    let wa = seen.json(create(&app, &owner, &whatsapp("106540352242922")).await, 201).await;
    assert_eq!(
        (wa["type"].as_str(), wa["name"].as_str(), wa["enabled"].as_bool()),
        (Some("whatsapp"), Some("Support line"), Some(true))
    );
    assert_eq!(wa["config"], json!({ "phoneNumberId": "106540352242922", "businessAccountId": "102290129340398" }));
    assert_eq!(wa["secretsSet"], json!(["accessToken", "appSecret", "verifyToken"]));
    assert_eq!(wa["webhookUrl"], webhook_url(&app, "whatsapp", &wa["id"]));
    assert!(wa.get("widgetKey").is_none(), "{wa}");
    assert!(wa["createdAt"].is_string() && wa["updatedAt"].is_string());

    let fb = seen.json(create(&app, &owner, &messenger("200300400500")).await, 201).await;
    assert_eq!((fb["type"].as_str(), fb["name"].as_str()), (Some("messenger"), Some("Messenger")));
    assert_eq!(fb["config"], json!({ "pageId": "200300400500" }));
    assert_eq!(fb["secretsSet"], json!(["pageAccessToken", "appSecret", "verifyToken"]));
    assert_eq!(fb["webhookUrl"], webhook_url(&app, "messenger", &fb["id"]));

    let web = seen.json(create(&app, &owner, &webchat()).await, 201).await;
    assert_eq!((web["type"].as_str(), web["enabled"].as_bool()), (Some("webchat"), Some(false)));
    assert_eq!(web["config"], json!({ "allowedOrigins": ["https://shop.example.com"] }));
    assert_eq!(web["secretsSet"], json!(["identitySecret"]));
    assert!(web["webhookUrl"].is_null());
    assert!(web["widgetKey"].as_str().is_some_and(|k| k.starts_with("wk_")), "{web}");

    // get and list (newest first, paged; the seeded channel is the oldest)
    let path = |c: &Value| format!("/channels/{}", c["id"].as_str().unwrap());
    let got = seen.json(send(&app, Method::GET, &path(&wa), auth, None).await, 200).await;
    assert_eq!(got, wa);
    let page = seen.json(send(&app, Method::GET, "/channels?limit=2", auth, None).await, 200).await;
    assert_eq!(page["data"][0]["id"], web["id"]);
    assert_eq!(page["data"][1]["id"], fb["id"]);
    let cursor = page["nextCursor"].as_str().expect("a second page");
    let rest =
        seen.json(send(&app, Method::GET, &format!("/channels?limit=2&cursor={cursor}"), auth, None).await, 200).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest["data"][0]["id"], wa["id"]);
    assert!(rest["nextCursor"].is_null());
    let only_web = seen.json(send(&app, Method::GET, "/channels?type=webchat", auth, None).await, 200).await;
    assert_eq!(only_web["data"].as_array().unwrap().len(), 1);

    // patch: rename, disable, replace one secret and the number; the other secrets stay set
    let changes = json!({ "name": "Sales line", "enabled": false,
                        "config": { "phoneNumberId": "5550001111", "accessToken": NEW_ACCESS_TOKEN } });
    let patched = seen.json(send(&app, Method::PATCH, &path(&wa), auth, Some(&changes)).await, 200).await;
    assert_eq!((patched["name"].as_str(), patched["enabled"].as_bool()), (Some("Sales line"), Some(false)));
    assert_eq!(patched["config"]["phoneNumberId"], "5550001111");
    assert_eq!(patched["config"]["businessAccountId"], "102290129340398", "fields left out keep their values");
    assert_eq!(patched["secretsSet"], json!(["accessToken", "appSecret", "verifyToken"]));
    // removing the optional identity secret of the widget
    let cleared =
        json!({ "type": "webchat", "config": { "identitySecret": null, "allowedOrigins": ["https://a.example.com"] } });
    let web_patched = seen.json(send(&app, Method::PATCH, &path(&web), auth, Some(&cleared)).await, 200).await;
    assert_eq!(web_patched["secretsSet"], json!([]));
    assert_eq!(web_patched["widgetKey"], web["widgetKey"]);

    // delete
    let res = send(&app, Method::DELETE, &path(&fb), auth, None).await;
    assert_eq!(res.status(), 204);
    assert_envelope(send(&app, Method::GET, &path(&fb), auth, None).await, 404, "NOT_FOUND").await;
    assert_envelope(send(&app, Method::DELETE, &path(&fb), auth, None).await, 404, "NOT_FOUND").await;
    let all = seen.json(send(&app, Method::GET, "/channels", auth, None).await, 200).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);

    seen.assert_no_secret();
    assert_eq!(audit_count(&app, "channel.created").await, 3);
    assert_eq!(audit_count(&app, "channel.updated").await, 2);
    assert_eq!(audit_count(&app, "channel.deleted").await, 1);
}

#[tokio::test]
async fn channel_secrets_are_encrypted_at_rest_and_the_audit_log_names_fields_only() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let wa: Value = create(&app, &owner, &whatsapp("106540352242922")).await.json().await.unwrap();
    create(&app, &owner, &messenger("200300400500")).await;
    create(&app, &owner, &webchat()).await;
    let changes = json!({ "config": { "accessToken": NEW_ACCESS_TOKEN } });
    let path = format!("/channels/{}", wa["id"].as_str().unwrap());
    assert_eq!(send(&app, Method::PATCH, &path, Auth::Bearer(&owner), Some(&changes)).await.status(), 200);

    let stored = rows_as_text(&app, "channels").await;
    for secret in SECRETS {
        assert!(!stored.contains(secret), "plain secret at rest: {stored}");
    }
    let mut db = seed::connect(&app.db.owner_url()).await;
    let envelopes = seed::texts(
        &mut db,
        &format!(
            "SELECT value AS value FROM channels, jsonb_each_text(secrets) WHERE id = '{}'",
            wa["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(envelopes.len(), 3);
    assert!(envelopes.iter().all(|e| e.starts_with("v1.")), "{envelopes:?}");
    let audit = rows_as_text(&app, "audit_log").await;
    for secret in SECRETS {
        assert!(!audit.contains(secret), "secret in the audit log: {audit}");
    }
    assert!(audit.contains("config.accessToken"), "the update names the changed field: {audit}");
}

#[tokio::test]
async fn a_connected_number_or_page_cannot_be_connected_again_in_any_tenant() {
    let app = spawn_app().await;
    let (_, acme) = seeded_tenant(&app, "acme").await;
    let (_, globex) = seeded_tenant(&app, "globex").await;
    assert_eq!(create(&app, &acme, &whatsapp("106540352242922")).await.status(), 201);
    assert_eq!(create(&app, &acme, &messenger("200300400500")).await.status(), 201);

    for (token, body, field) in [
        (&globex, whatsapp("106540352242922"), "config.phoneNumberId"),
        (&acme, whatsapp("106540352242922"), "config.phoneNumberId"),
        (&globex, messenger("200300400500"), "config.pageId"),
    ] {
        let res = create(&app, token, &body).await;
        let error = assert_envelope(res, 409, "CONFLICT").await;
        assert_eq!(error["error"]["details"]["field"], field, "{error}");
    }
    // moving another channel onto the number is refused the same way
    let other: Value = create(&app, &globex, &whatsapp("777888999")).await.json().await.unwrap();
    let changes = json!({ "config": { "phoneNumberId": "106540352242922" } });
    let path = format!("/channels/{}", other["id"].as_str().unwrap());
    let res = send(&app, Method::PATCH, &path, Auth::Bearer(&globex), Some(&changes)).await;
    let error = assert_envelope(res, 409, "CONFLICT").await;
    assert_eq!(error["error"]["details"]["field"], "config.phoneNumberId");
    let unchanged: Value = send(&app, Method::GET, &path, Auth::Bearer(&globex), None).await.json().await.unwrap();
    assert_eq!(unchanged["config"]["phoneNumberId"], "777888999");
}

#[tokio::test]
async fn invalid_channel_input_names_the_field() {
    let app = spawn_app().await;
    let (_, owner) = seeded_tenant(&app, "acme").await;
    let mut missing = whatsapp("1");
    missing["config"].as_object_mut().unwrap().remove("phoneNumberId");
    let mut letters = whatsapp("1");
    letters["config"]["phoneNumberId"] = json!("not-digits");
    let mut unknown = whatsapp("1");
    unknown["config"]["pageId"] = json!("1");
    let mut long_name = webchat();
    long_name["name"] = json!("x".repeat(101));
    for (body, field) in [
        (missing, "config.phoneNumberId"),
        (letters, "config.phoneNumberId"),
        (unknown, "config.pageId"),
        (json!({ "type": "telegram", "config": {} }), "type"),
        (json!({ "type": "webchat", "config": { "allowedOrigins": ["ftp://x"] } }), "config.allowedOrigins[0]"),
        (json!({ "type": "webchat", "config": [] }), "config"),
        (long_name, "name"),
        (json!({ "type": "webchat", "config": { "allowedOrigins": ["https://a.example"] }, "secret": 1 }), "secret"),
    ] {
        let res = create(&app, &owner, &body).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        let paths: Vec<&str> =
            error["error"]["details"]["fields"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
        assert!(paths.contains(&field), "{body}: {error}");
        assert!(!error.to_string().contains(ACCESS_TOKEN), "errors never echo secrets");
    }
    let created: Value = create(&app, &owner, &whatsapp("42")).await.json().await.unwrap();
    let path = format!("/channels/{}", created["id"].as_str().unwrap());
    for (changes, field) in [
        (json!({ "type": "messenger" }), "type"),
        (json!({ "config": { "verifyToken": "short" } }), "config.verifyToken"),
        (json!({ "name": "" }), "name"),
    ] {
        let res = send(&app, Method::PATCH, &path, Auth::Bearer(&owner), Some(&changes)).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(error["error"]["details"]["fields"][0]["path"], field, "{changes}: {error}");
    }
    for (query, field) in [("limit=0", "limit"), ("limit=101", "limit"), ("type=sms", "type"), ("cursor=zzz", "cursor")]
    {
        let res = send(&app, Method::GET, &format!("/channels?{query}"), Auth::Bearer(&owner), None).await;
        let error = assert_envelope(res, 400, "VALIDATION_ERROR").await;
        assert_eq!(error["error"]["details"]["fields"][0]["path"], field, "{query}: {error}");
    }
    let res = send(&app, Method::GET, "/channels/not-a-uuid", Auth::Bearer(&owner), None).await;
    assert_envelope(res, 400, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn agents_and_api_keys_cannot_manage_channels() {
    let app = spawn_app().await;
    let (acme, owner) = seeded_tenant(&app, "acme").await;
    let agent = member_token(&app, &acme, UserRole::Agent).await;
    let key = create_key(&app, &owner, &["admin"]).await["key"].as_str().unwrap().to_owned();
    let admin = member_token(&app, &acme, UserRole::Admin).await;
    let created: Value = create(&app, &admin, &webchat()).await.json().await.unwrap();
    let path = format!("/channels/{}", created["id"].as_str().unwrap());
    let rename = json!({ "name": "Renamed" });
    let routes = [
        (Method::GET, "/channels".to_owned(), None),
        (Method::POST, "/channels".to_owned(), Some(webchat())),
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(rename)),
        (Method::DELETE, path.clone(), None),
    ];
    for (method, route, body) in &routes {
        for auth in [Auth::Bearer(&agent), Auth::Bearer(&key), Auth::Header(&key)] {
            let res = send(&app, method.clone(), route, auth, body.as_ref()).await;
            assert_envelope(res, 403, "FORBIDDEN").await;
        }
        let res = send(&app, method.clone(), route, Auth::None, body.as_ref()).await;
        assert_envelope(res, 401, "UNAUTHORIZED").await;
        let res = send(&app, method.clone(), route, Auth::Bearer("garbage"), body.as_ref()).await;
        assert_envelope(res, 401, "INVALID_TOKEN").await;
    }
    let unchanged: Value = send(&app, Method::GET, &path, Auth::Bearer(&owner), None).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "Shop widget");
}

#[tokio::test]
async fn another_tenants_channel_is_not_found_and_unchanged() {
    let app = spawn_app().await;
    let (_, acme) = seeded_tenant(&app, "acme").await;
    let (_, globex) = seeded_tenant(&app, "globex").await;
    let created: Value = create(&app, &acme, &whatsapp("106540352242922")).await.json().await.unwrap();
    let path = format!("/channels/{}", created["id"].as_str().unwrap());
    let changes = json!({ "name": "Hijacked", "config": { "accessToken": NEW_ACCESS_TOKEN } });
    for (method, body) in [(Method::GET, None), (Method::PATCH, Some(&changes)), (Method::DELETE, None)] {
        let res = send(&app, method, &path, Auth::Bearer(&globex), body).await;
        assert_envelope(res, 404, "NOT_FOUND").await;
    }
    let listed: Value = send(&app, Method::GET, "/channels", Auth::Bearer(&globex), None).await.json().await.unwrap();
    assert!(listed["data"].as_array().unwrap().iter().all(|c| c["id"] != created["id"]));
    let after: Value = send(&app, Method::GET, &path, Auth::Bearer(&acme), None).await.json().await.unwrap();
    assert_eq!(after, created, "nothing changed");
    assert_eq!(audit_count(&app, "channel.updated").await + audit_count(&app, "channel.deleted").await, 0);
}
