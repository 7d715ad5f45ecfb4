//! Glob matching identical to Redis's `stringmatchlen` (util.c): `*`, `?`,
//! `[abc]`, `[^a]`, `[a-z]`, and `\` escapes, over binary strings.

/// Whether `string` matches `pattern`.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    matches_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn matches_impl(mut p: &[u8], mut s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: usize) -> bool {
    // Redis caps recursion to protect the stack.
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if matches_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        // Unterminated class: Redis steps back onto the
                        // last character.
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut start, mut end) = (p[0], p[2]);
                        let mut c = s[0];
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = start.to_ascii_lowercase();
                            end = end.to_ascii_lowercase();
                            c = c.to_ascii_lowercase();
                        }
                        p = &p[2..];
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if eq(p[0], s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // Redis: `pattern--; patternLen++;` then the final
                    // advance below consumes it again.
                    p = &[];
                    let m = if not { !matched } else { matched };
                    if !m {
                        return false;
                    }
                    s = &s[1..];
                    break;
                }
                let m = if not { !matched } else { matched };
                if !m {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if !eq(p[0], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[ae]llo", b"hillo", false));
        assert!(glob_match(b"h[^e]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hello", false));
        assert!(glob_match(b"key:*", b"key:1", false));
        assert!(!glob_match(b"key:*", b"kez:1", false));
        assert!(glob_match(b"*a*", b"banana", false));
        assert!(!glob_match(b"a", b"", false));
        assert!(glob_match(b"", b"", false));
        // As in Redis, "*" does not match the empty string; KEYS and SCAN
        // special-case the pattern "*" so an empty key is still listed.
        assert!(!glob_match(b"*", b"", false));
        assert!(glob_match(b"HELLO", b"hello", true));
    }

    /// Every (pattern, key) pair below was checked against Redis 7 with
    /// KEYS: each pattern lists exactly the keys Redis returned.
    #[test]
    fn matches_redis_on_tricky_patterns() {
        let keys: &[&[u8]] = &[
            b"", b"a", b"b", b"z", b"A", b"Z", b"ab", b"abc", b"aXc", b"a*c", b"a?c", b"a[c", b"a]c", b"a\\c", b"a-c",
            b"hello", b"hallo", b"hxllo", b"hllo", b"heeello", b"-", b"]", b"[", b"\\", b"^", b"x^y", b"foo:bar",
            b"foo:baz", b"FOO", b"[abc]", b"^a", b"b^", b"a\x00b", b"\xff", b"key:1", b"key:12",
        ];
        let cases: &[(&[u8], &[&[u8]])] = &[
            (
                b"**",
                &[
                    b"-", b"A", b"FOO", b"Z", b"[", b"[abc]", b"\\", b"]", b"^", b"^a", b"a", b"a\x00b", b"a*c",
                    b"a-c", b"a?c", b"aXc", b"a[c", b"a\\c", b"a]c", b"ab", b"abc", b"b", b"b^", b"foo:bar",
                    b"foo:baz", b"hallo", b"heeello", b"hello", b"hllo", b"hxllo", b"key:1", b"key:12", b"x^y", b"z",
                    b"\xff",
                ],
            ),
            (
                b"?",
                &[b"-", b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"b", b"z", b"\xff"],
            ),
            (
                b"a*",
                &[
                    b"a", b"a\x00b", b"a*c", b"a-c", b"a?c", b"aXc", b"a[c", b"a\\c", b"a]c", b"ab", b"abc",
                ],
            ),
            (
                b"*c",
                &[b"a*c", b"a-c", b"a?c", b"aXc", b"a[c", b"a\\c", b"a]c", b"abc"],
            ),
            (
                b"a?c",
                &[b"a*c", b"a-c", b"a?c", b"aXc", b"a[c", b"a\\c", b"a]c", b"abc"],
            ),
            (b"a\\*c", &[b"a*c"]),
            (b"a\\?c", &[b"a?c"]),
            (b"a[bX]c", &[b"aXc", b"abc"]),
            (b"a[^X]c", &[b"a*c", b"a-c", b"a?c", b"a[c", b"a\\c", b"a]c", b"abc"]),
            (b"a[!X]c", &[b"aXc"]),
            (b"[z-a]", &[b"a", b"b", b"z"]),
            (b"[a-z]", &[b"a", b"b", b"z"]),
            (b"[A-z]", &[b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"b", b"z"]),
            (b"a[b-]", &[b"ab"]),
            (b"[", &[]),
            (b"a[", &[]),
            (b"a[b", &[b"ab"]),
            (b"[abc", &[b"a", b"b"]),
            (b"[\\]]", &[b"]"]),
            (b"[\\", &[b"\\"]),
            (b"\\", &[b"\\"]),
            (b"a\\", &[]),
            (b"a\\c", &[]),
            (b"[]]", &[]),
            (b"[]", &[]),
            (
                b"[^]",
                &[b"-", b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"b", b"z", b"\xff"],
            ),
            (b"[^]]", &[]),
            (b"h[ae]llo", &[b"hallo", b"hello"]),
            (b"h*llo", &[b"hallo", b"heeello", b"hello", b"hllo", b"hxllo"]),
            (b"h?llo", &[b"hallo", b"hello", b"hxllo"]),
            (b"*[", &[]),
            (b"*\\", &[b"\\"]),
            (b"[a-]", &[b"]", b"^", b"a"]),
            (b"[-a]", &[b"-", b"a"]),
            (b"[a-c-e]", &[b"-", b"a", b"b"]),
            (b"[\\-]", &[b"-"]),
            (
                b"[^a-c]*",
                &[
                    b"-", b"A", b"FOO", b"Z", b"[", b"[abc]", b"\\", b"]", b"^", b"^a", b"foo:bar", b"foo:baz",
                    b"hallo", b"heeello", b"hello", b"hllo", b"hxllo", b"key:1", b"key:12", b"x^y", b"z", b"\xff",
                ],
            ),
            (b"*a*b*c*", &[b"[abc]", b"abc"]),
            (
                b"???",
                &[
                    b"FOO", b"a\x00b", b"a*c", b"a-c", b"a?c", b"aXc", b"a[c", b"a\\c", b"a]c", b"abc", b"x^y",
                ],
            ),
            (
                b"*?*",
                &[
                    b"-", b"A", b"FOO", b"Z", b"[", b"[abc]", b"\\", b"]", b"^", b"^a", b"a", b"a\x00b", b"a*c",
                    b"a-c", b"a?c", b"aXc", b"a[c", b"a\\c", b"a]c", b"ab", b"abc", b"b", b"b^", b"foo:bar",
                    b"foo:baz", b"hallo", b"heeello", b"hello", b"hllo", b"hxllo", b"key:1", b"key:12", b"x^y", b"z",
                    b"\xff",
                ],
            ),
            (b"foo:*", &[b"foo:bar", b"foo:baz"]),
            (b"FOO", &[b"FOO"]),
            (b"[F]OO", &[b"FOO"]),
            (
                b"[^",
                &[b"-", b"A", b"Z", b"[", b"\\", b"]", b"^", b"a", b"b", b"z", b"\xff"],
            ),
            (b"\\[abc\\]", &[b"[abc]"]),
            (b"[[]abc]", &[b"[abc]"]),
            (b"x[^]y", &[b"x^y"]),
            (b"x^y", &[b"x^y"]),
            (b"[]-]", &[]),
            (b"*:1", &[b"key:1"]),
            (b"key:1*", &[b"key:1", b"key:12"]),
            (b"a\x00b", &[b"a\x00b"]),
            (b"a?b", &[b"a\x00b"]),
            (b"\xff", &[b"\xff"]),
            (b"[\xfe-\xff]", &[b"\xff"]),
        ];
        for (pattern, matching) in cases {
            for key in keys {
                let want = matching.contains(key);
                assert_eq!(
                    glob_match(pattern, key, false),
                    want,
                    "pattern {:?} key {:?}",
                    String::from_utf8_lossy(pattern),
                    String::from_utf8_lossy(key)
                );
            }
        }
    }

    #[test]
    fn nocase_and_nesting_limit() {
        assert!(glob_match(b"h[A-Z]llo", b"hello", true));
        assert!(!glob_match(b"h[A-Z]llo", b"hello", false));
        // Inside a class an escaped character is compared case-sensitively,
        // even with nocase (as in Redis).
        assert!(!glob_match(b"[\\A]", b"a", true));
        assert!(glob_match(b"[A]", b"a", true));
        // Abusive patterns stop at the nesting limit instead of blowing up.
        let p = vec![b'*'; 1]
            .into_iter()
            .chain(std::iter::repeat_n([b'a', b'*'], 2000).flatten())
            .chain([b'b'])
            .collect::<Vec<u8>>();
        let s = vec![b'a'; 3000];
        assert!(!glob_match(&p, &s, false));
    }
}
