#!/usr/bin/env python3
"""Generates crates/server/src/commands/docs_data.rs: the parts of COMMAND
DOCS that are documentation only (arguments, history, doc_flags,
deprecated_since, replaced_by), read from a running Redis 7.0 with
Redis 7.2's changes applied (OVERRIDES below). Summaries, groups, `since`
and complexities stay in each command's CommandSpec.

    redis-server --port 7411 --save "" --daemonize yes
    target/release/larder-server --port 7500 --save "" &
    python3 tools/command-docs/gen.py --port 7411 --larder-port 7500

Arguments keep Redis's field order and flag order exactly: the reply is
parsed as RESP2 (where maps are flat arrays) rather than through a
client that turns sets into unordered sets.
"""
import argparse
import socket

OUT = "crates/server/src/commands/docs_data.rs"


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(1 << 16)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(1 << 16)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return ("status", rest.decode())
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"unexpected {line!r}")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()


def pairs(flat):
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def arg(flat):
    """One argument: an ordered list of (field, value)."""
    out = []
    for k, v in pairs(flat):
        if k == "arguments":
            out.append((k, ("args", [arg(a) for a in v])))
        elif k == "flags":
            out.append((k, ("flags", [f[1] for f in v])))
        else:
            out.append((k, v))
    return out


def doc_only(flat):
    """A command's documentation-only fields (subcommands are separate)."""
    d = {"doc_flags": [], "deprecated_since": "", "replaced_by": "", "history": [], "arguments": []}
    for k, v in pairs(flat):
        if k == "doc_flags":
            d[k] = [f[1] for f in v]
        elif k in ("deprecated_since", "replaced_by"):
            d[k] = v
        elif k == "history":
            d[k] = [(h[0], h[1]) for h in v]
        elif k == "arguments":
            d[k] = [arg(a) for a in v]
    return d


def collect(flat_docs):
    out = {}
    for name, body in pairs(flat_docs):
        out[name] = doc_only(body)
        for k, v in pairs(body):
            if k == "subcommands":
                for sname, sbody in pairs(v):
                    out[sname] = doc_only(sbody)
    return out


def pure_token(name, token, **kw):
    a = [("name", name), ("type", "pure-token"), ("token", token)]
    if "since" in kw:
        a.append(("since", kw["since"]))
    if kw.get("optional"):
        a.append(("flags", ("flags", ["optional"])))
    return a


def simple(name, type_, **kw):
    a = [("name", name), ("type", type_)]
    if "key_spec_index" in kw:
        a.append(("key_spec_index", kw["key_spec_index"]))
    if "token" in kw:
        a.append(("token", kw["token"]))
    flags = [f for f in ("optional", "multiple") if kw.get(f)]
    if flags:
        a.append(("flags", ("flags", flags)))
    return a


def oneof(name, args, **kw):
    a = [("name", name), ("type", "oneof")]
    if kw.get("optional"):
        a.append(("flags", ("flags", ["optional"])))
    a.append(("arguments", ("args", args)))
    return a


def apply_72(docs):
    """Redis 7.2's documentation changes for commands Larder follows 7.2 in."""
    for name in ("zrank", "zrevrank"):
        d = docs[name]
        d["arguments"].append(pure_token("withscore", "WITHSCORE", optional=True))
        d["history"].append(("7.2.0", "Added the optional `WITHSCORE` argument."))
    for name in ("command|getkeys", "command|getkeysandflags"):
        for a in docs[name]["arguments"]:
            if dict(a)["name"] == "arg":
                flags = [x for x in a if x[0] == "flags"]
                if flags:
                    fl = flags[0][1][1]
                    if "optional" not in fl:
                        fl.insert(0, "optional")
    empty = {"doc_flags": [], "deprecated_since": "", "replaced_by": "", "history": []}
    docs["client|no-touch"] = dict(empty, arguments=[
        oneof("enabled", [pure_token("on", "ON"), pure_token("off", "OFF")])])
    docs["client|setinfo"] = dict(empty, arguments=[
        oneof("attr", [simple("libname", "string", token="LIB-NAME"),
                       simple("libver", "string", token="LIB-VER")])])
    docs["waitaof"] = dict(empty, arguments=[
        simple("numlocal", "integer"), simple("numreplicas", "integer"), simple("timeout", "integer")])
    # Larder's own commands.
    docs["cl.throttle"] = dict(empty, arguments=[
        simple("key", "key", key_spec_index=0), simple("max_burst", "integer"),
        simple("count_per_period", "integer"), simple("period", "integer"),
        simple("quantity", "integer", optional=True)])
    docs["lease.get"] = dict(empty, arguments=[
        simple("key", "key", key_spec_index=0), simple("lease-ms", "integer")])
    docs["lease.set"] = dict(empty, arguments=[
        simple("key", "key", key_spec_index=0), simple("token", "string"), simple("value", "string"),
        simple("rest", "string", optional=True, multiple=True)])


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rust_arg(a, indent):
    fields = []
    for k, v in a:
        if isinstance(v, tuple) and v[0] == "args":
            inner = ", ".join(rust_arg(x, indent) for x in v[1])
            fields.append(f"({rust_str(k)}, V::A(&[{inner}]))")
        elif isinstance(v, tuple) and v[0] == "flags":
            fields.append(f"({rust_str(k)}, V::F(&[{', '.join(rust_str(f) for f in v[1])}]))")
        elif isinstance(v, int):
            fields.append(f"({rust_str(k)}, V::I({v}))")
        else:
            fields.append(f"({rust_str(k)}, V::S({rust_str(v)}))")
    return "&[" + ", ".join(fields) + "]"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=7411)
    p.add_argument("--larder-port", type=int, help="keep only the commands this Larder has")
    p.add_argument("--out", default=OUT)
    o = p.parse_args()
    c = Conn(o.port)
    docs = collect(c.cmd("COMMAND", "DOCS"))
    apply_72(docs)
    if o.larder_port:
        have = set(Conn(o.larder_port).cmd("COMMAND", "LIST"))
        docs = {k: v for k, v in docs.items() if k in have}
    lines = [
        "//! Generated by tools/command-docs/gen.py from Redis 7.0's COMMAND DOCS",
        "//! with Redis 7.2's changes (and Larder's own commands); do not edit.",
        "//! The documentation-only parts: arguments, history, doc flags.",
        "",
        "use super::docs::{Doc, V};",
        "",
        "#[rustfmt::skip]",
        "pub static DOCS: &[(&str, Doc)] = &[",
    ]
    for name in sorted(docs):
        d = docs[name]
        hist = ", ".join(f"({rust_str(v)}, {rust_str(t)})" for v, t in d["history"])
        args = ", ".join(rust_arg(a, 2) for a in d["arguments"])
        lines.append(
            f"    ({rust_str(name)}, Doc {{ doc_flags: &[{', '.join(rust_str(f) for f in d['doc_flags'])}], "
            f"deprecated_since: {rust_str(d['deprecated_since'])}, replaced_by: {rust_str(d['replaced_by'])}, "
            f"history: &[{hist}], arguments: &[{args}] }}),")
    lines.append("];")
    with open(o.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {o.out}: {len(docs)} commands")


if __name__ == "__main__":
    main()
