//! Larder in the same process, for the tests and `shop --demo`: the real
//! server (`larder_server`), listening on a free loopback port, reached
//! over TCP like any other. Its clock can be moved forward, so TTLs and
//! rate limits are tested without sleeping.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use larder_server::{config::Config, net, server::Server};

pub struct EmbeddedLarder {
    pub server: Arc<Server>,
    pub port: u16,
}

impl EmbeddedLarder {
    /// Starts a server with nothing saved to disk (`--save ""`, no AOF) and
    /// `extra` directives (`["--maxmemory", "100mb"]`...). `dir` is its
    /// working directory.
    pub fn start(dir: &Path, extra: &[&str]) -> anyhow::Result<EmbeddedLarder> {
        let mut args: Vec<String> = [
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(dir.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let cfg = Config::from_args(&args).map_err(|e| anyhow::anyhow!("{e}"))?;
        let server = Server::new(cfg);
        let srv = server.clone();
        std::thread::Builder::new()
            .name("larder".into())
            .spawn(move || {
                if let Err(e) = net::run(srv) {
                    tracing::warn!("embedded Larder stopped: {e:#}");
                }
            })
            .context("starting the Larder thread")?;
        let start = Instant::now();
        loop {
            let port = server.bound_port.load(Ordering::Relaxed) as u16;
            if port != 0 {
                return Ok(EmbeddedLarder { server, port });
            }
            if start.elapsed() > Duration::from_secs(10) {
                bail!("the embedded Larder did not start listening");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Moves the server's clock forward: keys expire, leases run out and
    /// rate limits refill as if `d` had passed.
    pub fn advance(&self, d: Duration) {
        self.server.clock.advance(d.as_millis() as u64);
    }
}
