//! Larder's storage engine: the keyspace, value types, expiry and
//! eviction.
//!
//! Invariant: no I/O and no async runtime here. Everything is synchronous,
//! driven by the caller, and reads time from an injected [`Clock`], so the
//! engine can be embedded in-process and tested without sleeping.

pub mod clock;
pub mod db;
pub mod encoding;
pub mod entry;
pub mod evict;
pub mod expire;
pub mod hll;
pub mod keyspace;
pub mod rdb;
pub mod small_bytes;
pub mod snapshot;
pub mod types;
pub mod value;

pub use clock::{Clock, MockClock, OffsetClock, SystemClock};
pub use db::{Db, DbStats, Entry, ScanStep};
pub use encoding::{EncodingLimits, Limits};
pub use evict::{Evicted, EvictionPool, Mode, Policy, Tracking};
pub use keyspace::{key_slot, Keyspace, Shard, CLUSTER_SLOTS};
pub use snapshot::{AccessField, RecordFormat, Snapshot, SnapshotStats};
pub use value::{canonical_i64, Value, ValueType};
