//! ACL (CAT, DELUSER, DRYRUN, GENPASS, GETUSER, HELP, LIST, LOAD, LOG,
//! SAVE, SETUSER, USERS, WHOAMI) and what dispatch, EXEC and scripts call
//! when a command is refused: the -NOPERM text and the ACL log entry.
//! The model is `crate::acl`.

use std::sync::atomic::Ordering;

use super::{acl as cat, flags::*, CommandSpec};
use crate::acl::{Denial, LogEntry, User};
use crate::dispatch::Ctx;
use crate::util::parse_i64;

const ADMIN_ACL: u64 = cat::ADMIN | cat::SLOW | cat::DANGEROUS;
const F: u64 = NOSCRIPT | LOADING | STALE;

static ACL_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("acl|cat", -2, F, cat::SLOW, acl_cat).doc(
        "server",
        "6.0.0",
        "Lists the ACL categories, or the commands inside a category.",
        "O(1) since the categories and commands are a fixed set.",
    ),
    CommandSpec::new("acl|deluser", -3, ADMIN | F, ADMIN_ACL, acl_deluser)
        .doc(
            "server",
            "6.0.0",
            "Deletes ACL users, and terminates their connections.",
            "O(1) amortized time considering the typical user.",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("acl|dryrun", -4, ADMIN | F, ADMIN_ACL, acl_dryrun).doc(
        "server",
        "7.0.0",
        "Simulates the execution of a command by a user, without executing the command.",
        "O(1).",
    ),
    CommandSpec::new("acl|genpass", -2, F, cat::SLOW, acl_genpass).doc(
        "server",
        "6.0.0",
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        "O(1)",
    ),
    CommandSpec::new("acl|getuser", 3, ADMIN | F, ADMIN_ACL, acl_getuser).doc(
        "server",
        "6.0.0",
        "Lists the ACL rules of a user.",
        "O(N). Where N is the number of password, command and pattern rules that the user has.",
    ),
    CommandSpec::new("acl|help", 2, LOADING | STALE, cat::SLOW, acl_help).doc(
        "server",
        "6.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("acl|list", 2, ADMIN | F, ADMIN_ACL, acl_list).doc(
        "server",
        "6.0.0",
        "Dumps the effective rules in ACL file format.",
        "O(N). Where N is the number of configured users.",
    ),
    CommandSpec::new("acl|load", 2, ADMIN | F, ADMIN_ACL, acl_load)
        .doc(
            "server",
            "6.0.0",
            "Reloads the rules from the configured ACL file.",
            "O(N). Where N is the number of configured users.",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("acl|log", -2, ADMIN | F, ADMIN_ACL, acl_log).doc(
        "server",
        "6.0.0",
        "Lists recent security events generated due to ACL rules.",
        "O(N) with N being the number of entries shown.",
    ),
    CommandSpec::new("acl|save", 2, ADMIN | F, ADMIN_ACL, acl_save)
        .doc(
            "server",
            "6.0.0",
            "Saves the effective ACL rules in the configured ACL file.",
            "O(N). Where N is the number of configured users.",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("acl|setuser", -3, ADMIN | F, ADMIN_ACL, acl_setuser)
        .doc(
            "server",
            "6.0.0",
            "Creates and modifies an ACL user and its rules.",
            "O(N). Where N is the number of rules provided.",
        )
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    CommandSpec::new("acl|users", 2, ADMIN | F, ADMIN_ACL, acl_users).doc(
        "server",
        "6.0.0",
        "Lists all ACL users.",
        "O(N). Where N is the number of configured users.",
    ),
    CommandSpec::new("acl|whoami", 2, F, cat::SLOW, acl_whoami).doc(
        "server",
        "6.0.0",
        "Returns the authenticated username of the current connection.",
        "O(1)",
    ),
];

pub static COMMANDS: &[CommandSpec] = &[CommandSpec::container("acl", -2, cat::SLOW, ACL_SUBCOMMANDS).doc(
    "server",
    "6.0.0",
    "A container for Access List Control commands.",
    "Depends on subcommand.",
)];

// ------------------------------------------------------------ denials

/// The connection's CLIENT LIST line, as ACL LOG's `client-info`.
fn client_info(ctx: &Ctx<'_>, args: &[&[u8]]) -> String {
    let mut s = String::new();
    let info = ctx.client.info.clone();
    super::connection::client_line(ctx, &info, args, &mut s);
    let len = s.trim_end().len();
    s.truncate(len);
    s
}

/// Writes a denial to the ACL log. `args` are the refused command's;
/// `client_args` the running top-level command's (EVAL inside a script).
pub(crate) fn log_denial(
    ctx: &Ctx<'_>,
    user: &User,
    denial: Denial,
    context: &'static str,
    spec: &CommandSpec,
    args: &[&[u8]],
    client_args: &[&[u8]],
) {
    let object = match denial {
        Denial::Command => spec.name.as_bytes().to_vec(),
        Denial::Key(p) | Denial::Channel(p) => args.get(p).copied().unwrap_or_default().to_vec(),
    };
    let now = ctx.server.now_ms();
    ctx.server.acl.log(LogEntry {
        count: 1,
        reason: denial.reason(),
        context,
        object,
        username: user.name.clone(),
        ctime_ms: now,
        client_info: client_info(ctx, client_args),
        entry_id: 0,
        created_ms: now,
    });
}

/// A failed AUTH / HELLO AUTH: object is the command as sent.
pub(crate) fn log_auth_failure(ctx: &Ctx<'_>, command: &[u8], username: &[u8]) {
    let now = ctx.server.now_ms();
    let context = if ctx.client.tx.in_multi() { "multi" } else { "toplevel" };
    ctx.server.acl.log(LogEntry {
        count: 1,
        reason: "auth",
        context,
        object: command.to_vec(),
        username: username.to_vec(),
        ctime_ms: now,
        client_info: client_info(ctx, &[command]),
        entry_id: 0,
        created_ms: now,
    });
}

/// Dispatch's check (processCommand): Err(the -NOPERM reply) after
/// logging the denial.
pub(crate) fn check(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]]) -> Result<(), String> {
    let Err(d) = ctx.client.acl_user(&ctx.server.acl).check(spec, args) else {
        return Ok(());
    };
    let user = ctx.client.acl_user(&ctx.server.acl).clone();
    let context = if ctx.client.tx.in_multi() { "multi" } else { "toplevel" };
    log_denial(ctx, &user, d, context, spec, args, args);
    Err(format!("-NOPERM {}", d.message(&user, spec)))
}

/// EXEC's check of a queued command (permissions may have changed since
/// it was queued): Err(the reply element).
pub(crate) fn check_in_exec(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[&[u8]]) -> Result<(), String> {
    let Err(d) = ctx.client.acl_user(&ctx.server.acl).check(spec, args) else {
        return Ok(());
    };
    let user = ctx.client.acl_user(&ctx.server.acl).clone();
    log_denial(ctx, &user, d, "multi", spec, args, &[b"exec"]);
    let reason = match d {
        Denial::Command => "no permission to execute the command or subcommand",
        Denial::Key(_) => "no permission to touch the specified keys",
        Denial::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    Err(format!(
        "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

/// A script's redis.call (scriptVerifyACL): Err(the script error).
pub(crate) fn check_in_script(
    ctx: &mut Ctx<'_>,
    spec: &CommandSpec,
    args: &[&[u8]],
    client_args: &[&[u8]],
) -> Result<(), String> {
    let Err(d) = ctx.client.acl_user(&ctx.server.acl).check(spec, args) else {
        return Ok(());
    };
    let user = ctx.client.acl_user(&ctx.server.acl).clone();
    log_denial(ctx, &user, d, "lua", spec, args, client_args);
    Err(format!("ERR ACL failure in script: {}", d.message(&user, spec)))
}

// ------------------------------------------------------------ commands

fn acl_cat(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(name) = args.get(2) else {
        ctx.out.array(cat::NAMES.len());
        for (_, n) in cat::NAMES {
            ctx.out.bulk_str(n);
        }
        return;
    };
    let cflag = crate::acl::category(name);
    if cflag == 0 {
        let shown = &name[..name.len().min(128)];
        return ctx
            .out
            .error(&format!("Unknown category '{}'", String::from_utf8_lossy(shown)));
    }
    let c = crate::acl::catalog();
    let names: Vec<&str> = (0..c.specs.len())
        .filter(|&id| c.cats[id] & cflag != 0)
        .map(|id| c.specs[id].name)
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk_str(n);
    }
}

fn acl_setuser(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let name = args[2];
    if crate::acl::has_spaces(name) {
        return ctx.out.error("Usernames can't contain spaces or null characters");
    }
    match ctx.server.acl.set_user(name, &args[3..]) {
        Ok(old) => {
            if let (Some(old), Some(new)) = (old, ctx.server.acl.get(name)) {
                if crate::acl::Acl::channels_narrowed(&old, &new) {
                    kill_pubsub_clients(ctx, &new);
                }
            }
            ctx.server.acl_changed();
            ctx.out.ok();
        }
        Err(e) => ctx.out.error_bytes(&e),
    }
}

/// ACLKillPubsubClientsIfNeeded: subscribers as `user` holding a channel
/// or pattern it may no longer use are disconnected.
fn kill_pubsub_clients(ctx: &mut Ctx<'_>, user: &User) {
    let me = ctx.client.id;
    let subs = crate::pubsub::subscriptions_of_user(ctx.server, &user.name);
    for (info, channels, patterns) in subs {
        let keep = channels.iter().all(|c| user.may_keep_channel(c, false))
            && patterns.iter().all(|p| user.may_keep_channel(p, true));
        if !keep {
            if info.id == me {
                ctx.client.close_after_reply = true;
            } else {
                info.kill();
            }
        }
    }
}

fn acl_deluser(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if args[2..].iter().any(|n| *n == b"default") {
        return ctx.out.error("The 'default' user cannot be removed");
    }
    let names = &args[2..];
    let n = ctx.server.acl.delete(names);
    disconnect_users(ctx, names);
    ctx.server.acl_changed();
    ctx.out.integer(n as i64);
}

/// Closes the connections logged in as any of `names` (the caller's own
/// after this reply).
fn disconnect_users(ctx: &mut Ctx<'_>, names: &[&[u8]]) {
    let me = ctx.client.id;
    let clients: Vec<_> = ctx.server.clients.lock().values().cloned().collect();
    for c in clients {
        let user = c.user.lock().clone();
        if names.contains(&user.as_slice()) {
            if c.id == me {
                ctx.client.close_after_reply = true;
            } else {
                c.kill();
            }
        }
    }
}

fn acl_getuser(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(u) = ctx.server.acl.get(args[2]) else {
        return ctx.out.null();
    };
    let sels = u.selector_descriptions();
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk_str("flags");
    let flags = u.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk_str(f);
    }
    out.bulk_str("passwords");
    out.array(u.passwords().len());
    for p in u.passwords() {
        out.bulk_str(p);
    }
    let describe = |out: &mut larder_protocol::Reply, s: &[Vec<u8>; 3]| {
        out.bulk_str("commands");
        out.bulk(&s[0]);
        out.bulk_str("keys");
        out.bulk(&s[1]);
        out.bulk_str("channels");
        out.bulk(&s[2]);
    };
    describe(out, &sels[0]);
    out.bulk_str("selectors");
    out.array(sels.len() - 1);
    for s in &sels[1..] {
        out.map(3);
        describe(out, s);
    }
}

/// `user <name> <rules>` for one user (ACL LIST, CONFIG REWRITE).
fn user_line(u: &crate::acl::User) -> Vec<u8> {
    let mut line = b"user ".to_vec();
    line.extend_from_slice(&u.name);
    line.push(b' ');
    line.extend_from_slice(&u.describe());
    line
}

fn acl_list(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for u in users {
        ctx.out.bulk(&user_line(&u));
    }
}

/// The `user` lines CONFIG REWRITE writes: every user, by name, unless
/// an aclfile keeps them.
pub(crate) fn user_lines(server: &crate::server::Server) -> Vec<String> {
    if aclfile_of(server).is_some() {
        return Vec::new();
    }
    server
        .acl
        .users()
        .iter()
        .map(|u| String::from_utf8_lossy(&user_line(u)).into_owned())
        .collect()
}

fn acl_users(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let users = ctx.server.acl.users();
    ctx.out.array(users.len());
    for u in users {
        ctx.out.bulk(&u.name);
    }
}

fn acl_whoami(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let name = ctx.client.acl_user(&ctx.server.acl).name.clone();
    ctx.out.bulk(&name);
}

const NO_ACLFILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn aclfile(ctx: &Ctx<'_>) -> Option<String> {
    aclfile_of(ctx.server)
}

/// The `aclfile` setting, if set.
fn aclfile_of(server: &crate::server::Server) -> Option<String> {
    let f = server.config.read().extras.get("aclfile").cloned().unwrap_or_default();
    (!f.is_empty()).then_some(f)
}

fn acl_load(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let Some(file) = aclfile(ctx) else {
        return ctx.out.error(NO_ACLFILE);
    };
    match load_file(ctx.server, &file) {
        Ok(old) => {
            // Every connection logged in as a replaced user is closed
            // (the default user is kept in place, as Redis).
            let old: Vec<&[u8]> = old
                .iter()
                .filter(|n| n.as_slice() != b"default")
                .map(|n| n.as_slice())
                .collect();
            disconnect_users(ctx, &old);
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(&e),
    }
}

/// ACLLoadFromFile: replaces every user, or changes nothing. Ok(the
/// names of the users replaced).
pub fn load_file(server: &crate::server::Server, file: &str) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read(file).map_err(|e| {
        let e = e.to_string();
        let e = e.split(" (os error ").next().unwrap_or_default().to_string();
        format!("Error loading ACLs, opening file '{file}': {e}")
    })?;
    let users = server.acl.parse_file(&String::from_utf8_lossy(&text), file)?;
    let old = server.acl.replace_all(users);
    server.acl_changed();
    Ok(old)
}

fn acl_save(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let Some(file) = aclfile(ctx) else {
        return ctx.out.error(NO_ACLFILE);
    };
    let text = ctx.server.acl.file_text();
    let tmp = format!("{file}.tmp-{}-{}", std::process::id(), ctx.now);
    let res = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &file)
    })();
    match res {
        Ok(()) => ctx.out.ok(),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!("Writing ACL file for ACL SAVE: {e}");
            ctx.out
                .error("There was an error trying to save the ACLs. Please check the server logs for more information");
        }
    }
}

fn acl_genpass(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let bits = match args.get(2) {
        None => 256,
        Some(a) => match parse_i64(a) {
            Some(n) => n,
            None => return ctx.out.error(crate::util::ERR_NOT_INT),
        },
    };
    if bits <= 0 || bits > 4096 {
        return ctx.out.error(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        );
    }
    let chars = ((bits + 3) / 4) as usize;
    let s: String = (0..chars)
        .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
        .collect();
    ctx.out.bulk_str(&s);
}

fn acl_log(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut count = 10i64;
    if let Some(a) = args.get(2) {
        if crate::util::is(a, "reset") {
            ctx.server.acl.log_reset();
            return ctx.out.ok();
        }
        match parse_i64(a) {
            Some(n) => count = n.max(0),
            None => return ctx.out.error(crate::util::ERR_NOT_INT),
        }
    }
    let entries = ctx.server.acl.log_entries(count as usize);
    let now = ctx.now;
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.map(10);
        out.bulk_str("count");
        out.integer(e.count as i64);
        out.bulk_str("reason");
        out.bulk_str(e.reason);
        out.bulk_str("context");
        out.bulk_str(e.context);
        out.bulk_str("object");
        out.bulk(&e.object);
        out.bulk_str("username");
        out.bulk(&e.username);
        out.bulk_str("age-seconds");
        out.double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0);
        out.bulk_str("client-info");
        out.bulk_str(&e.client_info);
        out.bulk_str("entry-id");
        out.integer(e.entry_id as i64);
        out.bulk_str("timestamp-created");
        out.integer(e.created_ms as i64);
        out.bulk_str("timestamp-last-updated");
        out.integer(e.ctime_ms as i64);
    }
}

fn acl_dryrun(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let Some(u) = ctx.server.acl.get(args[2]) else {
        return ctx
            .out
            .error(&format!("User '{}' not found", String::from_utf8_lossy(args[2])));
    };
    let cmd_args = &args[3..];
    let cmd = ctx.server.commands.resolve(cmd_args);
    let cmd = match cmd {
        Some(c) if c.spec.subcommands.is_empty() || cmd_args.len() < 2 => c,
        _ => {
            return ctx
                .out
                .error(&format!("Command '{}' not found", String::from_utf8_lossy(args[3])))
        }
    };
    let spec = cmd.spec;
    let argc = cmd_args.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        return ctx
            .out
            .error(&format!("wrong number of arguments for '{}' command", spec.name));
    }
    match u.check(spec, cmd_args) {
        Ok(()) => ctx.out.ok(),
        Err(d) => {
            let msg = d.verbose(&u, spec, cmd_args);
            ctx.out.bulk(&msg);
        }
    }
}

fn acl_help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}

/// Users at start-up (ACLLoadUsersAtStartup): the config file's `user`
/// lines or the aclfile, never both.
pub fn load_at_startup(server: &crate::server::Server) -> Result<(), String> {
    let (lines, file) = {
        let cfg = server.config.read();
        (
            cfg.users.clone(),
            cfg.extras.get("aclfile").cloned().unwrap_or_default(),
        )
    };
    if !file.is_empty() && !lines.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    if !lines.is_empty() {
        let pubsub_all = server.acl.pubsub_all.load(Ordering::Relaxed);
        let mut users = crate::acl::configured_users(&lines, pubsub_all)?;
        // Users not named keep the current default (with requirepass).
        if !users.contains_key(b"default".as_slice()) {
            users.insert(b"default".to_vec(), server.acl.default_user());
        }
        server.acl.replace_all(users);
        server.acl_changed();
    }
    if !file.is_empty() {
        load_file(server, &file).map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
    }
    Ok(())
}
