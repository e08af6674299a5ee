//! A TCP proxy that a test switches off and on, to take a dependency away from a running application
//! and give it back. Off means nothing listens on the port (connection refused) and every connection
//! that went through it is closed. Used to take PostgreSQL or RabbitMQ away from running code.
#![expect(clippy::unwrap_used, clippy::missing_panics_doc, reason = "test support fails loudly")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A switchable TCP proxy.
pub struct TcpProxy {
    port: u16,
    target: String,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    /// A proxy to `target` (`host:port`) on a free local port, switched off.
    pub fn new(target: &str) -> Self {
        Self {
            port: std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(),
            target: target.to_owned(),
            accept: None,
            connections: Arc::default(),
        }
    }

    /// `127.0.0.1:<port>` of the proxy.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts listening on the proxy's port.
    pub async fn start(&mut self) {
        assert!(self.accept.is_none(), "already running");
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], self.port))).await.unwrap();
        let target = self.target.clone();
        let connections = Arc::clone(&self.connections);
        self.accept = Some(tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(task);
            }
        }));
    }

    /// Stops listening and closes every proxied connection; returns once they are all gone.
    pub async fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        let open = std::mem::take(&mut *self.connections.lock().unwrap());
        for task in open {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}
