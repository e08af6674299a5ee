//! Prometheus metrics: the process-wide recorder and the internal `/metrics` listener.
//!
//! The `metrics` facade takes one global recorder per process, while tests start several applications in
//! one process; [`handle`] therefore installs the recorder once and every application renders from the
//! same handle. No exporter HTTP listener is installed: `/metrics` is an actix route on its own port.

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{App, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::middleware::http_metrics::REQUEST_DURATION;

/// Latency buckets in seconds: 5 ms to 10 s.
const DURATION_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How often histograms are drained when nobody scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);
/// The Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The process-wide recorder's handle, installing the recorder on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install).clone()
}

fn builder() -> PrometheusBuilder {
    let builder = PrometheusBuilder::new();
    // only fails on an empty bucket list
    match builder.set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), &DURATION_BUCKETS) {
        Ok(builder) => builder,
        Err(err) => {
            tracing::warn!(error = %err, "histogram buckets refused; durations are exported as summaries");
            PrometheusBuilder::new()
        }
    }
}

fn install() -> PrometheusHandle {
    match builder().install_recorder() {
        Ok(handle) => handle,
        Err(err) => {
            // another recorder owns the facade (an embedding process); serve an empty registry, not a crash
            tracing::warn!(error = %err, "metrics recorder not installed; /metrics will stay empty");
            builder().build_recorder().handle()
        }
    }
}

async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    handle.run_upkeep();
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)))
        .body(handle.render())
}

/// The internal metrics server on `listener`: `GET /metrics` and nothing else. It does not handle
/// signals itself; [`crate::startup::Application::run_until_stopped`] stops it with the API server.
pub fn server(listener: TcpListener, handle: PrometheusHandle, shutdown_timeout_secs: u64) -> std::io::Result<Server> {
    let handle = web::Data::new(handle);
    let server = HttpServer::new(move || App::new().app_data(handle.clone()).route("/metrics", web::get().to(render)))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(shutdown_timeout_secs)
        .listen(listener)?
        .run();
    Ok(server)
}
