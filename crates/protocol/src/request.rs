//! Request parsing: multibulk (`*N\r\n$len\r\n...`) and inline commands.
//!
//! The parser is incremental: it remembers how far it got through a
//! partially received multibulk request so a huge pipeline or a trickled
//! bulk is never rescanned. It allocates nothing sized by a declared length:
//! argument positions grow with the arguments actually received.

use std::ops::Range;

/// Redis's PROTO_INLINE_MAX_SIZE: longest line without a newline.
const INLINE_MAX: usize = 64 * 1024;
/// Bulk and multibulk lengths an unauthenticated client may declare.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16 * 1024;

/// Limits applied while parsing, taken from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`
    pub max_bulk_len: i64,
    /// Whether the client has authenticated (unauthenticated clients get
    /// Redis's much smaller limits).
    pub authenticated: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_bulk_len: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

/// A framing error. The message is what follows `-ERR ` in the reply;
/// the connection is closed after it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn perr(msg: &str) -> ProtocolError {
    ProtocolError(format!("Protocol error: {msg}"))
}

/// One complete request found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A multibulk request; its arguments are the ranges the parser filled
    /// in (relative to the start of the buffer). `consumed` bytes belong
    /// to it.
    Multibulk { consumed: usize },
    /// An inline request, unquoted into owned arguments.
    Inline { consumed: usize, args: Vec<Vec<u8>> },
    /// Bytes that carry no command (an empty line, `*0`, `*-1`).
    Empty { consumed: usize },
}

#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments of the current multibulk still to read; 0 when idle.
    remaining: usize,
    /// Where the next unread part of the current request starts.
    pos: usize,
    /// Declared length of the bulk being read, once its header is seen.
    bulk_len: Option<usize>,
    in_multibulk: bool,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the parser is part-way through a request.
    pub fn in_progress(&self) -> bool {
        self.in_multibulk
    }

    /// Parses one request from the start of `buf`. On `Ok(None)` more bytes
    /// are needed; call again with the same buffer extended. `args` receives
    /// the argument ranges of a multibulk request; it must not be touched by
    /// the caller between calls of an unfinished request.
    pub fn parse(
        &mut self,
        buf: &[u8],
        args: &mut Vec<Range<usize>>,
        limits: RequestLimits,
    ) -> Result<Option<Parsed>, ProtocolError> {
        if !self.in_multibulk {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            let Some(nl) = find_crlf(buf, 1) else {
                if buf.len() > INLINE_MAX {
                    return Err(perr("too big mbulk count string"));
                }
                return Ok(None);
            };
            let count = parse_i64(&buf[1..nl]);
            let count = match count {
                Some(c) if c <= i32::MAX as i64 => c,
                _ => return Err(perr("invalid multibulk length")),
            };
            if count > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
                return Err(perr("unauthenticated multibulk length"));
            }
            if count <= 0 {
                return Ok(Some(Parsed::Empty { consumed: nl + 2 }));
            }
            args.clear();
            self.remaining = count as usize;
            self.pos = nl + 2;
            self.bulk_len = None;
            self.in_multibulk = true;
        }
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let start = self.pos;
                    if start >= buf.len() {
                        return Ok(None);
                    }
                    let Some(nl) = find_crlf(buf, start) else {
                        if buf.len() - start > INLINE_MAX {
                            self.reset();
                            return Err(perr("too big bulk count string"));
                        }
                        return Ok(None);
                    };
                    if buf[start] != b'$' {
                        let got = buf[start] as char;
                        self.reset();
                        return Err(ProtocolError(format!("Protocol error: expected '$', got '{got}'")));
                    }
                    let len = match parse_i64(&buf[start + 1..nl]) {
                        Some(l) if l >= 0 && l <= limits.max_bulk_len => l,
                        _ => {
                            self.reset();
                            return Err(perr("invalid bulk length"));
                        }
                    };
                    if len > UNAUTH_MAX_BULK && !limits.authenticated {
                        self.reset();
                        return Err(perr("unauthenticated bulk length"));
                    }
                    self.pos = nl + 2;
                    let len = len as usize;
                    self.bulk_len = Some(len);
                    len
                }
            };
            let start = self.pos;
            if buf.len() < start + len + 2 {
                return Ok(None);
            }
            // Redis does not check the trailing CRLF; neither do we.
            args.push(start..start + len);
            self.pos = start + len + 2;
            self.bulk_len = None;
            self.remaining -= 1;
        }
        let consumed = self.pos;
        self.reset();
        Ok(Some(Parsed::Multibulk { consumed }))
    }

    /// How many bytes the request being parsed still needs at least, when
    /// that is known (inside a bulk). Lets the reader size its next read
    /// by what has been announced *and* is arriving, never by the claim
    /// alone.
    pub fn pending_bulk(&self, buffered: usize) -> Option<usize> {
        let len = self.bulk_len?;
        Some((self.pos + len + 2).saturating_sub(buffered))
    }

    fn reset(&mut self) {
        self.remaining = 0;
        self.pos = 0;
        self.bulk_len = None;
        self.in_multibulk = false;
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = buf.get(i..).and_then(|s| s.iter().position(|&b| b == b'\r')) {
        let p = i + off;
        if p + 1 >= buf.len() {
            return None;
        }
        if buf[p + 1] == b'\n' {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// Redis's string2ll: optional '-', digits, no leading '+', no spaces.
fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let n = (d - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg { v.checked_sub(n)? } else { v.checked_add(n)? };
    }
    Some(v)
}

fn parse_inline(buf: &[u8]) -> Result<Option<Parsed>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(perr("too big inline request"));
        }
        return Ok(None);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let consumed = nl + 1;
    let args = split_args(line).ok_or_else(|| perr("unbalanced quotes in request"))?;
    if args.is_empty() {
        return Ok(Some(Parsed::Empty { consumed }));
    }
    Ok(Some(Parsed::Inline { consumed, args }))
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Redis's `sdssplitargs`: splits a line into arguments honouring
/// double quotes (with `\n`, `\xHH`... escapes) and single quotes.
/// Returns `None` on unbalanced quotes or a closing quote not followed by
/// a space. Used for inline commands and configuration files.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    let hi = hex_val(line[i + 2]).unwrap_or(0);
                    let lo = hex_val(line[i + 3]).unwrap_or(0);
                    cur.push(hi * 16 + lo);
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    let c = match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    };
                    cur.push(c);
                } else if line[i] == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = RequestParser::new();
        let mut args = Vec::new();
        let mut off = 0;
        let mut out = Vec::new();
        while let Some(parsed) = p.parse(&input[off..], &mut args, RequestLimits::default())? {
            match parsed {
                Parsed::Multibulk { consumed } => {
                    out.push(args.iter().map(|r| input[off..][r.clone()].to_vec()).collect());
                    off += consumed;
                }
                Parsed::Inline { consumed, args } => {
                    out.push(args);
                    off += consumed;
                }
                Parsed::Empty { consumed } => off += consumed,
            }
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let got = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset \"a b\" 'c'\r\n").unwrap();
        assert_eq!(
            got,
            vec![
                vec![b"GET".to_vec(), b"k".to_vec()],
                vec![b"PING".to_vec()],
                vec![b"set".to_vec(), b"a b".to_vec(), b"c".to_vec()],
            ]
        );
    }

    #[test]
    fn incremental_byte_by_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$10\r\n0123456789\r\n";
        let mut p = RequestParser::new();
        let mut args = Vec::new();
        for end in 0..input.len() {
            let r = p.parse(&input[..end], &mut args, RequestLimits::default()).unwrap();
            assert!(r.is_none(), "complete too early at {end}");
        }
        let r = p.parse(input, &mut args, RequestLimits::default()).unwrap();
        assert_eq!(r, Some(Parsed::Multibulk { consumed: input.len() }));
        assert_eq!(&input[args[2].clone()], b"0123456789");
    }

    #[test]
    fn errors() {
        let e = |s: &[u8]| parse_all(s).unwrap_err().0;
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(e(b"*3000000000\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(e(b"*1\r\n+a\r\n"), "Protocol error: expected '$', got '+'");
        assert_eq!(e(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"*1\r\n$600000000\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"set \"a\r\n"), "Protocol error: unbalanced quotes in request");
    }

    #[test]
    fn huge_declared_lengths_allocate_nothing() {
        let mut p = RequestParser::new();
        let mut args = Vec::new();
        let r = p.parse(b"*2147483647\r\n$1\r\na\r\n", &mut args, RequestLimits::default());
        assert_eq!(r, Ok(None));
        assert!(args.capacity() < 64);
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = RequestLimits {
            authenticated: false,
            ..Default::default()
        };
        let mut p = RequestParser::new();
        let mut args = Vec::new();
        let r = p.parse(b"*11\r\n", &mut args, limits);
        assert_eq!(r.unwrap_err().0, "Protocol error: unauthenticated multibulk length");
        let mut p = RequestParser::new();
        let r = p.parse(b"*1\r\n$16385\r\n", &mut args, limits);
        assert_eq!(r.unwrap_err().0, "Protocol error: unauthenticated bulk length");
    }

    #[test]
    fn split_args_escapes() {
        assert_eq!(
            split_args(b"a \"\\x41\\n\" 'it\\'s'").unwrap(),
            vec![b"a".to_vec(), b"A\n".to_vec(), b"it's".to_vec()]
        );
        assert!(split_args(b"\"a\"b").is_none());
        assert!(split_args(b"'abc").is_none());
    }
}
