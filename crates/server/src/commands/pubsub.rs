//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB, as Redis 7.2's
//! `pubsub.c`. The registry and delivery are in `crate::pubsub`.

use super::{acl, flags::*, CommandSpec, KeySpec};
use larder_protocol::Reply;

use crate::client::{Client, ReplyMode};
use crate::dispatch::Ctx;
use crate::pubsub::{self, Kind};
use crate::server::Server;

const PS: u64 = acl::PUBSUB | acl::SLOW;
const SUB_FLAGS: u64 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INFO_FLAGS: u64 = PUBSUB | LOADING | STALE;
/// Shard channels are routed like keys but are not keys.
const SHARD_CHANNELS: &[KeySpec] = &[KeySpec::range(1, -1, 1, &["not_key"])];
const SHARD_CHANNEL: &[KeySpec] = &[KeySpec::single(1, &["not_key"])];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("pubsub|channels", -2, INFO_FLAGS, PS, pubsub_channels).doc(
        "pubsub",
        "2.8.0",
        "Returns the active channels.",
        "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
    ),
    CommandSpec::new("pubsub|help", 2, LOADING | STALE, acl::SLOW, pubsub_help).doc(
        "pubsub",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("pubsub|numpat", 2, INFO_FLAGS, PS, pubsub_numpat).doc(
        "pubsub",
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        "O(1)",
    ),
    CommandSpec::new("pubsub|numsub", -2, INFO_FLAGS, PS, pubsub_numsub).doc(
        "pubsub",
        "2.8.0",
        "Returns a count of subscribers to channels.",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
    ),
    CommandSpec::new("pubsub|shardchannels", -2, INFO_FLAGS, PS, pubsub_shardchannels).doc(
        "pubsub",
        "7.0.0",
        "Returns the active shard channels.",
        "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
    ),
    CommandSpec::new("pubsub|shardnumsub", -2, INFO_FLAGS, PS, pubsub_shardnumsub).doc(
        "pubsub",
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
    ),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("subscribe", -2, SUB_FLAGS, PS, subscribe).doc(
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels.",
        "O(N) where N is the number of channels to subscribe to.",
    ),
    CommandSpec::new("unsubscribe", -1, SUB_FLAGS, PS, unsubscribe).doc(
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        "O(N) where N is the number of channels to unsubscribe.",
    ),
    CommandSpec::new("psubscribe", -2, SUB_FLAGS, PS, psubscribe).doc(
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        "O(N) where N is the number of patterns to subscribe to.",
    ),
    CommandSpec::new("punsubscribe", -1, SUB_FLAGS, PS, punsubscribe).doc(
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        "O(N) where N is the number of patterns to unsubscribe.",
    ),
    CommandSpec::new("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, acl::PUBSUB | acl::FAST, publish).doc(
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
    ),
    CommandSpec::container("pubsub", -2, acl::SLOW, PUBSUB_SUBCOMMANDS).doc(
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
        "Depends on subcommand.",
    ),
    CommandSpec::new("ssubscribe", -2, SUB_FLAGS, PS, ssubscribe)
        .keys(SHARD_CHANNELS)
        .doc(
            "pubsub",
            "7.0.0",
            "Listens for messages published to shard channels.",
            "O(N) where N is the number of shard channels to subscribe to.",
        ),
    CommandSpec::new("sunsubscribe", -1, SUB_FLAGS, PS, sunsubscribe)
        .keys(SHARD_CHANNELS)
        .doc(
            "pubsub",
            "7.0.0",
            "Stops listening to messages posted to shard channels.",
            "O(N) where N is the number of shard channels to unsubscribe.",
        ),
    CommandSpec::new("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, acl::PUBSUB | acl::FAST, spublish)
        .keys(SHARD_CHANNEL)
        .doc(
            "pubsub",
            "7.0.0",
            "Post a message to a shard channel",
            "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        ),
];

/// Redis refuses subscriptions from clients that expect one reply per
/// command (scripts), except SUBSCRIBE/PSUBSCRIBE inside MULTI, kept for
/// backward compatibility. SSUBSCRIBE is refused inside EXEC too.
fn denied(ctx: &mut Ctx<'_>, name: &str, multi_ok: bool) -> bool {
    if ctx.client.deny_blocking && !(multi_ok && ctx.client.tx.in_exec) {
        ctx.out
            .error(&format!("{name} isn't allowed for a DENY BLOCKING client"));
        return true;
    }
    false
}

/// Runs `f` with the reply buffer (un)subscribe confirmations go to.
/// They are pushes: like Redis 7.2 (CLIENT_PUSHING), CLIENT REPLY OFF or
/// SKIP does not silence them, so they then bypass the reply buffer.
fn with_push_out(ctx: &mut Ctx<'_>, f: impl FnOnce(&Server, &mut Client, &mut Reply)) {
    if matches!(ctx.client.reply_mode, ReplyMode::On | ReplyMode::SkipNext) {
        f(ctx.server, ctx.client, ctx.out);
    } else {
        let mut own = Reply::new(ctx.out.resp);
        f(ctx.server, ctx.client, &mut own);
        ctx.client.info.outbox.push_own(&own.buf);
    }
}

fn subscribe_all(ctx: &mut Ctx<'_>, args: &[&[u8]], kind: Kind) {
    with_push_out(ctx, |server, client, out| {
        for name in &args[1..] {
            pubsub::subscribe(server, client, out, kind, name);
        }
    });
}

fn unsubscribe_args(ctx: &mut Ctx<'_>, args: &[&[u8]], kind: Kind) {
    with_push_out(ctx, |server, client, out| {
        if args.len() == 1 {
            pubsub::unsubscribe_all(server, client, Some(out), kind);
        } else {
            for name in &args[1..] {
                pubsub::unsubscribe(server, client, Some(&mut *out), kind, name);
            }
        }
    });
}

/// Moves messages queued for this client (it published to itself) into
/// its reply, before the command's own reply, as Redis orders them;
/// under CLIENT REPLY OFF/SKIP they stay queued so they are not dropped
/// with the reply.
fn own_messages_first(ctx: &mut Ctx<'_>) {
    if matches!(ctx.client.reply_mode, ReplyMode::On | ReplyMode::SkipNext) {
        ctx.client.info.outbox.drain_into(ctx.out);
    }
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if !denied(ctx, "SUBSCRIBE", true) {
        subscribe_all(ctx, args, Kind::Channel);
    }
}

fn psubscribe(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if !denied(ctx, "PSUBSCRIBE", true) {
        subscribe_all(ctx, args, Kind::Pattern);
    }
}

fn ssubscribe(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    if !denied(ctx, "SSUBSCRIBE", false) {
        subscribe_all(ctx, args, Kind::Shard);
    }
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    unsubscribe_args(ctx, args, Kind::Channel);
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    unsubscribe_args(ctx, args, Kind::Pattern);
}

fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    unsubscribe_args(ctx, args, Kind::Shard);
}

fn publish(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let n = pubsub::publish(ctx.server, args[1], args[2]);
    own_messages_first(ctx);
    ctx.out.integer(n as i64);
}

fn spublish(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let n = pubsub::spublish(ctx.server, args[1], args[2]);
    own_messages_first(ctx);
    ctx.out.integer(n as i64);
}

/// Redis's addReplySubcommandSyntaxError.
fn syntax_error(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let mut msg = b"unknown subcommand or wrong number of arguments for '".to_vec();
    let sub = args[1];
    msg.extend_from_slice(&sub[..sub.len().min(128)]);
    msg.extend_from_slice(b"'. Try ");
    msg.extend_from_slice(&args[0].to_ascii_uppercase());
    msg.extend_from_slice(b" HELP.");
    ctx.out.error_bytes(&msg);
}

fn channel_list(ctx: &mut Ctx<'_>, args: &[&[u8]], shard: bool) {
    if args.len() > 3 {
        syntax_error(ctx, args);
        return;
    }
    let names = ctx.server.pubsub.channel_names(shard, args.get(2).copied());
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
}

fn numsub(ctx: &mut Ctx<'_>, args: &[&[u8]], shard: bool) {
    ctx.out.array((args.len() - 2) * 2);
    for ch in &args[2..] {
        ctx.out.bulk(ch);
        ctx.out.integer(ctx.server.pubsub.subscriber_count(shard, ch) as i64);
    }
}

fn pubsub_channels(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    channel_list(ctx, args, false);
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    channel_list(ctx, args, true);
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    numsub(ctx, args, false);
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    numsub(ctx, args, true);
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.integer(ctx.server.pubsub.pattern_count() as i64);
}

fn pubsub_help(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let header = format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        String::from_utf8_lossy(args[0]).to_ascii_uppercase()
    );
    let lines = [
        header.as_str(),
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}
