//! X-Request-Id, security headers and CORS.

use crate::helpers::{assert_envelope, header, spawn_app, spawn_app_with};

fn assert_uuid_v7(value: &str) {
    let id = uuid::Uuid::parse_str(value).unwrap_or_else(|_| panic!("{value} is not a UUID"));
    assert_eq!(id.get_version_num(), 7, "{value} is not a UUIDv7");
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_in_the_header_and_the_envelope() {
    let app = spawn_app().await;
    let res = app.get("/health/live").header("x-request-id", "client-id_1.2").send().await.unwrap();
    assert_eq!(header(&res, "x-request-id"), "client-id_1.2");

    let res = app.get("/nope").header("x-request-id", "abc-404").send().await.unwrap();
    let body = assert_envelope(res, 404, "NOT_FOUND").await;
    assert_eq!(body["error"]["requestId"], "abc-404");

    let longest = "a".repeat(128);
    let res = app.get("/health/live").header("x-request-id", &longest).send().await.unwrap();
    assert_eq!(header(&res, "x-request-id"), longest);
}

#[tokio::test]
async fn a_missing_or_insane_request_id_is_replaced_by_a_uuid_v7() {
    let app = spawn_app().await;
    let res = app.get("/health/live").send().await.unwrap();
    assert_uuid_v7(&header(&res, "x-request-id"));

    // too long, spaces, tabs, other punctuation, empty: all replaced (a raw newline cannot even be sent)
    for insane in
        ["a".repeat(500), "has space".into(), "tab\there".into(), "<script>".into(), "id;drop".into(), String::new()]
    {
        let res = app.get("/nope").header("x-request-id", &insane).send().await.unwrap();
        let id = header(&res, "x-request-id");
        assert_ne!(id, insane);
        assert_uuid_v7(&id);
        let body = assert_envelope(res, 404, "NOT_FOUND").await;
        assert_eq!(body["error"]["requestId"], id.as_str());
    }
}

fn assert_security_headers(res: &reqwest::Response) {
    assert_eq!(header(res, "x-content-type-options"), "nosniff");
    assert_eq!(header(res, "x-frame-options"), "DENY");
    assert_eq!(header(res, "referrer-policy"), "no-referrer");
    assert!(res.headers().get("strict-transport-security").is_none(), "no HSTS over plain http");
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    for path in ["/health/live", "/api/v1/health/live", "/api/health/live", "/nope", "/api/v1/openapi.json"] {
        let res = app.get(path).send().await.unwrap();
        assert_security_headers(&res);
        assert_eq!(header(&res, "content-security-policy"), "default-src 'none'; frame-ancestors 'none'", "{path}");
        assert_eq!(header(&res, "cache-control"), "no-store", "{path}");
    }
    let res = app.post("/health").send().await.unwrap();
    assert_security_headers(&res);

    // the docs page may run its own local scripts and styles, and nothing else
    let res = app.get("/api/v1/docs/").send().await.unwrap();
    assert_security_headers(&res);
    let csp = header(&res, "content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("style-src 'self' 'unsafe-inline'"), "{csp}");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("http"), "no remote origin in {csp}");
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let app = spawn_app_with(|config, _| config.http.public_base_url = "https://api.example.com".into()).await;
    for path in ["/health/live", "/nope"] {
        let res = app.get(path).send().await.unwrap();
        assert!(header(&res, "strict-transport-security").starts_with("max-age="), "{path}");
    }
}

#[tokio::test]
async fn cors_allows_no_origin_by_default() {
    let app = spawn_app().await;
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/health"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_envelope(res, 400, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn cors_allows_the_configured_origins_on_the_api() {
    let app =
        spawn_app_with(|config, _| config.http.cors_allowed_origins = vec!["https://app.example.com".into()]).await;
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/health"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization, x-request-id")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(header(&res, "access-control-allow-origin"), "https://app.example.com");

    let res = app.get("/api/v1/health/live").header("origin", "https://app.example.com").send().await.unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), "https://app.example.com");
    assert!(header(&res, "access-control-expose-headers").contains("x-request-id"));

    let res = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/health"))
        .header("origin", "https://other.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
