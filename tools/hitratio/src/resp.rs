//! A minimal RESP2 writer (commands as arrays of bulk strings) and reader
//! (every RESP2 reply type, plus the RESP3 null `_` for robustness).

use std::io::{self, BufRead};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    /// `None` is the null bulk string (`$-1`), e.g. GET on a missing key.
    Bulk(Option<Vec<u8>>),
    /// `None` is the null array (`*-1`).
    Array(Option<Vec<Reply>>),
    /// RESP3 null (`_`).
    Null,
}

impl Reply {
    /// The reply as text (simple or bulk string), if it is one.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Appends one command (`*N\r\n$len\r\narg\r\n...`) to `out`.
pub fn write_cmd(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads one line without its CRLF into `line`.
fn read_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> io::Result<()> {
    line.clear();
    let n = r.read_until(b'\n', line)?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    if line.len() < 2 || line[line.len() - 2] != b'\r' {
        return Err(bad("reply line not terminated by CRLF"));
    }
    line.truncate(line.len() - 2);
    Ok(())
}

fn parse_int(b: &[u8]) -> io::Result<i64> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad integer {:?}", String::from_utf8_lossy(b))))
}

/// Longest bulk string accepted (Redis's proto-max-bulk-len default).
const MAX_BULK: i64 = 512 * 1024 * 1024;
/// Deepest nesting accepted (the replies this tool reads are flat).
const MAX_DEPTH: usize = 16;

/// Reads one complete reply.
pub fn read_reply<R: BufRead>(r: &mut R) -> io::Result<Reply> {
    let mut line = Vec::new();
    read_at(r, &mut line, 0)
}

fn read_at<R: BufRead>(r: &mut R, line: &mut Vec<u8>, depth: usize) -> io::Result<Reply> {
    if depth > MAX_DEPTH {
        return Err(bad("reply nested too deeply"));
    }
    read_line(r, line)?;
    let Some((&kind, rest)) = line.split_first() else {
        return Err(bad("empty reply line"));
    };
    match kind {
        b'+' => Ok(Reply::Simple(String::from_utf8_lossy(rest).into_owned())),
        b'-' => Ok(Reply::Error(String::from_utf8_lossy(rest).into_owned())),
        b':' => Ok(Reply::Int(parse_int(rest)?)),
        b'_' => Ok(Reply::Null),
        b'$' => {
            let len = parse_int(rest)?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            if len > MAX_BULK {
                return Err(bad("bulk string too long"));
            }
            let mut data = vec![0u8; len as usize + 2];
            r.read_exact(&mut data)?;
            if !data.ends_with(b"\r\n") {
                return Err(bad("bulk string not terminated by CRLF"));
            }
            data.truncate(len as usize);
            Ok(Reply::Bulk(Some(data)))
        }
        b'*' => {
            let n = parse_int(rest)?;
            if n < 0 {
                return Ok(Reply::Array(None));
            }
            // No preallocation from the announced count: elements are
            // pushed as they arrive.
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(read_at(r, line, depth + 1)?);
            }
            Ok(Reply::Array(Some(items)))
        }
        other => Err(bad(format!("unknown reply type byte {:?}", other as char))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> io::Result<Reply> {
        read_reply(&mut &input[..])
    }

    #[test]
    fn writes_commands() {
        let mut out = Vec::new();
        write_cmd(&mut out, &[b"SET", b"k", b""]);
        write_cmd(&mut out, &[b"GET", b"key"]);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
        );
    }

    #[test]
    fn reads_every_type() {
        assert_eq!(parse(b"+OK\r\n").ok(), Some(Reply::Simple("OK".into())));
        assert_eq!(parse(b"-ERR x y\r\n").ok(), Some(Reply::Error("ERR x y".into())));
        assert_eq!(parse(b":-42\r\n").ok(), Some(Reply::Int(-42)));
        assert_eq!(parse(b"$-1\r\n").ok(), Some(Reply::Bulk(None)));
        assert_eq!(parse(b"$0\r\n\r\n").ok(), Some(Reply::Bulk(Some(vec![]))));
        assert_eq!(
            parse(b"$4\r\na\r\nb\r\n").ok(),
            Some(Reply::Bulk(Some(b"a\r\nb".to_vec())))
        );
        assert_eq!(parse(b"*-1\r\n").ok(), Some(Reply::Array(None)));
        assert_eq!(parse(b"_\r\n").ok(), Some(Reply::Null));
        assert_eq!(
            parse(b"*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$-1\r\n").ok(),
            Some(Reply::Array(Some(vec![
                Reply::Int(1),
                Reply::Array(Some(vec![Reply::Bulk(Some(b"x".to_vec()))])),
                Reply::Bulk(None),
            ])))
        );
    }

    #[test]
    fn reads_pipelined_replies_in_order() {
        let mut input: &[u8] = b"$3\r\nabc\r\n$-1\r\n+OK\r\n";
        assert_eq!(read_reply(&mut input).ok(), Some(Reply::Bulk(Some(b"abc".to_vec()))));
        assert_eq!(read_reply(&mut input).ok(), Some(Reply::Bulk(None)));
        assert_eq!(read_reply(&mut input).ok(), Some(Reply::Simple("OK".into())));
        assert_eq!(
            read_reply(&mut input).map_err(|e| e.kind()),
            Err(io::ErrorKind::UnexpectedEof)
        );
    }

    #[test]
    fn rejects_malformed_input() {
        assert!(parse(b"").is_err());
        assert!(parse(b"+OK\n").is_err());
        assert!(parse(b"\r\n").is_err());
        assert!(parse(b"?x\r\n").is_err());
        assert!(parse(b":abc\r\n").is_err());
        assert!(parse(b"$5\r\nab\r\n").is_err()); // truncated
        assert!(parse(b"$2\r\nabcd").is_err()); // wrong terminator
        assert!(parse(b"$99999999999\r\n").is_err());
        assert!(parse(b"*2\r\n:1\r\n").is_err()); // missing element
        let deep = "*1\r\n".repeat(40) + ":1\r\n";
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn text_of_replies() {
        assert_eq!(Reply::Simple("a".into()).text().as_deref(), Some("a"));
        assert_eq!(Reply::Bulk(Some(b"b".to_vec())).text().as_deref(), Some("b"));
        assert_eq!(Reply::Int(1).text(), None);
    }
}
