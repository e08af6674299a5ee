//! `run_until_stopped` returns when the server stops.

use std::time::Duration;

use crate::helpers::build_app_with;

#[tokio::test]
async fn run_until_stopped_returns_once_the_server_is_stopped() {
    let (app, test_app) = build_app_with(|_, _| {});
    let running = tokio::spawn(app.run_until_stopped());
    assert_eq!(test_app.get("/health/live").send().await.unwrap().status(), 200);

    test_app.stop_handle().stop(true).await;
    let result = tokio::time::timeout(Duration::from_secs(10), running).await.expect("stopped in time");
    result.unwrap().unwrap();
    assert!(test_app.get("/health/live").send().await.is_err(), "the API no longer accepts connections");
    let metrics = test_app.http.get(format!("{}/metrics", test_app.metrics_url)).send().await;
    assert!(metrics.is_err(), "the metrics listener is closed too");
}
