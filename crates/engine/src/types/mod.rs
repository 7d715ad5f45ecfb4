//! Collection value types: one module per type, each with its compact
//! and large encodings and the conversions between them.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;
