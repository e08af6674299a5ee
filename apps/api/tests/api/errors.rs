//! Every error is the API.md envelope, including the ones actix produces itself.

use serde_json::json;

use crate::helpers::{assert_envelope, header, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_invalid_json() {
    let app = spawn_app().await;
    let res = app
        .post("/api/v1/test/echo")
        .header("content-type", "application/json")
        .body(r#"{"message": "#)
        .send()
        .await
        .unwrap();
    let body = assert_envelope(res, 400, "INVALID_JSON").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{body}");
}

#[tokio::test]
async fn well_formed_json_of_the_wrong_shape_is_a_validation_error() {
    let app = spawn_app().await;
    let res = app.post("/api/v1/test/echo").json(&json!({ "message": "hi", "nmae": 1 })).send().await.unwrap();
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "nmae", "{body}");

    let res = app.post("/api/v1/test/echo").json(&json!({})).send().await.unwrap();
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "message", "{body}");
}

#[tokio::test]
async fn a_json_route_accepts_good_json() {
    let app = spawn_app().await;
    let res = app.post("/api/v1/test/echo").json(&json!({ "message": "hi" })).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), json!({ "message": "hi" }));
}

#[tokio::test]
async fn a_body_without_json_content_type_is_unsupported_media_type() {
    let app = spawn_app().await;
    let res = app
        .post("/api/v1/test/echo")
        .header("content-type", "text/plain")
        .body(r#"{"message": "hi"}"#)
        .send()
        .await
        .unwrap();
    assert_envelope(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;

    let res = app.post("/api/v1/test/echo").body(r#"{"message": "hi"}"#).send().await.unwrap();
    assert_envelope(res, 415, "UNSUPPORTED_MEDIA_TYPE").await;
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_payload_too_large() {
    let app = spawn_app_with(|config, _| {
        config.http.json_limit_bytes = 1024;
        config.http.payload_limit_bytes = 1024;
    })
    .await;
    let res = app.post("/api/v1/test/echo").json(&json!({ "message": "x".repeat(4096) })).send().await.unwrap();
    let body = assert_envelope(res, 413, "PAYLOAD_TOO_LARGE").await;
    assert_eq!(body["error"]["details"]["limitBytes"], 1024, "{body}");
    // just under the limit still works
    let res = app.post("/api/v1/test/echo").json(&json!({ "message": "x".repeat(900) })).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_unknown_route_is_not_found() {
    let app = spawn_app().await;
    for path in ["/nope", "/api/v1/nope", "/api/v1/health/nope", "/api/v1/docs-nope"] {
        let res = app.get(path).send().await.unwrap();
        assert_envelope(res, 404, "NOT_FOUND").await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_method_not_allowed_with_allow() {
    let app = spawn_app().await;
    for path in ["/health", "/api/v1/health/ready", "/api/health/live"] {
        let res = app.post(path).send().await.unwrap();
        assert_eq!(header(&res, "allow"), "GET", "{path}");
        let body = assert_envelope(res, 405, "METHOD_NOT_ALLOWED").await;
        assert_eq!(body["error"]["details"]["allowedMethods"], json!(["GET"]), "{body}");
    }
    let res = app.http.delete(app.url("/api/v1/test/echo")).send().await.unwrap();
    assert_eq!(header(&res, "allow"), "POST");
    assert_envelope(res, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn a_bad_query_string_is_invalid_query() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/test/page?limit=many").send().await.unwrap();
    assert_envelope(res, 400, "INVALID_QUERY").await;
    let res = app.get("/api/v1/test/page").send().await.unwrap();
    assert_envelope(res, 400, "INVALID_QUERY").await;
    let res = app.get("/api/v1/test/page?limit=5").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_bad_path_parameter_is_a_validation_error() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/test/items/not-a-number").send().await.unwrap();
    let body = assert_envelope(res, 400, "VALIDATION_ERROR").await;
    assert_eq!(body["error"]["details"]["fields"][0]["path"], "path", "{body}");
}

#[tokio::test]
async fn an_internal_error_is_generic_and_keeps_its_cause_private() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/test/boom").send().await.unwrap();
    let body = assert_envelope(res, 500, "INTERNAL_ERROR").await;
    let text = body.to_string();
    assert!(!text.contains("SELECT") && !text.contains("password"), "cause leaked: {text}");
    assert_eq!(body["error"]["message"], "An internal error occurred.");
}

#[tokio::test]
async fn a_plain_error_response_is_rewritten_into_the_envelope() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/test/raw-error").send().await.unwrap();
    let body = assert_envelope(res, 502, "EXTERNAL_SERVICE_ERROR").await;
    assert!(!body.to_string().contains("secret-token-123"), "{body}");
}

/// A real database failure (the runtime role loses its privilege on a table) is a generic 500: the
/// envelope carries no SQL, no driver text and no table name.
#[tokio::test]
async fn a_forced_database_error_is_generic_and_leaks_nothing() {
    use meta_chat_database::testkit::seed;
    use meta_chat_shared::UserRole;
    use meta_chat_shared::auth::{JwtKeys, Subject};
    use meta_chat_shared::ids::{TenantId, UserId};

    let app = crate::helpers::spawn_app().await;
    let mut owner = seed::connect(&app.db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    seed::exec(&mut owner, "REVOKE SELECT ON conversations FROM metachat_app").await;
    let keys = JwtKeys::from_config(&app.config.auth).unwrap();
    let subject = Subject::TenantUser {
        user: UserId::from_uuid(acme.user),
        tenant: TenantId::from_uuid(acme.tenant),
        role: UserRole::Owner,
    };
    let token = keys.issue(&subject, std::time::Duration::from_secs(600)).unwrap().token;
    let res = app.get("/api/v1/conversations").bearer_auth(token).send().await.unwrap();
    let body = crate::helpers::assert_envelope(res, 500, "INTERNAL_ERROR").await;
    let text = body.to_string().to_lowercase();
    for leak in ["permission", "denied", "conversations", "select", "sql", "diesel", "postgres", "panicked", ".rs:"] {
        assert!(!text.contains(leak), "the error body leaks `{leak}`: {body}");
    }
}
