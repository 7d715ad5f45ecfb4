//! RESP2/RESP3 codec: bytes to request arguments, replies to bytes, and
//! reply bytes back to frames (for clients, tests and scripting).
//!
//! This crate is sans-io and knows no command: it never looks at what an
//! argument means, only at how it is framed.

mod frame;
mod reply;
mod request;

pub use frame::{parse_frame, Frame, FrameError};
pub use reply::{format_double, Reply, Resp};
pub use request::{split_args, Parsed, ProtocolError, RequestLimits, RequestParser};
