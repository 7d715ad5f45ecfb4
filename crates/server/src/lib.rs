//! The Larder server: networking, connections, configuration and command
//! dispatch over the engine's keyspace.
//!
//! A request's path: `connection.rs` reads bytes and hands them to the
//! protocol crate's parser, `dispatch.rs` finds the command's spec in the
//! table (`commands/mod.rs`), checks arity and access, locks the shards of
//! the keys the spec names, and runs the handler from the command's family
//! file (`commands/string.rs`, ...), which writes its reply straight into
//! the connection's output buffer.

pub mod acl;
pub mod alloc;
pub mod aof;
pub mod appendonly;
pub mod blocking;
pub mod client;
pub mod commands;
pub mod config;
pub mod connection;
pub mod dispatch;
pub mod evict;
pub mod glob;
pub mod latency;
pub mod latency_hist;
pub mod log;
pub mod monitor;
pub mod net;
pub mod notify;
pub mod oom_score;
pub mod persist;
pub mod propagate;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod slowlog;
pub mod stats;
pub mod supervised;
pub mod tls;
pub mod tracking;
pub mod util;

pub use config::Config;
pub use server::Server;
