#![allow(clippy::unwrap_used)]
//! TLS (`tls-port`): certificates made here with `openssl`, a real client
//! (`redis-cli --tls`) on the TLS port, client certificates required,
//! optional or off, CONFIG SET of the files at run time, and what rustls
//! cannot do refused. Skipped without `openssl` and `redis-cli`, unless
//! `LARDER_REQUIRE_REDIS=1` (CI), where that is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{free_port, TestServer};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || Command::new(tool)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
}

fn tools() -> bool {
    let ok = have("openssl") && have("redis-cli");
    if !ok && std::env::var("LARDER_REQUIRE_REDIS").is_ok() {
        panic!("openssl and redis-cli are required (LARDER_REQUIRE_REDIS)");
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 / localhost and a client
/// certificate, both signed by the CA.
fn certificates(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("larder-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=Larder Test CA",
        ],
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        openssl(
            &dir,
            &[
                "req",
                "-new",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/CN={who}"),
            ],
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{who}.crt"),
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
            ],
        );
    }
    dir
}

fn p(dir: &Path, f: &str) -> String {
    dir.join(f).display().to_string()
}

/// `redis-cli --tls` on `port` with `extra` options; (success, output).
fn cli(dir: &Path, port: u16, extra: &[&str], cmd: &[&str]) -> (bool, String) {
    let out = Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--tls",
            "--cacert",
            &p(dir, "ca.crt"),
        ])
        .args(extra)
        .args(cmd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && !text.contains("Could not") && !text.contains("failed"),
        text.trim().to_string(),
    )
}

fn start(dir: &Path, tls_port: u16, auth: &str) -> TestServer {
    let (port, cert, key, ca) = (
        tls_port.to_string(),
        p(dir, "server.crt"),
        p(dir, "server.key"),
        p(dir, "ca.crt"),
    );
    TestServer::start(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        auth,
    ])
}

#[test]
fn clients_talk_over_tls_with_certificates_checked() {
    if !tools() {
        return;
    }
    let dir = certificates("auth");
    let tls_port = free_port();
    let s = start(&dir, tls_port, "yes");
    let client_cert = ["--cert", &p(&dir, "client.crt"), "--key", &p(&dir, "client.key")].map(String::from);
    let client_cert: Vec<&str> = client_cert.iter().map(String::as_str).collect();
    // With a client certificate: commands work, and the data is the same
    // as on the plain port.
    assert_eq!(
        cli(&dir, tls_port, &client_cert, &["SET", "k", "over tls"]),
        (true, "OK".into())
    );
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "k"]), "$8\r\nover tls\r\n");
    assert_eq!(
        cli(&dir, tls_port, &client_cert, &["GET", "k"]),
        (true, "over tls".into())
    );
    // Without one, the handshake fails: no command runs.
    let (ok, out) = cli(&dir, tls_port, &[], &["SET", "k", "nope"]);
    assert!(!ok, "a client without a certificate was served: {out}");
    assert_eq!(c.cmd(&["GET", "k"]), "$8\r\nover tls\r\n");
    // Plain RESP on the TLS port gets nothing back.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    plain.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    use std::io::{Read, Write};
    plain.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = plain.read(&mut buf).unwrap_or(0);
    assert!(!buf[..n].windows(4).any(|w| w == b"PONG"), "{:?}", &buf[..n]);

    // Client certificates optional: both kinds of client are served.
    assert_eq!(c.cmd(&["CONFIG", "SET", "tls-auth-clients", "optional"]), "+OK\r\n");
    assert_eq!(cli(&dir, tls_port, &[], &["PING"]), (true, "PONG".into()));
    assert_eq!(cli(&dir, tls_port, &client_cert, &["PING"]), (true, "PONG".into()));

    // A certificate file that does not load leaves the old setup in place.
    let r = c.cmd(&["CONFIG", "SET", "tls-cert-file", "/nonexistent/cert.pem"]);
    assert_eq!(
        r,
        "-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs.\r\n"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "tls-cert-file"]),
        format!(
            "*2\r\n$13\r\ntls-cert-file\r\n${}\r\n{}\r\n",
            p(&dir, "server.crt").len(),
            p(&dir, "server.crt")
        )
    );
    assert_eq!(cli(&dir, tls_port, &[], &["PING"]), (true, "PONG".into()));
    // What rustls cannot do is refused, not ignored.
    for (name, value) in [
        ("tls-ciphers", "DEFAULT:!MEDIUM"),
        ("tls-key-file-pass", "secret"),
        ("tls-protocols", "TLSv1.1"),
    ] {
        let r = c.cmd(&["CONFIG", "SET", name, value]);
        assert!(r.starts_with("-ERR CONFIG SET failed"), "{name}: {r}");
    }
    // Certificates required again: a client without one is refused.
    assert_eq!(c.cmd(&["CONFIG", "SET", "tls-auth-clients", "yes"]), "+OK\r\n");
    assert!(!cli(&dir, tls_port, &[], &["PING"]).0);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_without_client_certificates_and_a_bad_setup_stops_the_start() {
    if !tools() {
        return;
    }
    let dir = certificates("noauth");
    let tls_port = free_port();
    let s = start(&dir, tls_port, "no");
    assert_eq!(cli(&dir, tls_port, &[], &["INCR", "n"]), (true, "1".into()));
    // A TLS 1.2-only server still serves redis-cli.
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "tls-protocols", "TLSv1.2"]), "+OK\r\n");
    assert_eq!(cli(&dir, tls_port, &[], &["INCR", "n"]), (true, "2".into()));
    drop(s);
    // A missing key file: the server does not start.
    let out = Command::new(env!("CARGO_BIN_EXE_larder-server"))
        .args(["--port", &free_port().to_string(), "--bind", "127.0.0.1"])
        .args([
            "--tls-port",
            &free_port().to_string(),
            "--tls-cert-file",
            &p(&dir, "server.crt"),
        ])
        .args(["--tls-key-file", "/nonexistent.key", "--tls-auth-clients", "no"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Failed to load private key"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
