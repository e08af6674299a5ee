//! Prometheus metrics on the internal listener.

use crate::helpers::{header, spawn_app};

#[tokio::test]
async fn the_metrics_port_serves_request_metrics_labelled_by_route_pattern() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/test/items/4242").send().await.unwrap().status(), 200);
    assert_eq!(app.get("/no/such/route/987654").send().await.unwrap().status(), 404);
    assert_eq!(app.get("/health/live").send().await.unwrap().status(), 200);

    let res = app.http.get(format!("{}/metrics", app.metrics_url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "content-type").starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let counters: Vec<&str> = text.lines().filter(|l| l.starts_with("http_requests_total{")).collect();
    assert!(!counters.is_empty(), "{text}");
    assert!(
        counters.iter().any(|l| l.contains(r#"route="/api/v1/test/items/{id}""#) && l.contains(r#"status="200""#)),
        "{text}"
    );
    assert!(counters.iter().any(|l| l.contains(r#"route="/health/live""#) && l.contains(r#"method="GET""#)), "{text}");
    assert!(counters.iter().any(|l| l.contains(r#"route="unmatched""#) && l.contains(r#"status="404""#)), "{text}");
    assert!(!text.contains("4242") && !text.contains("987654"), "a raw path leaked into a label:\n{text}");
    assert!(text.contains("http_request_duration_seconds_bucket{"), "{text}");

    // the metrics are not served on the public port
    let res = app.get("/metrics").send().await.unwrap();
    assert_eq!(res.status(), 404);
}
