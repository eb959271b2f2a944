//! Log files a support engineer can use, shared by the app and the CLI: `<data>/logs/<program>.log`,
//! rotated by size (`<program>.log.1` is the newest old one), written by a background thread, at info
//! unless `PARLEY_LOG` asks for more; a panic is logged with its backtrace before the process ends; the
//! last warnings and errors are also kept in memory for "Copy diagnostics" ([`recent_problems`]).
//!
//! What is logged at info and above never holds a token, a password, a message's text, a customer's
//! name, a file name or a URL with credentials: ids, counts, codes, account names (the user's own
//! labels) and error messages passed through [`redact`] (see [`describe_error`]).

use std::backtrace::Backtrace;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::error::{CoreError, Result};

/// The environment variable with the log filter, in `EnvFilter` syntax (`debug`,
/// `parley_core=trace`, ...); `RUST_LOG` is read when it is not set.
pub const LOG_ENV: &str = "PARLEY_LOG";
/// The folder inside the data folder that holds the logs.
pub const LOGS_DIR: &str = "logs";
/// A log file is rotated once it is larger than this (5 MB).
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// How many rotated files are kept besides the current one (so at most 5 files of about 5 MB each).
pub const KEPT_FILES: usize = 4;
/// How many warnings and errors [`recent_problems`] remembers.
pub const RECENT_PROBLEMS: usize = 20;
/// The longest error message [`redact`] returns, in characters.
pub const MAX_LOGGED_MESSAGE_CHARS: usize = 300;

/// What is logged when `PARLEY_LOG` says nothing more: info, with the chatty libraries at warn.
const DEFAULT_DIRECTIVES: &str = "info,sqlx=warn,hyper=warn,hyper_util=warn,h2=warn,reqwest=warn,\
                                  rustls=warn,tao=warn,wry=warn,zbus=warn";
/// The WebSocket library traces its raw upgrade request, whose query may hold a VoIPbin access key:
/// it never logs below info, whatever `PARLEY_LOG` says.
const CEILINGS: &[&str] = &["tungstenite=info", "tokio_tungstenite=info"];
/// The name of the thread that writes the log file.
const WRITER_THREAD: &str = "parley-log-writer";
/// How long [`flush`] waits for the writer thread at most.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes handed to the writer thread, and bytes it has written: [`flush`] waits until they meet.
static SENT: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);
/// The file this process logs to, once [`init`] has run.
static LOG_FILE: OnceLock<PathBuf> = OnceLock::new();
/// The last warnings and errors, oldest first.
static RECENT: Mutex<VecDeque<Problem>> = Mutex::new(VecDeque::new());

/// How [`init_with`] sets up logging; [`LogConfig::default`] is what the app and the CLI use.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A file is rotated once it is larger than this many bytes (a line is never split).
    pub max_file_bytes: usize,
    /// Rotated files kept besides the current one; older ones are deleted.
    pub kept_files: usize,
    /// Also write every line to stderr (for a developer running the app from a terminal).
    pub also_stderr: bool,
    /// The filter directives; `None` reads [`LOG_ENV`] (then `RUST_LOG`).
    pub filter: Option<String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: MAX_FILE_BYTES,
            kept_files: KEPT_FILES,
            also_stderr: false,
            filter: None,
        }
    }
}

/// Keeps the log's writer thread alive; dropping it writes what is queued and stops file logging.
/// Hold it for the whole process (call [`flush`] where the process ends without dropping it).
#[must_use = "logging to the file stops when the guard is dropped"]
pub struct LogGuard {
    path: PathBuf,
    _worker: WorkerGuard,
}

impl LogGuard {
    /// The current log file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard")
            .field("path", &self.path)
            .finish()
    }
}

/// A warning or an error logged by this process, as [`recent_problems`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// When it was logged.
    pub at: DateTime<Utc>,
    /// `WARN` or `ERROR`.
    pub level: String,
    /// Where it was logged (the module path, or `panic`).
    pub target: String,
    /// The message with its fields (`key=value`), one line.
    pub message: String,
}

/// The logs folder of a data folder.
pub fn logs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOGS_DIR)
}

/// The log file `program` writes in a data folder: `<data>/logs/<program>.log`.
pub fn log_file(data_dir: &Path, program: &str) -> PathBuf {
    logs_dir(data_dir).join(format!("{program}.log"))
}

/// The file this process logs to, once [`init`] has run.
pub fn log_path() -> Option<PathBuf> {
    LOG_FILE.get().cloned()
}

/// Starts logging into `<data>/logs/<program>.log` (`program` is `app` or `cli`) with the
/// [default](LogConfig::default) size cap, optionally also to stderr. Once per process: a second call
/// fails with `conflict`.
pub fn init(data_dir: &Path, program: &str, also_stderr: bool) -> Result<LogGuard> {
    init_with(
        data_dir,
        program,
        LogConfig {
            also_stderr,
            ..LogConfig::default()
        },
    )
}

/// [`init`] with every setting given.
pub fn init_with(data_dir: &Path, program: &str, config: LogConfig) -> Result<LogGuard> {
    if program.is_empty()
        || !program
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(CoreError::InvalidInput(
            "a log's program name is letters, digits and -".to_string(),
        ));
    }
    if config.max_file_bytes == 0 || config.kept_files == 0 {
        return Err(CoreError::InvalidInput(
            "a log needs a size above 0 and at least one rotated file".to_string(),
        ));
    }
    let folder = logs_dir(data_dir);
    std::fs::create_dir_all(&folder)
        .map_err(|error| CoreError::io("cannot create the logs folder", error))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700));
    }
    let path = log_file(data_dir, program);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = FileRotate::new(
        &path,
        AppendCount::new(config.kept_files),
        ContentLimit::BytesSurpassed(config.max_file_bytes),
        Compression::None,
        Some(options),
    );
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name(WRITER_THREAD)
        .finish(Counted(file));
    let spec = match config.filter {
        Some(spec) => spec,
        None => std::env::var(LOG_ENV)
            .or_else(|_| std::env::var("RUST_LOG"))
            .unwrap_or_default(),
    };
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(Sending(writer))
        .log_internal_errors(false);
    let stderr_layer = config.also_stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .log_internal_errors(false)
    });
    tracing_subscriber::registry()
        .with(filter(&spec))
        .with(file_layer)
        .with(stderr_layer)
        .with(RecentLayer)
        .try_init()
        .map_err(|_| {
            CoreError::Conflict("logging is already set up in this process".to_string())
        })?;
    let _ = LOG_FILE.set(path.clone());
    tracing::info!(
        program,
        version = env!("CARGO_PKG_VERSION"),
        os = std::env::consts::OS,
        arch = std::env::consts::ARCH,
        filter = %if spec.trim().is_empty() { "info" } else { spec.as_str() },
        "logging started"
    );
    Ok(LogGuard {
        path,
        _worker: worker,
    })
}

/// The filter for `spec` (`EnvFilter` directives, empty for the default): info with the chatty
/// libraries at warn, then `spec` (which wins where it names the same target), then the ceilings no
/// setting lifts.
pub fn filter(spec: &str) -> EnvFilter {
    let mut directives = DEFAULT_DIRECTIVES.to_string();
    if !spec.trim().is_empty() {
        directives.push(',');
        directives.push_str(spec.trim());
    }
    let mut filter = EnvFilter::builder().parse_lossy(directives);
    for ceiling in CEILINGS {
        if let Ok(directive) = ceiling.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Waits (up to two seconds) until every line logged so far is in the file. The writer thread keeps
/// running; call it where the process ends without dropping the [`LogGuard`] (Tauri's exit).
pub fn flush() {
    if std::thread::current().name() == Some(WRITER_THREAD) {
        return;
    }
    let deadline = Instant::now() + FLUSH_TIMEOUT;
    while WRITTEN.load(Ordering::Acquire) < SENT.load(Ordering::Acquire) {
        if Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Logs every panic at error (its message passed through [`redact`], where it happened, the thread
/// and a backtrace), waits until that is in the file, then runs the hook that was there before (which
/// prints the panic on stderr).
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        // A panic of the writer thread itself cannot go through it.
        if thread.name() != Some(WRITER_THREAD) {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|text| (*text).to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_string());
            let location = info
                .location()
                .map(|at| format!("{}:{}:{}", at.file(), at.line(), at.column()))
                .unwrap_or_default();
            let backtrace = Backtrace::force_capture();
            tracing::error!(
                target: "panic",
                %location,
                thread = thread.name().unwrap_or("unnamed"),
                backtrace = %format!("\n{backtrace}"),
                "panicked: {}",
                redact(&message)
            );
            flush();
        }
        previous(info);
    }));
}

/// The last warnings and errors this process logged (at most [`RECENT_PROBLEMS`]), oldest first.
pub fn recent_problems() -> Vec<Problem> {
    RECENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .cloned()
        .collect()
}

/// An error as the log writes it: its code, and its message through [`redact`] (a provider error
/// keeps the account's name).
pub fn describe_error(error: &CoreError) -> String {
    match error {
        CoreError::Provider { account, source } => format!(
            "{}: account {account}: {}",
            source.code,
            redact(&source.message)
        ),
        other => format!("{}: {}", other.code(), redact(&other.to_string())),
    }
}

/// A message made fit for the log: every quoted part (`"…"`, `` `…` ``, `“…”`, `«…»`, where the core
/// and the servers put names, phone numbers, links and texts) and every word that looks like a path,
/// a link, an e-mail address or a file name becomes `…`; one line, at most
/// [`MAX_LOGGED_MESSAGE_CHARS`] characters.
pub fn redact(text: &str) -> String {
    let unquoted = redact_quoted(text);
    let mut out = String::with_capacity(unquoted.len());
    for (index, word) in unquoted.split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let core = word.trim_end_matches([',', ';', ':', ')', ']', '}', '.', '!', '?']);
        let tail = &word[core.len()..];
        let core_start = core.trim_start_matches(['(', '[', '{']);
        let head = &core[..core.len() - core_start.len()];
        if looks_private(core_start) {
            out.push_str(head);
            out.push('…');
            out.push_str(tail);
        } else {
            out.push_str(word);
        }
    }
    if out.chars().count() > MAX_LOGGED_MESSAGE_CHARS {
        out = out.chars().take(MAX_LOGGED_MESSAGE_CHARS).collect();
        out.push('…');
    }
    out
}

/// Replaces every quoted span with `"…"`; an opening quote without its closing one hides the rest.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((start, open)) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '"' | '`' | '“' | '«'))
    {
        let close = match open {
            '“' => '”',
            '«' => '»',
            other => other,
        };
        out.push_str(&rest[..start]);
        out.push_str("\"…\"");
        let after = &rest[start + open.len_utf8()..];
        match after.find(close) {
            Some(end) => rest = &after[end + close.len_utf8()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// A path, a link, an e-mail address, a Telegram-style handle or a file name.
fn looks_private(word: &str) -> bool {
    if word.is_empty() || word == "…" {
        return false;
    }
    if word.contains("://")
        || word.contains('\\')
        || word.starts_with(['/', '~', '@'])
        || word.contains("/.")
        || word.split('/').count() > 2
    {
        return true;
    }
    if let Some((before, after)) = word.split_once('@') {
        if !before.is_empty() && !after.is_empty() {
            return true;
        }
    }
    match word.rsplit_once('.') {
        Some((name, extension)) => {
            !name.is_empty()
                && !name.chars().all(|c| c.is_ascii_digit())
                && (1..=5).contains(&extension.len())
                && extension.chars().all(|c| c.is_ascii_alphanumeric())
                && extension.chars().any(|c| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// The file writer, counting what it has written for [`flush`].
struct Counted<W>(W);

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.0.write(buf);
        // Counted also when it failed: the line is gone either way, and flush must not wait for it.
        let done = result.as_ref().map_or(buf.len(), |written| *written);
        WRITTEN.fetch_add(done as u64, Ordering::AcqRel);
        result
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The formatter's side of the writer thread, counting what it hands over for [`flush`].
struct Sending(NonBlocking);

impl<'a> MakeWriter<'a> for Sending {
    type Writer = SendingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        SendingWriter(self.0.clone())
    }
}

/// One event's writer for [`Sending`].
struct SendingWriter(NonBlocking);

impl Write for SendingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.0.write(buf)?;
        SENT.fetch_add(written as u64, Ordering::AcqRel);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Keeps the last warnings and errors for [`recent_problems`].
struct RecentLayer;

impl<S: Subscriber> Layer<S> for RecentLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        if *metadata.level() > Level::WARN {
            return;
        }
        let mut fields = ProblemFields::default();
        event.record(&mut fields);
        let mut message = fields.message;
        if !fields.rest.is_empty() {
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(&fields.rest);
        }
        let message: String = message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(2 * MAX_LOGGED_MESSAGE_CHARS)
            .collect();
        let problem = Problem {
            at: Utc::now(),
            level: metadata.level().to_string(),
            target: fields
                .log_target
                .unwrap_or_else(|| metadata.target().to_string()),
            message,
        };
        let mut recent = RECENT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() >= RECENT_PROBLEMS {
            recent.pop_front();
        }
        recent.push_back(problem);
    }
}

/// An event's message and other fields (the backtrace and the `log` crate's bookkeeping left out).
#[derive(Default)]
struct ProblemFields {
    message: String,
    rest: String,
    log_target: Option<String>,
}

impl Visit for ProblemFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "log.target" {
            self.log_target = Some(value.to_string());
        } else {
            self.record_debug(field, &format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "backtrace" => {}
            name if name.starts_with("log.") => {}
            name => {
                if !self.rest.is_empty() {
                    self.rest.push(' ');
                }
                let _ = write!(self.rest, "{name}={value:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{filter, redact};
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[test]
    fn quoted_parts_paths_and_file_names_are_hidden() {
        assert_eq!(
            redact("\"+7 925 000-00-01\" is not a phone number"),
            "\"…\" is not a phone number"
        );
        assert_eq!(
            redact("cannot read /home/olga/Паспорт Иванова.pdf: No such file or directory (os error 2)"),
            "cannot read … …: No such file or directory (os error 2)"
        );
        assert_eq!(
            redact(
                "invalid response: invalid type: string \"Привет, мир\", expected u64 at line 1"
            ),
            "invalid response: invalid type: string \"…\", expected u64 at line 1"
        );
        assert_eq!(
            redact("cannot copy invoice.pdf: denied"),
            "cannot copy …: denied"
        );
        assert_eq!(
            redact("see https://user:secret@example.com/x?accesskey=k, then"),
            "see …, then"
        );
        assert_eq!(redact("write to olga@example.com"), "write to …");
        assert_eq!(
            redact("unknown variant `hello there`"),
            "unknown variant \"…\""
        );
        assert_eq!(redact("an open \"quote hides the rest"), "an open \"…\"");
        assert_eq!(redact("two\nlines"), "two lines");
        assert_eq!(
            redact("server error (HTTP 500): internal error; retry in 1.5 s"),
            "server error (HTTP 500): internal error; retry in 1.5 s"
        );
        assert_eq!(
            redact("no conversation work/12345 in the cache"),
            "no conversation work/12345 in the cache"
        );
        let long = "word ".repeat(200);
        assert!(redact(&long).chars().count() <= super::MAX_LOGGED_MESSAGE_CHARS + 1);
    }

    /// The lines a subscriber with `spec`'s filter writes for one event of each level.
    fn written_with(spec: &str) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(spec))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "parley_core::sync", "core debug");
            tracing::info!(target: "parley_core::sync", "core info");
            tracing::info!(target: "sqlx::query", "sqlx info");
            tracing::warn!(target: "sqlx::query", "sqlx warn");
            tracing::debug!(target: "tungstenite::handshake", "tungstenite debug");
            tracing::info!(target: "tungstenite::handshake", "tungstenite info");
        });
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_default_is_info_with_quiet_libraries() {
        let log = written_with("");
        assert!(log.contains("core info"));
        assert!(!log.contains("core debug"));
        assert!(!log.contains("sqlx info"));
        assert!(log.contains("sqlx warn"));
        assert!(log.contains("tungstenite info"));
    }

    #[test]
    fn more_is_asked_for_by_target_and_the_websocket_stays_at_info() {
        let log = written_with("debug");
        assert!(log.contains("core debug"), "{log}");
        assert!(!log.contains("sqlx info"), "{log}");
        let log = written_with("trace,sqlx=info,tungstenite=trace");
        assert!(log.contains("core debug"), "{log}");
        assert!(log.contains("sqlx info"), "{log}");
        assert!(!log.contains("tungstenite debug"), "{log}");
        let log = written_with("warn");
        assert!(!log.contains("core info"), "{log}");
    }
}
