//! The RabbitMQ connection. Today: [`ping`], a reachability check for readiness probes. The topology,
//! publisher and consumer join it with the messaging issue.

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

use crate::error::EventsError;

/// AMQP reply code for a normal close (`200 OK`).
const REPLY_SUCCESS: u16 = 200;

/// Opens a connection to the broker at `url` (`amqp://user:pass@host:port/vhost`) and closes it again,
/// all within `timeout`. `Ok` means the broker accepted the credentials and the virtual host.
pub async fn ping(url: &str, timeout: Duration) -> Result<(), EventsError> {
    let check = async {
        let properties = ConnectionProperties::default().with_connection_name("meta-chat-ping".into());
        let connection = Connection::connect(url, properties).await?;
        connection.close(REPLY_SUCCESS, "ping done".into()).await?;
        Ok(())
    };
    tokio::time::timeout(timeout, check).await.map_err(|_| EventsError::Timeout(timeout))?
}
