//! The OpenAPI document and the interactive docs, served entirely by the API.

use std::path::Path;

use serde_json::Value;

use crate::helpers::{header, spawn_app};

#[tokio::test]
async fn openapi_json_documents_the_health_routes_and_the_error_envelope() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/openapi.json").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'), "{}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    for path in ["/health", "/health/live", "/health/ready"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["ErrorEnvelope"].is_object());
    assert!(schemas["ErrorCode"]["enum"].as_array().unwrap().iter().any(|c| c == "METHOD_NOT_ALLOWED"));
    let ready_503 = &doc["paths"]["/health/ready"]["get"]["responses"]["503"];
    assert_eq!(ready_503["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorEnvelope");
}

/// `src="..."` and `href="..."` values in `html`.
fn asset_refs(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attr) {
            rest = &rest[start + attr.len()..];
            let end = rest.find('"').unwrap();
            refs.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    refs
}

#[tokio::test]
async fn the_docs_page_and_its_assets_come_from_the_api_itself() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/docs").send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(header(&res, "location"), "/api/v1/docs/");

    let res = app.get("/api/v1/docs/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("text/html"));
    let html = res.text().await.unwrap();
    let assets = asset_refs(&html);
    let has = |ext: &str| assets.iter().any(|r| Path::new(r).extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)));
    assert!(has("js") && has("css"), "{assets:?}");
    for asset in &assets {
        assert!(!asset.contains("//"), "{asset} is not local");
        let path = format!("/api/v1/docs/{}", asset.trim_start_matches("./"));
        let res = app.get(&path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    // the page is pointed at our own document
    let initializer = app.get("/api/v1/docs/swagger-initializer.js").send().await.unwrap().text().await.unwrap();
    assert!(initializer.contains("/api/v1/openapi.json"), "{initializer}");
}
