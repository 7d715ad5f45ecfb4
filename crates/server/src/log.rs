//! Logging in Redis's line format:
//! `pid:M 25 Nov 2026 09:00:00.000 * Ready to accept connections tcp`,
//! with `loglevel` and `logfile` (empty: standard output).

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{span, Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogLevel;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 to (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `25 Nov 2026 09:00:00.000` for a time in ms since the epoch (UTC).
pub fn redis_timestamp(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ms % 1000
    )
}

struct RedisFormat;

/// Redis's level mark: `.` debug, `-` verbose, `*` notice, `#` warning.
fn mark(level: Level) -> char {
    match level {
        Level::TRACE => '.',
        Level::DEBUG => '-',
        Level::INFO => '*',
        Level::WARN | Level::ERROR => '#',
    }
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        write!(
            w,
            "{}:M {} {} ",
            std::process::id(),
            redis_timestamp(ms),
            mark(*event.metadata().level())
        )?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Where log lines go.
#[derive(Clone)]
struct Sink(Option<Arc<Mutex<std::fs::File>>>);

struct SinkWriter(Option<Arc<Mutex<std::fs::File>>>);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.0 {
            Some(f) => f.lock().write(buf),
            None => std::io::stdout().write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &self.0 {
            Some(f) => f.lock().flush(),
            None => std::io::stdout().flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for Sink {
    type Writer = SinkWriter;
    fn make_writer(&'a self) -> SinkWriter {
        SinkWriter(self.0.clone())
    }
}

/// The current `loglevel` (a `LogLevel` as u8), read on every event so
/// CONFIG SET loglevel takes effect at once.
static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Notice as u8);

/// Changes the log level at run time (CONFIG SET loglevel).
pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The Redis level a `tracing` level logs at.
fn redis_level(level: &Level) -> LogLevel {
    match *level {
        Level::TRACE => LogLevel::Debug,
        Level::DEBUG => LogLevel::Verbose,
        Level::INFO => LogLevel::Notice,
        Level::WARN | Level::ERROR => LogLevel::Warning,
    }
}

/// Whether an event at `level` is logged under the current loglevel.
pub fn enabled(level: &Level) -> bool {
    let current = LEVEL.load(Ordering::Relaxed);
    current != LogLevel::Nothing as u8 && redis_level(level) as u8 >= current
}

/// Wraps the formatting subscriber with the run-time level check. Every
/// callsite is registered as "sometimes" so `enabled` is asked each time.
struct Filtered<S>(S);

impl<S: Subscriber> Subscriber for Filtered<S> {
    fn register_callsite(&self, _meta: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        enabled(meta.level()) && self.0.enabled(meta)
    }
    fn new_span(&self, span: &span::Attributes<'_>) -> span::Id {
        self.0.new_span(span)
    }
    fn record(&self, span: &span::Id, values: &span::Record<'_>) {
        self.0.record(span, values)
    }
    fn record_follows_from(&self, span: &span::Id, follows: &span::Id) {
        self.0.record_follows_from(span, follows)
    }
    fn event(&self, event: &Event<'_>) {
        if enabled(event.metadata().level()) {
            self.0.event(event)
        }
    }
    fn enter(&self, span: &span::Id) {
        self.0.enter(span)
    }
    fn exit(&self, span: &span::Id) {
        self.0.exit(span)
    }
    fn clone_span(&self, id: &span::Id) -> span::Id {
        self.0.clone_span(id)
    }
    fn try_close(&self, id: span::Id) -> bool {
        self.0.try_close(id)
    }
}

/// Installs the global logger. Call once, before anything logs.
pub fn init(level: LogLevel, logfile: &str) -> std::io::Result<()> {
    set_level(level);
    let sink = if logfile.is_empty() {
        Sink(None)
    } else {
        let f = std::fs::OpenOptions::new().create(true).append(true).open(logfile)?;
        Sink(Some(Arc::new(Mutex::new(f))))
    };
    let sub = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .event_format(RedisFormat)
        .with_writer(sink)
        .finish();
    let _ = tracing::subscriber::set_global_default(Filtered(sub));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_format() {
        // 2026-11-25 09:00:00.123 UTC
        assert_eq!(redis_timestamp(1_795_597_200_123), "25 Nov 2026 09:00:00.123");
        assert_eq!(redis_timestamp(0), "01 Jan 1970 00:00:00.000");
    }

    #[test]
    fn levels() {
        set_level(LogLevel::Warning);
        assert!(enabled(&Level::WARN));
        assert!(!enabled(&Level::INFO));
        set_level(LogLevel::Debug);
        assert!(enabled(&Level::TRACE));
        set_level(LogLevel::Nothing);
        assert!(!enabled(&Level::ERROR));
        set_level(LogLevel::Notice);
        assert!(enabled(&Level::INFO));
        assert!(!enabled(&Level::DEBUG));
        assert_eq!(mark(Level::DEBUG), '-');
    }
}
