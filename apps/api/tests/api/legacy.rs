//! The unversioned `/api/...` alias of `/api/v1/...`.

use serde_json::{Value, json};

use crate::helpers::{assert_envelope, header, spawn_app};

#[tokio::test]
async fn legacy_paths_answer_like_v1_and_announce_their_successor() {
    let app = spawn_app().await;
    let res = app.get("/api/health/live").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "deprecation"), "true");
    assert_eq!(header(&res, "sunset"), app.config.http.legacy_sunset);
    assert_eq!(header(&res, "link"), r#"</api/v1/health/live>; rel="successor-version""#);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "status": "ok" }));
}

#[tokio::test]
async fn v1_paths_are_not_deprecated() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/health/live").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("deprecation").is_none());
    assert!(res.headers().get("sunset").is_none());
    assert!(res.headers().get("link").is_none());
}

#[tokio::test]
async fn every_v1_route_gets_the_alias_with_its_query_body_and_errors() {
    let app = spawn_app().await;
    // a route the alias middleware knows nothing about, with a path parameter
    let res = app.get("/api/test/items/7").send().await.unwrap();
    assert_eq!(header(&res, "link"), r#"</api/v1/test/items/7>; rel="successor-version""#);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "id": 7 }));

    let res = app.get("/api/test/page?limit=3").send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "limit": 3 }));

    let res = app.post("/api/test/echo").json(&json!({ "message": "old client" })).send().await.unwrap();
    assert_eq!(header(&res, "deprecation"), "true");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({ "message": "old client" }));

    let res = app.get("/api/nothing-here").send().await.unwrap();
    assert_eq!(header(&res, "deprecation"), "true");
    assert_envelope(res, 404, "NOT_FOUND").await;
}
