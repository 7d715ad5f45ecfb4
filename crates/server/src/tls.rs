//! TLS for client connections (Redis's `tls-port`), with rustls and its
//! `ring` provider. The acceptor is rebuilt from the `tls-*` directives at
//! start and after a CONFIG SET of any of them (a failed rebuild keeps the
//! old configuration, as Redis's "Unable to update TLS configuration").
//!
//! What rustls decides for itself, and the directives that therefore
//! cannot be honoured: cipher lists (`tls-ciphers`, `tls-ciphersuites`;
//! rustls offers only its own modern suites), encrypted private keys
//! (`tls-key-file-pass`), TLS 1.0/1.1. Those are refused when set.
//! `tls-dh-params-file` is accepted and unused: rustls has no DHE suites,
//! only ECDHE. `tls-ca-cert-dir` loads every certificate file in the
//! directory (OpenSSL reads it by hashed names). `tls-session-cache-timeout`
//! is accepted, but rustls's session cache evicts by size only.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// The acceptor in force (None while `tls-port` is 0).
#[derive(Default)]
pub struct TlsState {
    acceptor: parking_lot::RwLock<Option<TlsAcceptor>>,
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState")
            .field("enabled", &self.acceptor.read().is_some())
            .finish()
    }
}

impl TlsState {
    pub fn acceptor(&self) -> Option<TlsAcceptor> {
        self.acceptor.read().clone()
    }

    pub fn set(&self, a: Option<TlsAcceptor>) {
        *self.acceptor.write() = a;
    }
}

/// The `tls-port` directive (0: no TLS listener).
pub fn port(cfg: &Config) -> u16 {
    cfg.extras.get("tls-port").and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn extra<'a>(cfg: &'a Config, name: &str) -> &'a str {
    cfg.extras.get(name).map(String::as_str).unwrap_or("")
}

fn certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("Failed to load certificate: {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "Failed to load certificate: {path}: no certificate in the file"
        ));
    }
    Ok(certs)
}

fn roots(cfg: &Config) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let mut add = |path: &str| -> Result<(), String> {
        for c in certs(path)? {
            store
                .add(c)
                .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {path}: {e}"))?;
        }
        Ok(())
    };
    let file = extra(cfg, "tls-ca-cert-file");
    if !file.is_empty() {
        add(file)?;
    }
    let dir = extra(cfg, "tls-ca-cert-dir");
    if !dir.is_empty() {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("Failed to configure CA certificate(s) file/directory: {dir}: {e}"))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths.iter().filter(|p| p.is_file()) {
            // Files that hold no certificate (a CRL, a README) are skipped.
            if let Ok(cs) = certs(&p.display().to_string()) {
                for c in cs {
                    let _ = store.add(c);
                }
            }
        }
    }
    Ok(store)
}

fn versions(cfg: &Config) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let spec = extra(cfg, "tls-protocols");
    if spec.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut out = Vec::new();
    for p in spec.split_whitespace() {
        match p.to_ascii_lowercase().as_str() {
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1" | "tlsv1.1" => return Err(format!("Invalid tls-protocols: {p} is not supported (TLS 1.2 and 1.3 are)")),
            _ => return Err(format!("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.: {p}")),
        }
    }
    Ok(out)
}

/// The acceptor the `tls-*` directives describe; None when `tls-port` is 0.
pub fn build(cfg: &Config) -> Result<Option<TlsAcceptor>, String> {
    if port(cfg) == 0 {
        return Ok(None);
    }
    let (cert, key) = (extra(cfg, "tls-cert-file"), extra(cfg, "tls-key-file"));
    if cert.is_empty() || key.is_empty() {
        return Err("Failed to configure TLS: tls-cert-file and tls-key-file must be set".into());
    }
    let chain = certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("Failed to load private key: {key}: {e}"))?;
    let provider = Arc::new(ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(cfg)?)
        .map_err(|e| format!("Failed to configure TLS: {e}"))?;
    let auth = extra(cfg, "tls-auth-clients").to_ascii_lowercase();
    let builder = if auth == "no" {
        builder.with_no_client_auth()
    } else {
        if extra(cfg, "tls-ca-cert-file").is_empty() && extra(cfg, "tls-ca-cert-dir").is_empty() {
            return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!".into());
        }
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(cfg)?), provider);
        let v = if auth == "optional" {
            v.allow_unauthenticated()
        } else {
            v
        };
        builder.with_client_cert_verifier(v.build().map_err(|e| format!("Failed to configure TLS: {e}"))?)
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("Failed to configure TLS: {e}"))?;
    config.ignore_client_order = extra(cfg, "tls-prefer-server-ciphers") == "yes";
    if extra(cfg, "tls-session-caching") == "no" {
        config.session_storage = Arc::new(NoServerSessionStorage {});
    } else {
        let size = cfg
            .extras
            .get("tls-session-cache-size")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(20480);
        config.session_storage = ServerSessionMemoryCache::new(size.max(1));
    }
    if !extra(cfg, "tls-dh-params-file").is_empty() && !Path::new(extra(cfg, "tls-dh-params-file")).exists() {
        return Err(format!(
            "Failed to load DH params file: {}",
            extra(cfg, "tls-dh-params-file")
        ));
    }
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// Whether a CONFIG SET of `name` needs the acceptor rebuilt.
pub fn affects(name: &[u8]) -> bool {
    name.len() > 4 && name[..4].eq_ignore_ascii_case(b"tls-")
}
