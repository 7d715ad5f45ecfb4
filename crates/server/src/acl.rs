//! Users and what they may do: Redis 7's ACLs (a port of acl.c's model).
//!
//! A [`User`] has flags (on/off, nopass, sanitize-payload), SHA-256
//! password hashes and selectors: the root selector plus any `(...)`
//! ones. A [`Selector`] holds a command bitmap indexed by the ids of the
//! command table (subcommands included, see [`Catalog`]), first-argument
//! exceptions, key patterns with read/write flags and channel patterns,
//! plus the normalized log of command rules Redis 7.2 shows back
//! (`command_rules`: `+@all`/`-@all` restart it, a rule for a command
//! replaces earlier ones for that command and its subcommands).
//!
//! [`Acl`] is the registry: users by name (sorted, as Redis's rax), the
//! ACL log, and a generation counter bumped on every change. A connection
//! caches its `Arc<User>` with the generation it was read at, so the check
//! on every command is an atomic load and, for a user allowed everything
//! (`User::unrestricted`, the default user), one flag.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};

use crate::commands::{acl as cat, CommandSpec};
use crate::glob::glob_match;

pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
pub const ALL: u8 = READ | WRITE;

// ------------------------------------------------------------ commands

/// Every command and subcommand of the table with an id (its bit in the
/// selectors' bitmaps), as Redis's ACLGetCommandID numbers them.
pub struct Catalog {
    ids: HashMap<&'static str, usize>,
    pub specs: Vec<&'static CommandSpec>,
    pub cats: Vec<u64>,
    pub subs: Vec<Vec<usize>>,
    pub parent: Vec<Option<usize>>,
    /// Top-level commands' ids.
    pub top: Vec<usize>,
    /// Per id, what each key spec needs of a key pattern (computed once
    /// from the spec's flag names, which the check must not compare per
    /// command).
    access: Vec<Vec<KeyAccess>>,
}

/// A key spec's access for the ACL check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyAccess {
    /// NOT_KEY: not checked.
    Skip,
    /// READ and/or WRITE; `variable` (VARIABLE_FLAGS) lets the arguments
    /// decide.
    Need { need: u8, variable: bool },
}

impl KeyAccess {
    fn of(ks: &crate::commands::KeySpec) -> KeyAccess {
        let has = |name: &str| ks.flags.iter().any(|f| f.eq_ignore_ascii_case(name));
        if has("NOT_KEY") {
            return KeyAccess::Skip;
        }
        let mut need = 0;
        if has("ACCESS") {
            need |= READ;
        }
        if has("INSERT") || has("DELETE") || has("UPDATE") {
            need |= WRITE;
        }
        KeyAccess::Need {
            need,
            variable: has("VARIABLE_FLAGS"),
        }
    }
}

impl Catalog {
    fn build() -> Catalog {
        let mut c = Catalog {
            ids: HashMap::new(),
            specs: Vec::new(),
            cats: Vec::new(),
            subs: Vec::new(),
            parent: Vec::new(),
            top: Vec::new(),
            access: Vec::new(),
        };
        for spec in crate::commands::all_specs() {
            let id = c.add(spec, None);
            c.top.push(id);
            for sub in spec.subcommands {
                let sid = c.add(sub, Some(id));
                c.subs[id].push(sid);
            }
        }
        c
    }

    fn add(&mut self, spec: &'static CommandSpec, parent: Option<usize>) -> usize {
        let id = self.specs.len();
        self.ids.insert(spec.name, id);
        self.specs.push(spec);
        self.cats.push(crate::commands::command::categories(spec));
        self.subs.push(Vec::new());
        self.parent.push(parent);
        self.access.push(spec.key_specs.iter().map(KeyAccess::of).collect());
        id
    }

    pub fn id(&self, full_name: &str) -> Option<usize> {
        self.ids.get(full_name).copied()
    }

    /// Redis's ACLLookupCommand: `name` or `container|sub`, any case.
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let s = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        if s.split('|').count() > 2 {
            return None;
        }
        self.id(&s)
    }

    fn words(&self) -> usize {
        self.specs.len().div_ceil(64)
    }
}

pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(Catalog::build)
}

/// Category flag by name (any case), 0 if unknown.
pub fn category(name: &[u8]) -> u64 {
    cat::NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
        .map_or(0, |(b, _)| *b)
}

// ------------------------------------------------------------ errors

/// Why a rule was refused (Redis's errno values in ACLSetUser).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    /// EINVAL
    Syntax,
    /// ENOENT
    Unknown,
    /// EEXIST
    KeyAfterAll,
    /// EISDIR
    ChannelAfterAll,
    /// ENODEV
    NoSuchPassword,
    /// EBADMSG
    BadHash,
    /// ECHILD
    SubcommandFirstArg,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Redis's ACLStringHasSpaces: whitespace or NUL.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c == 0 || matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

// ------------------------------------------------------------ selectors

#[derive(Clone, Debug)]
pub struct Selector {
    root: bool,
    allcommands: bool,
    allkeys: bool,
    allchannels: bool,
    /// The reserved bit set by `+@all`: the rules start from `+@all`.
    future: bool,
    bits: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands (`+select|0`).
    firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    patterns: Vec<(u8, Vec<u8>)>,
    channels: Vec<Vec<u8>>,
    /// The normalized command rules (Redis 7.2's `command_rules`).
    rules: Vec<u8>,
}

impl Selector {
    fn new(root: bool, allchannels: bool) -> Selector {
        Selector {
            root,
            allcommands: false,
            allkeys: false,
            allchannels,
            future: false,
            bits: vec![0; catalog().words()],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
            rules: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.bits[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, value: bool) {
        if value {
            self.bits[id / 64] |= 1 << (id % 64);
        } else {
            self.bits[id / 64] &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    /// ACLChangeSelectorPerm: a command and all its subcommands.
    fn change_perm(&mut self, id: usize, allow: bool) {
        let c = catalog();
        self.set_bit(id, allow);
        self.firstargs.retain(|(i, _)| *i != id);
        for &sub in &c.subs[id] {
            self.set_bit(sub, allow);
        }
    }

    fn set_category(&mut self, cflag: u64, allow: bool) {
        let c = catalog();
        for &id in &c.top {
            if c.cats[id] & cflag != 0 {
                self.change_perm(id, allow);
            }
            for &sub in &c.subs[id] {
                if c.cats[sub] & cflag != 0 {
                    self.change_perm(sub, allow);
                }
            }
        }
    }

    /// ACLUpdateCommandRules: drops earlier rules for the same command
    /// (and its subcommands), then appends this one.
    fn update_rules(&mut self, rule: &[u8], allow: bool) {
        let rule = rule.to_ascii_lowercase();
        let mut kept: Vec<&[u8]> = Vec::new();
        for existing in self.rules.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
            let name = &existing[1..];
            let same = name == rule.as_slice()
                || (name.len() > rule.len() && name.starts_with(&rule) && name[rule.len()] == b'|');
            if !same {
                kept.push(existing);
            }
        }
        let mut out = kept.join(&b' ');
        if !out.is_empty() {
            out.push(b' ');
        }
        out.push(if allow { b'+' } else { b'-' });
        out.extend_from_slice(&rule);
        self.rules = out;
    }

    /// ACLSetSelector: one key, channel or command rule.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        let c = catalog();
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.bits.iter_mut().for_each(|w| *w = u64::MAX);
            self.future = true;
            self.allcommands = true;
            self.rules.clear();
            self.firstargs.clear();
        } else if is("nocommands") || is("-@all") {
            self.bits.iter_mut().for_each(|w| *w = 0);
            self.future = false;
            self.allcommands = false;
            self.rules.clear();
            self.firstargs.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::KeyAfterAll);
            }
            let mut flags = 0u8;
            let mut offset = 1;
            if op[0] == b'%' {
                // As Redis: running out of characters leaves an empty
                // pattern ("%R"); a bare "%" has no permission at all.
                if op.len() == 1 {
                    return Err(RuleError::Syntax);
                }
                while let Some(&ch) = op.get(offset) {
                    offset += 1;
                    match ch.to_ascii_uppercase() {
                        b'R' if flags & READ == 0 => flags |= READ,
                        b'W' if flags & WRITE == 0 => flags |= WRITE,
                        b'~' if flags != 0 => break,
                        _ => return Err(RuleError::Syntax),
                    }
                }
            } else {
                flags = ALL;
            }
            let pat = &op[offset..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|(_, p)| p == pat) {
                Some((f, _)) => *f |= flags,
                None => self.patterns.push((flags, pat.to_vec())),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|p| p == pat) {
                self.channels.push(pat.to_vec());
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&b| b == b'|') {
                None => {
                    let id = c.lookup(name).ok_or(RuleError::Unknown)?;
                    self.change_perm(id, true);
                    self.update_rules(c.specs[id].name.as_bytes(), true);
                }
                Some(bar) => {
                    let (base, sub) = (&name[..bar], &name[bar + 1..]);
                    let id = c.lookup(base).ok_or(RuleError::Unknown)?;
                    if c.parent[id].is_some() {
                        return Err(RuleError::SubcommandFirstArg);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !c.subs[id].is_empty() {
                        let sid = c.lookup(name).ok_or(RuleError::Unknown)?;
                        self.change_perm(sid, true);
                    } else {
                        tracing::warn!(
                            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                            String::from_utf8_lossy(name)
                        );
                        match self.firstargs.iter_mut().find(|(i, _)| *i == id) {
                            Some((_, list)) => {
                                if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                                    list.push(sub.to_vec());
                                }
                            }
                            None => self.firstargs.push((id, vec![sub.to_vec()])),
                        }
                    }
                    self.update_rules(name, true);
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = c.lookup(&op[1..]).ok_or(RuleError::Unknown)?;
            self.change_perm(id, false);
            self.update_rules(c.specs[id].name.as_bytes(), false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let allow = op[0] == b'+';
            let cflag = category(&op[2..]);
            if cflag == 0 {
                return Err(RuleError::Unknown);
            }
            self.update_rules(&op[1..], allow);
            self.set_category(cflag, allow);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// ACLDescribeSelectorCommandRules.
    fn describe_commands(&self) -> Vec<u8> {
        let mut out = if self.future {
            b"+@all".to_vec()
        } else {
            b"-@all".to_vec()
        };
        if !self.rules.is_empty() {
            out.push(b' ');
            out.extend_from_slice(&self.rules);
        }
        out
    }

    fn pattern_string(flags: u8, pat: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(match flags {
            ALL => b"~".as_slice(),
            READ => b"%R~",
            _ => b"%W~",
        });
        out.extend_from_slice(pat);
    }

    fn describe_keys(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, (f, p)) in self.patterns.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            Self::pattern_string(*f, p, &mut out);
        }
        out
    }

    fn describe_channels(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, p) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(p);
        }
        out
    }

    /// ACLDescribeSelector: keys, channels, then command rules.
    fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else {
            for (f, p) in &self.patterns {
                Self::pattern_string(*f, p, &mut out);
                out.push(b' ');
            }
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for p in &self.channels {
                out.push(b'&');
                out.extend_from_slice(p);
                out.push(b' ');
            }
        }
        out.extend_from_slice(&self.describe_commands());
        out
    }

    fn check_key(&self, key: &[u8], need: u8) -> bool {
        self.allkeys
            || self
                .patterns
                .iter()
                .any(|(f, p)| f & need == need && glob_match(p, key, false))
    }

    fn check_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.allchannels
            || self.channels.iter().any(|p| {
                if is_pattern {
                    p == channel
                } else {
                    glob_match(p, channel, false)
                }
            })
    }

    /// ACLSelectorCheckCmd.
    fn check(&self, id: usize, spec: &CommandSpec, args: &[&[u8]]) -> Result<(), Denial> {
        use crate::commands::flags::NO_AUTH;
        let c = catalog();
        if !self.allcommands && !spec.has(NO_AUTH) && !self.bit(id) {
            let idx = if c.parent[id].is_some() { 2 } else { 1 };
            let allowed = self
                .firstargs
                .iter()
                .find(|(i, _)| *i == id)
                .zip(args.get(idx))
                .is_some_and(|((_, list), arg)| list.iter().any(|a| a.eq_ignore_ascii_case(arg)));
            if !allowed {
                return Err(Denial::Command);
            }
        }
        if !self.allkeys && !spec.key_specs.is_empty() {
            for (ks, access) in spec.key_specs.iter().zip(&c.access[id]) {
                let KeyAccess::Need { mut need, variable } = *access else {
                    continue;
                };
                if variable {
                    need = variable_key_access(spec, args).unwrap_or(need);
                }
                let denied = POSITIONS.with(|pos| {
                    let mut pos = pos.borrow_mut();
                    pos.clear();
                    ks.positions(args, &mut pos);
                    pos.iter().copied().find(|&p| !self.check_key(args[p], need))
                });
                if let Some(p) = denied {
                    return Err(Denial::Key(p));
                }
            }
        }
        if !self.allchannels {
            if let Some((first, is_pattern)) = channel_args(spec) {
                for (p, ch) in args.iter().enumerate().skip(first) {
                    if !self.check_channel(ch, is_pattern) {
                        return Err(Denial::Channel(p));
                    }
                    if spec.name == "publish" || spec.name == "spublish" {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

thread_local! {
    /// The key positions of the spec being checked (kept: no allocation
    /// per command).
    static POSITIONS: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The access of a key spec flagged VARIABLE_FLAGS, which depends on
/// the arguments (Redis then asks the command's getkeys function): SET
/// reads its key only with GET (setGetKeys).
fn variable_key_access(spec: &CommandSpec, args: &[&[u8]]) -> Option<u8> {
    match spec.name {
        "set" => Some(if args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) {
            READ | WRITE
        } else {
            WRITE
        }),
        _ => None,
    }
}

/// The channels a command publishes or subscribes to (Redis's
/// getChannelsFromCommand): the first argument position and whether they
/// are patterns. Unsubscribing is never checked.
fn channel_args(spec: &CommandSpec) -> Option<(usize, bool)> {
    match spec.name {
        "publish" | "spublish" | "subscribe" | "ssubscribe" => Some((1, false)),
        "psubscribe" => Some((1, true)),
        _ => None,
    }
}

/// Why a command was refused, with the argument at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denial {
    fn rank(self) -> (u8, usize) {
        match self {
            Denial::Command => (1, 0),
            Denial::Key(p) => (2, p),
            Denial::Channel(p) => (4, p),
        }
    }

    /// ACL LOG's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::Command => "command",
            Denial::Key(_) => "key",
            Denial::Channel(_) => "channel",
        }
    }

    /// getAclErrorMessage, not verbose (the -NOPERM text).
    pub fn message(self, user: &User, spec: &CommandSpec) -> String {
        match self {
            Denial::Command => format!(
                "User {} has no permissions to run the '{}' command",
                String::from_utf8_lossy(&user.name),
                spec.name
            ),
            Denial::Key(_) => "No permissions to access a key".to_string(),
            Denial::Channel(_) => "No permissions to access a channel".to_string(),
        }
    }

    /// getAclErrorMessage, verbose (ACL DRYRUN).
    pub fn verbose(self, user: &User, spec: &CommandSpec, args: &[&[u8]]) -> Vec<u8> {
        let name = &user.name;
        let mut out = b"User ".to_vec();
        out.extend_from_slice(name);
        match self {
            Denial::Command => {
                out.extend_from_slice(format!(" has no permissions to run the '{}' command", spec.name).as_bytes())
            }
            Denial::Key(p) | Denial::Channel(p) => {
                out.extend_from_slice(b" has no permissions to access the '");
                out.extend_from_slice(args.get(p).copied().unwrap_or_default());
                out.extend_from_slice(if matches!(self, Denial::Key(_)) {
                    b"' key".as_slice()
                } else {
                    b"' channel"
                });
            }
        }
        out
    }
}

// ------------------------------------------------------------ users

#[derive(Clone, Debug)]
pub struct User {
    pub name: Vec<u8>,
    enabled: bool,
    nopass: bool,
    skip_sanitize: bool,
    passwords: Vec<String>,
    selectors: Vec<Selector>,
    /// The root selector allows every command, key and channel: nothing
    /// to check (the default user).
    pub unrestricted: bool,
}

impl User {
    /// A new user: off, no passwords, no permissions (ACLCreateUser).
    pub fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            skip_sanitize: false,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, pubsub_all)],
            unrestricted: false,
        }
    }

    /// "user default on nopass ~* &* +@all".
    pub fn default_user() -> User {
        let mut u = User::new(b"default", false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), false);
        }
        u
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn nopass(&self) -> bool {
        self.nopass
    }

    fn refresh(&mut self) {
        let r = &self.selectors[0];
        self.unrestricted = r.allcommands && r.allkeys && r.allchannels;
    }

    /// ACLSetUser: one rule.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let r = self.apply_inner(op, pubsub_all);
        self.refresh();
        r
    }

    fn apply_inner(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = true;
        } else if is("sanitize-payload") {
            self.skip_sanitize = false;
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            let pos = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(pos);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(false, pubsub_all);
            let inner = &op[1..op.len() - 1];
            // sdssplitargs; unbalanced quotes leave no operations.
            for a in larder_protocol::split_args(inner).unwrap_or_default() {
                if !a.is_empty() {
                    s.apply(&a)?;
                }
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                self.apply_inner(r.as_bytes(), pubsub_all)?;
            }
            if pubsub_all {
                self.apply_inner(b"allchannels", pubsub_all)?;
            }
            for r in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                self.apply_inner(r.as_bytes(), pubsub_all)?;
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// ACLDescribeUser: what ACL LIST shows after `user <name> `.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.flag_names() {
            out.extend_from_slice(f.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for s in &self.selectors {
            if s.root {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// The flags in Redis's order: on, off, nopass, skip-sanitize-payload,
    /// sanitize-payload.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        v.push(if self.skip_sanitize {
            "skip-sanitize-payload"
        } else {
            "sanitize-payload"
        });
        v
    }

    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// (commands, keys, channels) of each selector, the root first.
    pub fn selector_descriptions(&self) -> Vec<[Vec<u8>; 3]> {
        self.selectors
            .iter()
            .map(|s| [s.describe_commands(), s.describe_keys(), s.describe_channels()])
            .collect()
    }

    /// ACLCheckUserCredentials (the user is known).
    pub fn check_password(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hashed = hash_password(pass);
        // Compare every stored hash in full: no early exit on a match.
        self.passwords
            .iter()
            .fold(false, |ok, p| ok | constant_time_eq(p.as_bytes(), hashed.as_bytes()))
    }

    /// ACLCheckAllUserCommandPerm: Ok, or the most relevant denial of
    /// all selectors (a channel over a key over the command; the later
    /// argument on a tie).
    pub fn check(&self, spec: &CommandSpec, args: &[&[u8]]) -> Result<(), Denial> {
        if self.unrestricted {
            return Ok(());
        }
        let Some(id) = catalog().id(spec.name) else {
            return Ok(());
        };
        let mut worst = Denial::Command;
        for s in &self.selectors {
            match s.check(id, spec, args) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.rank() > worst.rank() {
                        worst = d;
                    }
                }
            }
        }
        Err(worst)
    }

    /// Whether a selector that allows `command` with these arguments may
    /// read every key (`allkeys`, or a `~*` / `%R~*` pattern): Redis's
    /// ACLUserCheckCmdWithUnrestrictedKeyAccess(..., CMD_KEY_ACCESS),
    /// which SORT asks before following BY/GET patterns.
    pub fn full_read_access(&self, command: &str, args: &[&[u8]]) -> bool {
        if self.unrestricted {
            return true;
        }
        let c = catalog();
        let Some(id) = c.id(command) else {
            return false;
        };
        let spec = c.specs[id];
        self.selectors.iter().any(|s| {
            s.check(id, spec, args).is_ok()
                && (s.allkeys || s.patterns.iter().any(|(f, p)| f & READ == READ && p.as_slice() == b"*"))
        })
    }

    /// Whether any selector may use every channel, or the channels
    /// `other` could (ACLKillPubsubClientsIfNeeded's shortcut).
    fn channels_cover(&self, other: &User) -> bool {
        if self.selectors.iter().any(|s| s.allchannels) {
            return true;
        }
        let upcoming: Vec<&Vec<u8>> = self.selectors.iter().flat_map(|s| s.channels.iter()).collect();
        other
            .selectors
            .iter()
            .all(|s| !s.allchannels && s.channels.iter().all(|c| upcoming.contains(&c)))
    }

    /// Whether a subscriber as this user may keep `channel` (a pattern
    /// when `is_pattern`).
    pub fn may_keep_channel(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors.iter().any(|s| s.check_channel(channel, is_pattern))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn check_hash(h: &[u8]) -> Result<String, RuleError> {
    if h.len() != 64 || !h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(h).into_owned())
}

/// SHA-256 of the password, lower-case hex (ACLHashPassword).
pub fn hash_password(p: &[u8]) -> String {
    let digest = sha256::digest(p);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((b & 15) as u32, 16).unwrap_or('0'));
    }
    s
}

/// ACLMergeSelectorArguments: joins `(` ... `)` spread over several
/// arguments. Err(index of the opening argument) when unmatched.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = &mut open {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((_, sel)) = open.take() {
                    out.push(sel);
                }
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

// ------------------------------------------------------------ the registry

/// One ACL LOG entry.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub count: u64,
    pub reason: &'static str,
    pub context: &'static str,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: u64,
    pub client_info: String,
    pub entry_id: u64,
    pub created_ms: u64,
}

#[derive(Debug, Default)]
struct Log {
    entries: std::collections::VecDeque<LogEntry>,
    next_id: u64,
}

/// Denials counted for INFO stats (acl_access_denied_*).
#[derive(Debug, Default)]
pub struct Denials {
    pub auth: AtomicU64,
    pub cmd: AtomicU64,
    pub key: AtomicU64,
    pub channel: AtomicU64,
}

#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Vec<u8>, Arc<User>>>,
    generation: AtomicU64,
    log: Mutex<Log>,
    /// acl-pubsub-default is allchannels.
    pub pubsub_all: AtomicBool,
    pub log_max: AtomicUsize,
    /// The requirepass last applied to the default user.
    applied_requirepass: Mutex<Option<Option<String>>>,
    pub denials: Denials,
}

impl Default for Acl {
    fn default() -> Self {
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), Arc::new(User::default_user()));
        Acl {
            users: RwLock::new(users),
            generation: AtomicU64::new(1),
            log: Mutex::default(),
            pubsub_all: AtomicBool::new(false),
            log_max: AtomicUsize::new(128),
            applied_requirepass: Mutex::new(None),
            denials: Denials::default(),
        }
    }
}

impl Acl {
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    pub fn default_user(&self) -> Arc<User> {
        self.get(b"default").unwrap_or_else(|| Arc::new(User::default_user()))
    }

    pub fn users(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    pub fn pubsub_all(&self) -> bool {
        self.pubsub_all.load(Ordering::Relaxed)
    }

    /// ACLStringSetUser: applies `ops` to a copy of the user (or a new
    /// one), all or nothing. Returns the previous version on success.
    pub fn set_user(&self, name: &[u8], ops: &[&[u8]]) -> Result<Option<Arc<User>>, Vec<u8>> {
        let merged = merge_selector_args(ops).map_err(|j| {
            let mut e = b"Unmatched parenthesis in acl selector starting at '".to_vec();
            e.extend_from_slice(ops[j]);
            e.extend_from_slice(b"'.");
            e
        })?;
        let pubsub_all = self.pubsub_all();
        let mut users = self.users.write();
        let old = users.get(name).cloned();
        let mut u = match &old {
            Some(u) => (**u).clone(),
            None => User::new(name, pubsub_all),
        };
        for op in &merged {
            if let Err(e) = u.apply(op, pubsub_all) {
                let mut m = b"Error in ACL SETUSER modifier '".to_vec();
                m.extend_from_slice(op);
                m.extend_from_slice(b"': ");
                m.extend_from_slice(e.message().as_bytes());
                return Err(m);
            }
        }
        users.insert(name.to_vec(), Arc::new(u));
        drop(users);
        self.bump();
        Ok(old)
    }

    /// Whether subscribers as `old` must be checked after it became `new`.
    pub fn channels_narrowed(old: &User, new: &User) -> bool {
        !new.channels_cover(old)
    }

    /// Removes users (never `default`); how many existed.
    pub fn delete(&self, names: &[&[u8]]) -> usize {
        let mut users = self.users.write();
        let n = names.iter().filter(|n| users.remove(**n).is_some()).count();
        drop(users);
        self.bump();
        n
    }

    /// ACLCheckUserCredentials: the user, if `name`/`pass` log in.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> Option<Arc<User>> {
        let u = self.get(name)?;
        u.check_password(pass).then_some(u)
    }

    /// requirepass: the default user's password (ACLUpdateDefaultUserPassword),
    /// only when it changed since last applied.
    pub fn apply_requirepass(&self, pass: Option<&str>) {
        let mut applied = self.applied_requirepass.lock();
        let want = pass.map(str::to_string);
        if applied.as_ref() == Some(&want) {
            return;
        }
        *applied = Some(want);
        let mut users = self.users.write();
        let mut u = users
            .get(b"default".as_slice())
            .map_or_else(User::default_user, |u| (**u).clone());
        let _ = u.apply(b"resetpass", false);
        match pass {
            Some(p) => {
                let mut op = b">".to_vec();
                op.extend_from_slice(p.as_bytes());
                let _ = u.apply(&op, false);
            }
            None => {
                let _ = u.apply(b"nopass", false);
            }
        }
        users.insert(b"default".to_vec(), Arc::new(u));
        drop(users);
        self.bump();
    }

    /// Replaces every user (ACL LOAD, start-up). The default user is
    /// created if missing. Returns the names of the users replaced.
    pub fn replace_all(&self, mut new: BTreeMap<Vec<u8>, Arc<User>>) -> Vec<Vec<u8>> {
        new.entry(b"default".to_vec())
            .or_insert_with(|| Arc::new(User::default_user()));
        let mut users = self.users.write();
        let old: Vec<Vec<u8>> = users.keys().cloned().collect();
        *users = new;
        drop(users);
        self.bump();
        old
    }

    /// Parses an ACL file's text (ACLLoadFromFile): users, or the
    /// errors found (nothing is applied on error).
    pub fn parse_file(&self, text: &str, filename: &str) -> Result<BTreeMap<Vec<u8>, Arc<User>>, String> {
        let pubsub_all = self.pubsub_all();
        let mut users: BTreeMap<Vec<u8>, Arc<User>> = BTreeMap::new();
        let mut errors = String::new();
        for (i, raw) in text.split('\n').enumerate() {
            let linenum = i + 1;
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line.is_empty() {
                continue;
            }
            let argv: Vec<&str> = line.split(' ').collect();
            if argv[0] != "user" || argv.len() < 2 {
                errors.push_str(&format!(
                    "{filename}:{linenum} should start with user keyword followed by the username. "
                ));
                continue;
            }
            if has_spaces(argv[1].as_bytes()) {
                errors.push_str(&format!(
                    "'{filename}:{linenum}: username '{}' contains invalid characters. ",
                    argv[1]
                ));
                continue;
            }
            if users.contains_key(argv[1].as_bytes()) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{}' found on line {linenum}. ",
                    argv[1]
                ));
                continue;
            }
            let ops: Vec<&[u8]> = argv[2..].iter().map(|s| s.as_bytes()).collect();
            let mut u = User::new(argv[1].as_bytes(), pubsub_all);
            let merged = match merge_selector_args(&ops) {
                Ok(m) => m,
                Err(_) => {
                    errors.push_str(&format!(
                        "{filename}:{linenum}: Unmatched parenthesis in selector definition."
                    ));
                    Vec::new()
                }
            };
            let mut syntax_error = false;
            for op in &merged {
                let op = String::from_utf8_lossy(op);
                let op = op.trim_matches(|c| matches!(c, '\t' | '\r' | '\n'));
                if let Err(e) = u.apply(op.as_bytes(), pubsub_all) {
                    if e == RuleError::Unknown {
                        errors.push_str(&format!(
                            "{filename}:{linenum}: Error in applying operation '{op}': {}. ",
                            e.message()
                        ));
                    } else if !syntax_error {
                        errors.push_str(&format!("{filename}:{linenum}: {}. ", e.message()));
                        syntax_error = true;
                    }
                }
            }
            users.insert(argv[1].as_bytes().to_vec(), Arc::new(u));
        }
        if errors.is_empty() {
            Ok(users)
        } else {
            errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
            Err(errors)
        }
    }

    /// The text ACL SAVE writes: one `user` line per user, sorted.
    pub fn file_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for u in self.users() {
            out.extend_from_slice(b"user ");
            out.extend_from_slice(&u.name);
            out.push(b' ');
            out.extend_from_slice(&u.describe());
            out.push(b'\n');
        }
        out
    }

    /// addACLLogEntry: merges with a similar entry among the newest ten
    /// (same reason, context, object and user, within 60 s).
    pub fn log(&self, mut e: LogEntry) {
        match e.reason {
            "auth" => &self.denials.auth,
            "command" => &self.denials.cmd,
            "key" => &self.denials.key,
            _ => &self.denials.channel,
        }
        .fetch_add(1, Ordering::Relaxed);
        let max = self.log_max.load(Ordering::Relaxed);
        let mut log = self.log.lock();
        let found = log.entries.iter().take(10).position(|c| {
            c.reason == e.reason
                && c.context == e.context
                && c.ctime_ms.abs_diff(e.ctime_ms) <= 60000
                && c.object == e.object
                && c.username == e.username
        });
        if let Some(i) = found {
            if let Some(mut m) = log.entries.remove(i) {
                m.client_info = e.client_info;
                m.ctime_ms = e.ctime_ms;
                m.count += 1;
                log.entries.push_front(m);
            }
            return;
        }
        e.entry_id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(e);
        while log.entries.len() > max {
            log.entries.pop_back();
        }
    }

    pub fn log_entries(&self, count: usize) -> Vec<LogEntry> {
        self.log.lock().entries.iter().take(count).cloned().collect()
    }

    pub fn log_reset(&self) {
        self.log.lock().entries.clear();
    }

    /// acllog-max-len lowered: trims at once.
    pub fn set_log_max(&self, max: usize) {
        self.log_max.store(max, Ordering::Relaxed);
        let mut log = self.log.lock();
        while log.entries.len() > max {
            log.entries.pop_back();
        }
    }
}

/// Validates a config file's `user` line (ACLAppendUserForLoading):
/// Err((index into `words`, error)) for anything but unknown commands.
pub fn validate_config_user(words: &[String]) -> Result<(), (usize, &'static str)> {
    if words.len() < 2 {
        return Err((0, RuleError::Syntax.message()));
    }
    let ops: Vec<&[u8]> = words[2..].iter().map(|s| s.as_bytes()).collect();
    let merged = merge_selector_args(&ops).map_err(|j| (j, "Wrong format"))?;
    let mut u = User::new(words[1].as_bytes(), false);
    for (j, op) in merged.iter().enumerate() {
        if let Err(e) = u.apply(op, false) {
            if e != RuleError::Unknown {
                return Err((j, e.message()));
            }
        }
    }
    Ok(())
}

/// Builds the users of the config file's `user` lines (ACLLoadConfiguredUsers).
pub fn configured_users(lines: &[Vec<String>], pubsub_all: bool) -> Result<BTreeMap<Vec<u8>, Arc<User>>, String> {
    let mut users: BTreeMap<Vec<u8>, Arc<User>> = BTreeMap::new();
    for words in lines {
        let name = words[1].as_bytes();
        if has_spaces(name) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let mut u = User::new(name, pubsub_all);
        let ops: Vec<&[u8]> = words[2..].iter().map(|s| s.as_bytes()).collect();
        let merged = merge_selector_args(&ops).map_err(|_| "Unmatched parenthesis".to_string())?;
        for op in &merged {
            if let Err(e) = u.apply(op, pubsub_all) {
                return Err(format!(
                    "Error loading ACL rule '{}' for the user named '{}': {}",
                    String::from_utf8_lossy(op),
                    words[1],
                    e.message()
                ));
            }
        }
        users.insert(name.to_vec(), Arc::new(u));
    }
    Ok(users)
}

/// SHA-256 (FIPS 180-4), enough for password hashes.
mod sha256 {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ];
        let mut msg = data.to_vec();
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
        for block in msg.chunks_exact(64) {
            let mut w = [0u32; 64];
            for (i, c) in block.chunks_exact(4).enumerate() {
                w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                hh = g;
                g = f;
                f = e;
                e = d.wrapping_add(t1);
                d = c;
                c = b;
                b = a;
                a = t1.wrapping_add(t2);
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *x = x.wrapping_add(y);
            }
        }
        let mut out = [0u8; 32];
        for (i, v) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(ops: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for op in ops {
            u.apply(op.as_bytes(), false).unwrap();
        }
        u
    }

    fn spec(name: &str) -> &'static CommandSpec {
        let c = catalog();
        c.specs[c.id(name).unwrap()]
    }

    #[test]
    fn sha256_known_answers() {
        assert_eq!(
            hash_password(b"pw"),
            "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4"
        );
        assert_eq!(
            hash_password(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let long = vec![b'a'; 200];
        assert_eq!(hash_password(&long).len(), 64);
    }

    #[test]
    fn command_rules_are_normalized() {
        let u = user(&["+get", "-@all", "+set", "+@string", "-get", "+config|get"]);
        assert_eq!(u.selector_descriptions()[0][0], b"-@all +set +@string -get +config|get");
        let u = user(&["+@all", "-config", "+config|get", "-config"]);
        assert_eq!(u.selector_descriptions()[0][0], b"+@all -config");
        let u = user(&["+client", "-client|kill", "+CLIENT"]);
        assert_eq!(u.selector_descriptions()[0][0], b"-@all +client");
        let u = user(&["+select|0", "+select|1"]);
        assert_eq!(u.selector_descriptions()[0][0], b"-@all +select|0 +select|1");
    }

    #[test]
    fn rule_errors() {
        let mut u = User::new(b"u", false);
        assert_eq!(u.apply(b"+nosuch", false), Err(RuleError::Unknown));
        assert_eq!(u.apply(b"-@nosuch", false), Err(RuleError::Unknown));
        assert_eq!(u.apply(b"foo", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%X~a", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"%R", false), Ok(()));
        assert_eq!(u.apply(b"+config|get|x", false), Err(RuleError::SubcommandFirstArg));
        assert_eq!(u.apply(b"+select|", false), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"-select|0", false), Err(RuleError::Unknown));
        assert_eq!(u.apply(b"<nope", false), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"#abc", false), Err(RuleError::BadHash));
        u.apply(b"~*", false).unwrap();
        assert_eq!(u.apply(b"~a", false), Err(RuleError::KeyAfterAll));
        u.apply(b"&*", false).unwrap();
        assert_eq!(u.apply(b"&a", false), Err(RuleError::ChannelAfterAll));
    }

    #[test]
    fn describe_user() {
        let u = user(&[
            "on",
            ">pw",
            "~foo*",
            "%R~bar",
            "%W~baz",
            "%RW~qux",
            "&ch*",
            "+get",
            "(~x +set)",
        ]);
        assert_eq!(
            String::from_utf8(u.describe()).unwrap(),
            "on sanitize-payload #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 \
             ~foo* %R~bar %W~baz ~qux resetchannels &ch* -@all +get (~x resetchannels -@all +set)"
        );
        assert_eq!(
            String::from_utf8(User::default_user().describe()).unwrap(),
            "on nopass sanitize-payload ~* &* +@all"
        );
        assert!(User::default_user().unrestricted);
    }

    #[test]
    fn checks_commands_keys_and_channels() {
        let u = user(&[
            "+get",
            "+set",
            "+config|get",
            "+select|0",
            "%R~r*",
            "%W~w*",
            "~rw*",
            "&news.*",
            "+publish",
            "+psubscribe",
        ]);
        let a = |v: &[&'static str]| v.iter().map(|s| s.as_bytes()).collect::<Vec<&[u8]>>();
        assert_eq!(u.check(spec("get"), &a(&["get", "r1"])), Ok(()));
        assert_eq!(u.check(spec("get"), &a(&["get", "w1"])), Err(Denial::Key(1)));
        assert_eq!(u.check(spec("set"), &a(&["set", "w1", "v"])), Ok(()));
        assert_eq!(u.check(spec("set"), &a(&["set", "r1", "v"])), Err(Denial::Key(1)));
        assert_eq!(u.check(spec("set"), &a(&["set", "rw1", "v"])), Ok(()));
        // SET ... GET also reads its key (VARIABLE_FLAGS).
        assert_eq!(
            u.check(spec("set"), &a(&["set", "w1", "v", "get"])),
            Err(Denial::Key(1))
        );
        assert_eq!(u.check(spec("set"), &a(&["set", "rw1", "v", "GET"])), Ok(()));
        assert_eq!(u.check(spec("del"), &a(&["del", "rw1"])), Err(Denial::Command));
        assert_eq!(u.check(spec("config|get"), &a(&["config", "get", "x"])), Ok(()));
        assert_eq!(
            u.check(spec("config|set"), &a(&["config", "set", "x", "y"])),
            Err(Denial::Command)
        );
        assert_eq!(u.check(spec("select"), &a(&["select", "0"])), Ok(()));
        assert_eq!(u.check(spec("select"), &a(&["select", "1"])), Err(Denial::Command));
        assert_eq!(u.check(spec("publish"), &a(&["publish", "news.x", "m"])), Ok(()));
        assert_eq!(
            u.check(spec("publish"), &a(&["publish", "other", "m"])),
            Err(Denial::Channel(1))
        );
        assert_eq!(u.check(spec("psubscribe"), &a(&["psubscribe", "news.*"])), Ok(()));
        assert_eq!(
            u.check(spec("psubscribe"), &a(&["psubscribe", "news.a*"])),
            Err(Denial::Channel(1))
        );
        // AUTH is allowed to everyone.
        assert_eq!(u.check(spec("auth"), &a(&["auth", "x"])), Ok(()));
    }

    #[test]
    fn full_read_access_for_sort_patterns() {
        let a = |v: &[&'static str]| v.iter().map(|s| s.as_bytes()).collect::<Vec<&[u8]>>();
        let args = a(&["sort", "l", "by", "w_*"]);
        assert!(!user(&["~l*", "+@all"]).full_read_access("sort", &args));
        assert!(user(&["~*", "+@all"]).full_read_access("sort", &args));
        assert!(user(&["%R~*", "+@all"]).full_read_access("sort", &args));
        assert!(!user(&["%W~*", "+@all"]).full_read_access("sort", &args));
        assert!(user(&["allkeys", "+@all"]).full_read_access("sort", &args));
        // A selector counts only if it allows the command.
        let u = user(&["~l*", "+@all", "(~* +sort)"]);
        assert!(u.full_read_access("sort", &args));
        assert!(!u.full_read_access("sort_ro", &a(&["sort_ro", "l", "by", "w_*"])));
    }

    #[test]
    fn selectors_and_merging() {
        let args: Vec<&[u8]> = vec![b"on", b"(~a", b"+get)", b"(+set)"];
        let m = merge_selector_args(&args).unwrap();
        assert_eq!(m, vec![b"on".to_vec(), b"(~a +get)".to_vec(), b"(+set)".to_vec()]);
        let args: Vec<&[u8]> = vec![b"on", b"(~a", b"+get"];
        assert_eq!(merge_selector_args(&args), Err(1));
        let u = user(&["~a", "+get", "(~b +set)"]);
        let a = |v: &[&'static str]| v.iter().map(|s| s.as_bytes()).collect::<Vec<&[u8]>>();
        assert_eq!(u.check(spec("set"), &a(&["set", "b", "1"])), Ok(()));
        assert_eq!(u.check(spec("set"), &a(&["set", "a", "1"])), Err(Denial::Key(1)));
        assert_eq!(u.check(spec("get"), &a(&["get", "b"])), Err(Denial::Key(1)));
    }

    #[test]
    fn passwords() {
        let mut u = user(&["on", ">a", ">b", "<a"]);
        assert!(u.check_password(b"b"));
        assert!(!u.check_password(b"a"));
        u.apply(b"off", false).unwrap();
        assert!(!u.check_password(b"b"));
        let u = user(&["on", "nopass"]);
        assert!(u.check_password(b"anything"));
    }
}
