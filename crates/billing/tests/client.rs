//! The Stripe client against a local fake server: a POST whose connection drops is sent again with the same
//! `Idempotency-Key` (so Stripe performs it once), and Stripe's errors come back classified.

#![expect(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

use std::sync::{Arc, Mutex};

use meta_chat_billing::{StripeClient, StripeError};
use meta_chat_shared::config::{Secret, StripeConfig};
use meta_chat_shared::ids::TenantId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that drops the first `drops` connections after reading their request, then answers `answer`;
/// it records every request head it read.
async fn flaky_server(drops: usize, answer: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0; 16 * 1024];
            let read = socket.read(&mut buf).await.unwrap_or(0);
            log.lock().unwrap().push(String::from_utf8_lossy(&buf[..read]).to_lowercase());
            n += 1;
            if n <= drops {
                drop(socket);
                continue;
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (url, seen)
}

fn client(url: &str) -> StripeClient {
    let config = StripeConfig {
        secret_key: Secret::new("sk_test_123"),
        api_base_url: url.to_owned(),
        timeout_ms: 2_000,
        ..StripeConfig::default()
    };
    StripeClient::from_config(&config).unwrap().unwrap()
}

fn idempotency_key(request: &str) -> String {
    request.lines().find_map(|line| line.strip_prefix("idempotency-key: ")).unwrap_or_default().trim().to_owned()
}

#[tokio::test]
async fn a_dropped_post_is_retried_with_the_same_idempotency_key() {
    let (url, seen) = flaky_server(1, r#"{"id": "cus_Retried1", "object": "customer"}"#).await;
    let tenant = TenantId::new();
    let customer = client(&url).create_customer(tenant, "owner@example.com", "Acme").await.unwrap();
    assert_eq!(customer, "cus_Retried1");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one drop, one retry");
    let keys: Vec<String> = seen.iter().map(|r| idempotency_key(r)).collect();
    assert_eq!(keys[0], format!("customer-{tenant}"));
    assert_eq!(keys[0], keys[1], "the retry must carry the same key");
    assert!(seen[0].contains("authorization: bearer sk_test_123"));
}

#[tokio::test]
async fn unreachable_stripe_is_a_transport_error_after_three_attempts() {
    let (url, seen) = flaky_server(10, "{}").await;
    let err = client(&url).create_portal_session("cus_1", "https://example.com").await.unwrap_err();
    assert!(matches!(err, StripeError::Transport(_)), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn no_secret_key_means_no_client_and_odd_ids_never_reach_a_path() {
    assert!(StripeClient::from_config(&StripeConfig::default()).unwrap().is_none());
    let (url, seen) = flaky_server(0, "{}").await;
    let err = client(&url).cancel_at_period_end("sub_1/../../v1/customers").await.unwrap_err();
    assert!(matches!(err, StripeError::Decode(_)), "{err:?}");
    assert!(seen.lock().unwrap().is_empty());
}
