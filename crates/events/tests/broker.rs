//! Black-box checks of [`meta_chat_events::broker::ping`] against the RabbitMQ the project scripts run.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::net::TcpListener;
use std::time::Duration;

use meta_chat_events::EventsError;
use meta_chat_events::broker::ping;

/// The broker `scripts/services.sh` runs; `METACHAT_AMQP__URL` overrides it.
fn broker_url() -> String {
    std::env::var("METACHAT_AMQP__URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A local port where nothing listens: bound by the OS, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn pings_the_running_broker() {
    ping(&broker_url(), Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_closed_port_is_a_connection_error_not_a_timeout() {
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", closed_port());
    // a refused connection is reported as such, well before the (long) timeout would turn it into `Timeout`
    let err = ping(&url, Duration::from_secs(60)).await.unwrap_err();
    assert!(matches!(err, EventsError::Broker(_)), "{err}");
}

#[tokio::test]
async fn wrong_credentials_are_an_error() {
    let url = broker_url().replacen("guest:guest@", "guest:not-the-password@", 1);
    assert!(ping(&url, Duration::from_secs(5)).await.is_err());
}

#[tokio::test]
async fn a_silent_peer_is_cut_off_by_the_timeout() {
    // accepts TCP but never speaks AMQP
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("amqp://guest:guest@{}/%2f", listener.local_addr().unwrap());
    let err = ping(&url, Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(err, EventsError::Timeout(_)), "{err}");
    drop(listener);
}
