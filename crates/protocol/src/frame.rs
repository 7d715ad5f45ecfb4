//! Reply frames parsed back from bytes: what a client, the scripting
//! bridge or a replica sees. The server itself writes replies with
//! [`crate::Reply`] and never builds frames on its hot path.

/// A RESP2/RESP3 value.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` or `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(f64),
    Boolean(bool),
    BigNumber(Vec<u8>),
    Verbatim(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}

/// Nesting deeper than this is refused rather than recursed into.
const MAX_DEPTH: usize = 128;

/// Parses one frame from the start of `buf`: `Ok(None)` if incomplete,
/// otherwise the frame and the bytes it used.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let mut pos = 0;
    match parse_at(buf, &mut pos, 0)? {
        Some(f) => Ok(Some((f, pos))),
        None => Ok(None),
    }
}

fn line(buf: &[u8], pos: &mut usize) -> Option<Vec<u8>> {
    let start = *pos;
    let rel = buf.get(start..)?.windows(2).position(|w| w == b"\r\n")?;
    *pos = start + rel + 2;
    Some(buf[start..start + rel].to_vec())
}

fn int(l: &[u8]) -> Result<i64, FrameError> {
    std::str::from_utf8(l)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| FrameError(format!("bad integer {:?}", String::from_utf8_lossy(l))))
}

fn parse_at(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Frame>, FrameError> {
    if depth > MAX_DEPTH {
        return Err(FrameError("frame nested too deeply".into()));
    }
    let Some(&tag) = buf.get(*pos) else {
        return Ok(None);
    };
    *pos += 1;
    let Some(l) = line(buf, pos) else {
        return Ok(None);
    };
    let frame = match tag {
        b'+' => Frame::Simple(l),
        b'-' => Frame::Error(l),
        b':' => Frame::Integer(int(&l)?),
        b'_' => Frame::Null,
        b'#' => Frame::Boolean(l == b"t"),
        b',' => {
            let s = String::from_utf8_lossy(&l).to_string();
            let d = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => s.parse().map_err(|_| FrameError(format!("bad double {s:?}")))?,
            };
            Frame::Double(d)
        }
        b'(' => Frame::BigNumber(l),
        b'$' | b'=' | b'!' => {
            let n = int(&l)?;
            if n < 0 {
                return Ok(Some(Frame::Null));
            }
            let n = n as usize;
            if buf.len() < *pos + n + 2 {
                return Ok(None);
            }
            let data = buf[*pos..*pos + n].to_vec();
            *pos += n + 2;
            match tag {
                b'$' => Frame::Bulk(data),
                b'=' => Frame::Verbatim(data.get(4..).unwrap_or_default().to_vec()),
                _ => Frame::Error(data),
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int(&l)?;
            if n < 0 {
                return Ok(Some(Frame::Null));
            }
            let n = n as usize;
            if tag == b'%' || tag == b'|' {
                let mut pairs = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let Some(k) = parse_at(buf, pos, depth + 1)? else {
                        return Ok(None);
                    };
                    let Some(v) = parse_at(buf, pos, depth + 1)? else {
                        return Ok(None);
                    };
                    pairs.push((k, v));
                }
                if tag == b'|' {
                    // An attribute precedes the real reply; skip it.
                    return parse_at(buf, pos, depth + 1);
                }
                Frame::Map(pairs)
            } else {
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let Some(f) = parse_at(buf, pos, depth + 1)? else {
                        return Ok(None);
                    };
                    items.push(f);
                }
                match tag {
                    b'*' => Frame::Array(items),
                    b'~' => Frame::Set(items),
                    _ => Frame::Push(items),
                }
            }
        }
        other => return Err(FrameError(format!("unknown frame type {:?}", other as char))),
    };
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reply, Resp};

    #[test]
    fn round_trip_resp3() {
        let mut r = Reply::new(Resp::V3);
        r.array(3);
        r.map(1);
        r.bulk(b"k");
        r.double(2.5);
        r.null();
        r.set(1);
        r.integer(-7);
        let (f, used) = parse_frame(&r.buf).unwrap().unwrap();
        assert_eq!(used, r.buf.len());
        assert_eq!(
            f,
            Frame::Array(vec![
                Frame::Map(vec![(Frame::Bulk(b"k".to_vec()), Frame::Double(2.5))]),
                Frame::Null,
                Frame::Set(vec![Frame::Integer(-7)]),
            ])
        );
    }

    #[test]
    fn incomplete() {
        assert_eq!(parse_frame(b"*2\r\n$1\r\na\r\n").unwrap(), None);
        assert_eq!(parse_frame(b"$5\r\nab").unwrap(), None);
    }
}
