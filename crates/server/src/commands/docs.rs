//! COMMAND DOCS' documentation-only parts (arguments, history, doc
//! flags, deprecation), generated into `docs_data.rs` by
//! `tools/command-docs/gen.py` from Redis's own reply, kept apart from
//! the command table: nothing but COMMAND DOCS reads them.

use larder_protocol::Reply;

/// A value in an argument's description.
#[derive(Debug)]
pub enum V {
    /// A bulk string.
    S(&'static str),
    /// An integer (key_spec_index).
    I(i64),
    /// Flags, replied as a set of status strings.
    F(&'static [&'static str]),
    /// Nested arguments (oneof, block).
    A(&'static [Arg]),
}

/// One argument: its fields in Redis's order.
pub type Arg = &'static [(&'static str, V)];

#[derive(Debug)]
pub struct Doc {
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
    pub history: &'static [(&'static str, &'static str)],
    pub arguments: &'static [Arg],
}

impl Doc {
    /// How many map entries `reply` writes.
    pub fn fields(&self) -> usize {
        usize::from(!self.doc_flags.is_empty())
            + usize::from(!self.deprecated_since.is_empty())
            + usize::from(!self.replaced_by.is_empty())
            + usize::from(!self.history.is_empty())
            + usize::from(!self.arguments.is_empty())
    }

    /// The fields, as Redis's addReplyCommandDocs writes them after the
    /// complexity.
    pub fn reply(&self, out: &mut Reply) {
        if !self.doc_flags.is_empty() {
            out.bulk_str("doc_flags");
            out.set(self.doc_flags.len());
            for f in self.doc_flags {
                out.simple(f);
            }
        }
        if !self.deprecated_since.is_empty() {
            out.bulk_str("deprecated_since");
            out.bulk_str(self.deprecated_since);
        }
        if !self.replaced_by.is_empty() {
            out.bulk_str("replaced_by");
            out.bulk_str(self.replaced_by);
        }
        if !self.history.is_empty() {
            out.bulk_str("history");
            out.array(self.history.len());
            for (version, what) in self.history {
                out.array(2);
                out.bulk_str(version);
                out.bulk_str(what);
            }
        }
        if !self.arguments.is_empty() {
            out.bulk_str("arguments");
            reply_args(out, self.arguments);
        }
    }
}

fn reply_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for arg in args {
        out.map(arg.len());
        for (k, v) in arg.iter() {
            out.bulk_str(k);
            match v {
                V::S(s) => out.bulk_str(s),
                V::I(n) => out.integer(*n),
                V::F(flags) => {
                    out.set(flags.len());
                    for f in *flags {
                        out.simple(f);
                    }
                }
                V::A(nested) => reply_args(out, nested),
            }
        }
    }
}

/// The documentation of command `name` (`container|sub` for
/// subcommands), if Redis documents one.
pub fn lookup(name: &str) -> Option<&'static Doc> {
    let docs = super::docs_data::DOCS;
    docs.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|i| &docs[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_found() {
        let docs = super::super::docs_data::DOCS;
        assert!(docs.windows(2).all(|w| w[0].0 < w[1].0));
        let set = lookup("set").unwrap();
        assert!(set.arguments.len() >= 3);
        assert!(lookup("getset").unwrap().doc_flags.contains(&"deprecated"));
        assert!(lookup("config|get").is_some());
        assert!(lookup("nosuch").is_none());
    }
}
