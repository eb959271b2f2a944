//! Runs the `parley-cli` binary as a child process: stdin fed, stdout/stderr captured, a hard timeout,
//! and every capture appended to a shared [`Transcript`] so tests can scan all output for secrets.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

/// How long an ordinary CLI command may take before the test kills it and fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// One finished (or killed) CLI run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The arguments after `--data-dir DIR`.
    pub args: Vec<String>,
    /// The exit code; `None` when killed by a signal (or by the timeout).
    pub code: Option<i32>,
    /// True when the harness killed it for running past its timeout.
    pub timed_out: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Wall-clock time from spawn to exit.
    pub elapsed: Duration,
}

impl Outcome {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// A readable account of the run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`parley-cli {}` -> exit {:?}{} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            truncate(&self.stdout, 4000),
            truncate(&self.stderr, 4000),
        )
    }

    /// Panics with the full account unless the run exited 0.
    pub fn assert_ok(&self) -> &Self {
        assert!(self.success(), "expected success:\n{}", self.describe());
        self
    }

    /// Parses stdout as JSON into `T`, panicking with the output if it does not fit the contract.
    pub fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|error| {
            panic!(
                "stdout is not the JSON the contract promises ({error}):\n{}",
                self.describe()
            )
        })
    }

    /// The lines of stdout that are not blank, each parsed as JSON (`sync --json` for several accounts).
    pub fn parse_lines<T: DeserializeOwned>(&self) -> Vec<T> {
        self.stdout
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|error| {
                    panic!("line {line:?} is not JSON ({error}):\n{}", self.describe())
                })
            })
            .collect()
    }

    /// Stderr lines that start with `error:`.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|line| line.trim_start().starts_with("error:"))
            .collect()
    }

    /// Asserts a clean failure: exit status 1 (not a crash or a timeout), no panic, no multi-line
    /// error chain, and an `error: ...` line on stderr. Returns the last error line.
    pub fn assert_clean_failure(&self) -> String {
        assert!(
            !self.timed_out,
            "timed out instead of failing:\n{}",
            self.describe()
        );
        assert_eq!(
            self.code,
            Some(1),
            "expected exit status 1 with a one-line error:\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.contains("panicked"),
            "the CLI panicked:\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.contains("Caused by") && !self.stderr.contains("Stack backtrace"),
            "the error is not one line:\n{}",
            self.describe()
        );
        let errors = self.error_lines();
        assert!(
            !errors.is_empty(),
            "no `error: ...` line on stderr:\n{}",
            self.describe()
        );
        errors[errors.len() - 1].to_string()
    }

    /// [`Outcome::assert_clean_failure`], and the error is said exactly once.
    pub fn assert_single_error_line(&self) -> String {
        let line = self.assert_clean_failure();
        assert_eq!(
            self.error_lines().len(),
            1,
            "expected exactly one `error: ...` line on stderr:\n{}",
            self.describe()
        );
        line
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let head: String = text.chars().take(max_chars).collect();
    format!(
        "{head}\n[... {} more chars]",
        text.chars().count() - max_chars
    )
}

/// Every captured stdout/stderr of a test, in order, as raw bytes.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    entries: Arc<Mutex<Vec<Captured>>>,
}

/// One run's raw output.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The arguments of the run.
    pub args: Vec<String>,
    /// Raw standard output.
    pub stdout: Vec<u8>,
    /// Raw standard error.
    pub stderr: Vec<u8>,
}

impl Transcript {
    fn push(&self, captured: Captured) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(captured);
    }

    /// A copy of everything captured so far.
    pub fn all(&self) -> Vec<Captured> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Descriptions (`args` and stream) of every capture that contains `needle`.
    pub fn occurrences(&self, needle: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        for captured in self.all() {
            for (stream, bytes) in [("stdout", &captured.stdout), ("stderr", &captured.stderr)] {
                if contains(bytes, needle) {
                    found.push(format!(
                        "{stream} of `parley-cli {}`",
                        captured.args.join(" ")
                    ));
                }
            }
        }
        found
    }
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// The binary bound to one data dir, with a private HOME/XDG layout.
#[derive(Debug, Clone)]
pub struct Cli {
    binary: PathBuf,
    data_dir: PathBuf,
    home: PathBuf,
    env: Vec<(String, String)>,
    data_dir_by_env: bool,
    transcript: Transcript,
}

impl Cli {
    /// A CLI using `data_dir`, with HOME and XDG folders under `home`.
    pub fn new(binary: PathBuf, data_dir: PathBuf, home: PathBuf, transcript: Transcript) -> Cli {
        Cli {
            binary,
            data_dir,
            home,
            env: Vec::new(),
            data_dir_by_env: false,
            transcript,
        }
    }

    /// The data dir this CLI passes.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Adds an environment variable to every run (e.g. `RUST_LOG=debug`).
    pub fn with_env(mut self, key: &str, value: &str) -> Cli {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Passes the data dir as `PARLEY_DATA_DIR` instead of `--data-dir`.
    pub fn with_data_dir_in_env(mut self) -> Cli {
        self.data_dir_by_env = true;
        self
    }

    /// The command line for `args` with this CLI's data dir and private HOME/XDG layout, for tests
    /// that need to read a long-running command's output while it runs.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.env_remove("PARLEY_DATA_DIR");
        if self.data_dir_by_env {
            command.env("PARLEY_DATA_DIR", &self.data_dir);
        } else {
            command.arg("--data-dir").arg(&self.data_dir);
        }
        command.args(args);
        for (variable, folder) in [
            ("HOME", ""),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_STATE_HOME", ".local/state"),
        ] {
            let path = self.home.join(folder);
            let _ = std::fs::create_dir_all(&path);
            command.env(variable, path);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs with no stdin and the default timeout.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_timeout(args, None, DEFAULT_TIMEOUT)
    }

    /// Runs with `stdin` fed and closed, default timeout.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Outcome {
        self.run_timeout(args, Some(stdin), DEFAULT_TIMEOUT)
    }

    /// Runs and asserts exit 0.
    pub fn ok(&self, args: &[&str]) -> Outcome {
        let outcome = self.run(args);
        outcome.assert_ok();
        outcome
    }

    /// Runs, asserts exit 0 and parses stdout.
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        self.ok(args).parse()
    }

    /// Runs with an explicit timeout; kills the child when it is exceeded.
    pub fn run_timeout(&self, args: &[&str], stdin: Option<&str>, timeout: Duration) -> Outcome {
        let running = self.spawn_inner(args, stdin);
        running.wait(timeout)
    }

    /// Starts the CLI and returns at once (no stdin), so a test can kill it.
    pub fn spawn(&self, args: &[&str]) -> RunningCli {
        self.spawn_inner(args, None)
    }

    fn spawn_inner(&self, args: &[&str], stdin: Option<&str>) -> RunningCli {
        let mut command = self.command(args);
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A CLI that exits before reading stdin is not this write's problem.
            let _ = pipe.write_all(text.as_bytes());
        }
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        RunningCli {
            child,
            stdout,
            stderr,
            started,
            args: args.iter().map(|a| a.to_string()).collect(),
            transcript: self.transcript.clone(),
        }
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// A CLI child still running.
pub struct RunningCli {
    child: Child,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    started: Instant,
    args: Vec<String>,
    transcript: Transcript,
}

impl RunningCli {
    /// Waits up to `timeout` for the child to exit; kills it (SIGKILL) past that.
    pub fn wait(mut self, timeout: Duration) -> Outcome {
        let deadline = self.started + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                return self.finish(status, false);
            }
            if Instant::now() >= deadline {
                let status = self.kill_now();
                return self.finish(status, true);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends SIGKILL now (if it still runs) and collects what it printed.
    pub fn kill(mut self) -> Outcome {
        let status = self.kill_now();
        self.finish(status, false)
    }

    fn kill_now(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("reap the killed child")
    }

    fn finish(self, status: ExitStatus, timed_out: bool) -> Outcome {
        let elapsed = self.started.elapsed();
        let stdout = self.stdout.join().unwrap_or_default();
        let stderr = self.stderr.join().unwrap_or_default();
        self.transcript.push(Captured {
            args: self.args.clone(),
            stdout: stdout.clone(),
            stderr: stderr.clone(),
        });
        Outcome {
            args: self.args,
            code: status.code(),
            timed_out,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
        }
    }
}
