//! Reply encoding. Commands write their replies straight into a byte
//! buffer (like Redis's addReply* family); the protocol version decides how
//! RESP3-only types (maps, sets, doubles, booleans, nulls, pushes) are
//! downgraded for RESP2 clients.

/// The protocol a connection speaks, chosen with HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Resp {
    #[default]
    V2,
    V3,
}

/// A reply buffer. Appending never fails; the connection flushes it.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    pub resp: Resp,
    /// Number of error replies written since the last `take_errors`,
    /// and the code of the last one (for `errorstats`).
    errors: u32,
    last_error_code: Option<String>,
}

impl Reply {
    pub fn new(resp: Resp) -> Self {
        Reply {
            buf: Vec::with_capacity(256),
            resp,
            errors: 0,
            last_error_code: None,
        }
    }

    pub fn is_resp3(&self) -> bool {
        self.resp == Resp::V3
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string. Newlines are replaced by spaces, as Redis does.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        for &b in s.as_bytes() {
            self.buf.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply, as Redis's addReplyError: a message starting with
    /// `-` carries its own code (`-WRONGTYPE ...`, `-NOAUTH ...`); any other
    /// gets `-ERR ` in front.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// [`Reply::error`] for a message that may hold arbitrary bytes (a
    /// client's argument quoted back, as Redis does, byte for byte).
    pub fn error_bytes(&mut self, msg: &[u8]) {
        let (code, text) = match msg.strip_prefix(b"-") {
            Some(rest) => (rest.split(|&b| b == b' ').next().unwrap_or(b"ERR"), rest),
            None => (&b"ERR"[..], msg),
        };
        self.buf.push(b'-');
        if !msg.starts_with(b"-") {
            self.buf.extend_from_slice(b"ERR ");
        }
        for &b in text {
            self.buf.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
        self.errors += 1;
        self.last_error_code = Some(String::from_utf8_lossy(code).into_owned());
    }

    /// Takes the count of errors written and the last error's code.
    pub fn take_errors(&mut self) -> (u32, Option<String>) {
        let n = std::mem::take(&mut self.errors);
        (n, self.last_error_code.take())
    }

    pub fn integer(&mut self, n: i64) {
        self.line(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    /// An integer written as a bulk string (e.g. GET of an int-encoded value).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// Null bulk string in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// Null array (`*-1`) in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn bulk_or_null(&mut self, data: Option<&[u8]>) {
        match data {
            Some(d) => self.bulk(d),
            None => self.null(),
        }
    }

    pub fn array(&mut self, len: usize) {
        self.line(b'*', len as i64);
    }

    /// A map of `len` pairs; a flat array of `2*len` in RESP2.
    pub fn map(&mut self, len: usize) {
        if self.is_resp3() {
            self.line(b'%', len as i64);
        } else {
            self.line(b'*', 2 * len as i64);
        }
    }

    /// A set; an array in RESP2.
    pub fn set(&mut self, len: usize) {
        if self.is_resp3() {
            self.line(b'~', len as i64);
        } else {
            self.line(b'*', len as i64);
        }
    }

    /// An out-of-band push; an array in RESP2.
    pub fn push(&mut self, len: usize) {
        if self.is_resp3() {
            self.line(b'>', len as i64);
        } else {
            self.line(b'*', len as i64);
        }
    }

    /// A double; a bulk string in RESP2.
    pub fn double(&mut self, d: f64) {
        let s = format_double(d);
        if self.is_resp3() {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean; `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.is_resp3() {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.integer(b as i64);
        }
    }

    /// A big number; a bulk string in RESP2.
    pub fn big_number(&mut self, digits: &str) {
        if self.is_resp3() {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits.as_bytes());
        }
    }

    /// Verbatim text (`=len\r\ntxt:...`); a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &str) {
        if self.is_resp3() {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// Appends bytes already encoded in this reply's protocol.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

/// Formats a double the way Redis 7.2 replies with one: `inf`, `-inf`,
/// `nan`, integral values without a fraction, otherwise the shortest
/// representation that round-trips, in `%.17g` style exponents.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == d.trunc() && d.abs() < 1e17 {
        // Exact integer: print without fraction ("-0" stays "-0").
        if d == 0.0 && d.is_sign_negative() {
            return "-0".into();
        }
        return format!("{}", d as i64);
    }
    let mut b = ryu::Buffer::new();
    let s = b.format_finite(d);
    // ryu writes "1e20" / "1.5e-7"; %g writes "1e+20" / "1.5e-07".
    if let Some(epos) = s.find('e') {
        let (mant, exp) = s.split_at(epos);
        let exp = &exp[1..];
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        let mant = mant.strip_suffix(".0").unwrap_or(mant);
        let exp_val: i32 = digits.parse().unwrap_or(0);
        let exp_signed = if sign == '-' { -exp_val } else { exp_val };
        // %g uses fixed notation for exponents in [-4, 17).
        if (-4..17).contains(&exp_signed) {
            return format!("{}", d);
        }
        return format!("{mant}e{sign}{digits:0>2}");
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_downgrades() {
        let mut r = Reply::new(Resp::V2);
        r.map(1);
        r.bulk(b"a");
        r.double(1.5);
        r.null();
        r.boolean(true);
        assert_eq!(r.buf, b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n$-1\r\n:1\r\n");
        let mut r = Reply::new(Resp::V3);
        r.map(1);
        r.bulk(b"a");
        r.double(1.5);
        r.null();
        r.boolean(true);
        assert_eq!(r.buf, b"%1\r\n$1\r\na\r\n,1.5\r\n_\r\n#t\r\n");
    }

    #[test]
    fn error_codes() {
        let mut r = Reply::new(Resp::V2);
        r.error("-WRONGTYPE Operation against a key holding the wrong kind of value");
        r.error("syntax error");
        assert_eq!(
            r.buf,
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n-ERR syntax error\r\n"
        );
        assert_eq!(r.take_errors(), (2, Some("ERR".to_string())));
    }

    #[test]
    fn doubles() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-7), "1.5e-07");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(-2.5), "-2.5");
    }
}
