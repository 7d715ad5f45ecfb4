//! LATENCY LATEST, HISTORY, RESET, DOCTOR, GRAPH, HISTOGRAM and HELP;
//! the event monitor is `crate::latency`, the per-command histograms
//! `crate::latency_hist`.

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;

const TIPS_SPECIAL: &[&str] = &[
    "nondeterministic_output",
    "request_policy:all_nodes",
    "response_policy:special",
];
const TIPS_RESET: &[&str] = &["request_policy:all_nodes", "response_policy:all_succeeded"];
const FLAGS: u64 = ADMIN | NOSCRIPT | LOADING | STALE;
const ACL: u64 = acl::ADMIN | acl::SLOW | acl::DANGEROUS;

static LATENCY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("latency|doctor", 2, FLAGS, ACL, doctor)
        .doc(
            "server",
            "2.8.13",
            "Returns a human-readable latency analysis report.",
            "O(1)",
        )
        .tips(TIPS_SPECIAL),
    CommandSpec::new("latency|graph", 3, FLAGS, ACL, graph)
        .doc("server", "2.8.13", "Returns a latency graph for an event.", "O(1)")
        .tips(TIPS_SPECIAL),
    CommandSpec::new("latency|help", 2, LOADING | STALE, acl::SLOW, help).doc(
        "server",
        "2.8.13",
        "Returns helpful text about the different subcommands.",
        "O(1)",
    ),
    CommandSpec::new("latency|histogram", -2, FLAGS, ACL, histogram)
        .doc(
            "server",
            "7.0.0",
            "Returns the cumulative distribution of latencies of a subset or all commands.",
            "O(N) where N is the number of commands with latency information being retrieved.",
        )
        .tips(TIPS_SPECIAL),
    CommandSpec::new("latency|history", 3, FLAGS, ACL, history)
        .doc(
            "server",
            "2.8.13",
            "Returns timestamp-latency samples for an event.",
            "O(1)",
        )
        .tips(TIPS_SPECIAL),
    CommandSpec::new("latency|latest", 2, FLAGS, ACL, latest)
        .doc(
            "server",
            "2.8.13",
            "Returns the latest latency samples for all events.",
            "O(1)",
        )
        .tips(TIPS_SPECIAL),
    CommandSpec::new("latency|reset", -2, FLAGS, ACL, reset)
        .doc(
            "server",
            "2.8.13",
            "Resets the latency data for one or more events.",
            "O(1)",
        )
        .tips(TIPS_RESET),
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::container("latency", -2, acl::SLOW, LATENCY_SUBCOMMANDS).doc(
        "server",
        "2.8.13",
        "A container for latency diagnostics commands.",
        "Depends on subcommand.",
    ),
];

fn now_secs(ctx: &Ctx<'_>) -> u64 {
    ctx.server.now_ms() / 1000
}

fn latest(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let events = ctx.server.latency.latest();
    ctx.out.array(events.len());
    for (name, time, ms, max) in events {
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.integer(time as i64);
        ctx.out.integer(ms as i64);
        ctx.out.integer(max as i64);
    }
}

fn history(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let samples = ctx.server.latency.history(args[2]).unwrap_or_default();
    ctx.out.array(samples.len());
    for s in samples {
        ctx.out.array(2);
        ctx.out.integer(s.time as i64);
        ctx.out.integer(s.ms as i64);
    }
}

fn reset(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let n = if args.len() == 2 {
        ctx.server.latency.reset(None)
    } else {
        ctx.server.latency.reset(Some(&args[2..]))
    };
    ctx.out.integer(n as i64);
}

/// LATENCY HISTOGRAM [command ...]: per command with samples, its calls
/// and cumulative distribution. A container named brings its
/// subcommands; unknown names are skipped.
fn histogram(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    let server = ctx.server;
    let rows: Vec<(&str, crate::latency_hist::Snapshot)> = if args.len() == 2 {
        super::server::latency_snapshots(server)
    } else {
        let mut rows = Vec::new();
        let mut add = |c: &super::Command| {
            if let Some(snap) = c.stats.latency_snapshot() {
                rows.push((c.spec.name, snap));
            }
        };
        for name in &args[2..] {
            let Some(cmd) = server.commands.lookup(name) else {
                continue;
            };
            add(cmd);
            let mut subs: Vec<&super::Command> = cmd.subcommands.values().collect();
            subs.sort_unstable_by_key(|c| c.spec.name);
            for sub in subs {
                add(sub);
            }
        }
        rows
    };
    ctx.out.map(rows.len());
    for (name, snap) in rows {
        ctx.out.bulk_str(name);
        ctx.out.map(2);
        ctx.out.bulk_str("calls");
        ctx.out.integer(snap.total() as i64);
        ctx.out.bulk_str("histogram_usec");
        let steps = snap.cumulative_usec();
        ctx.out.map(steps.len());
        for (usec, count) in steps {
            ctx.out.integer(usec);
            ctx.out.integer(count as i64);
        }
    }
}

fn graph(ctx: &mut Ctx<'_>, args: &[&[u8]]) {
    match ctx.server.latency.graph(args[2], now_secs(ctx)) {
        Some(text) => ctx.out.verbatim(&text),
        None => ctx.out.error(&format!(
            "No samples available for event '{}'",
            String::from_utf8_lossy(args[2])
        )),
    }
}

fn doctor(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let report = report(ctx);
    ctx.out.verbatim(&report);
}

/// The doctor's report: Redis's opening lines and per-event figures, then
/// advice for the event classes Larder records.
fn report(ctx: &Ctx<'_>) -> String {
    let server = ctx.server;
    let threshold = server.latency.threshold_ms();
    let stats = server.latency.stats(now_secs(ctx));
    if stats.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    if stats.is_empty() {
        return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".into();
    }
    let mut out = String::from(
        "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
    );
    let mut advice: Vec<String> = Vec::new();
    let mut advise = |a: String| {
        if !advice.contains(&a) {
            advice.push(a);
        }
    };
    let slower_than = server
        .config
        .read()
        .extras
        .get("slowlog-log-slower-than")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(10_000);
    for (i, (event, st)) in stats.iter().enumerate() {
        out.push_str(&format!(
            "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.\n",
            i + 1,
            st.samples,
            st.avg,
            st.mad,
            st.period as f64 / st.samples.max(1) as f64,
            st.all_time_high
        ));
        match event.as_str() {
            "command" => {
                if slower_than < 0 {
                    advise(format!("- The slow log is off: 'CONFIG SET slowlog-log-slower-than {}' logs the commands that reach the latency threshold.", threshold * 1000));
                } else if slower_than as u64 / 1000 > threshold {
                    advise(format!("- The slow log only logs commands slower than the latency threshold: 'CONFIG SET slowlog-log-slower-than {}' aligns them.", threshold * 1000));
                }
                advise("- SLOWLOG GET shows which commands were slow. Commands over large values (KEYS, SMEMBERS, LRANGE 0 -1, SORT, big DEL) take time in proportion to their size.".into());
            }
            "fast-command" => advise("- Even O(1) commands were slow: the machine did not give the server CPU time (load, noisy neighbours, a small VM).".into()),
            "expire-cycle" => advise("- Expiring many keys at once took long: a higher 'hz' spreads the work, and large values cost more to free.".into()),
            "eviction-cycle" => advise("- Eviction freed a lot of memory at once: a sudden 'maxmemory' change or a burst of large writes forces it.".into()),
            "aof-write" => advise("- Writing the AOF was slow: local disks, less disk contention, or an SSD help.".into()),
            "aof-fsync-always" => advise("- 'appendfsync always' waits for every fsync; 'everysec' with WAITAOF for the writes that need it is much faster.".into()),
            _ => {}
        }
    }
    if advice.is_empty() {
        out.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        out.push_str("\nI have a few advices for you:\n\n");
        for a in advice {
            out.push_str(&a);
            out.push('\n');
        }
    }
    out
}

fn help(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    let lines = [
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ];
    super::server::help_reply(ctx, &lines);
}
