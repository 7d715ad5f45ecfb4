//! A stand-in for a slow, metered external API (a weather service): it
//! answers `GET /weather/{city}` and counts every call, so tests can prove
//! how many reached it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

/// A running stub origin.
pub struct Origin {
    pub addr: SocketAddr,
    calls: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Origin {
    /// Starts the stub on a free loopback port, on the current runtime.
    pub async fn start() -> anyhow::Result<Origin> {
        let calls = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route("/weather/{city}", get(weather))
            .with_state(calls.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("stub origin: {e}");
            }
        });
        Ok(Origin { addr, calls, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests the origin has answered.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn weather(State(calls): State<Arc<AtomicU64>>, Path(city): Path<String>) -> Json<serde_json::Value> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    // A made-up but stable temperature per city; `call` tells answers apart.
    let temp = city
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % 35;
    Json(serde_json::json!({ "city": city, "temp_c": temp, "call": n }))
}
