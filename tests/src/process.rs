//! What the benchmarks read about a running program from `/proc` (Linux): its pid, when the kernel
//! started it (on the wall clock), and the memory of its whole process tree as PSS.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The pid of the running process whose executable is `binary`.
pub fn pid_of(binary: &Path) -> Option<u32> {
    let binary = std::fs::canonicalize(binary).ok()?;
    processes()
        .into_iter()
        .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
}

/// Every pid in /proc.
fn processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Field `index` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(pid: u32, index: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split(' ').nth(index - 3)?.parse().ok()
}

/// The process's start as epoch milliseconds: its start in clock ticks since boot, placed on the wall
/// clock through `/proc/uptime` read now (`btime` in /proc/stat is whole seconds, up to 1 s off).
pub fn start_epoch_ms(pid: u32) -> f64 {
    let ticks = stat_field(pid, 22).expect("the process's start time") as f64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64();
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("read /proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|seconds| seconds.parse().ok())
        .expect("seconds since boot in /proc/uptime");
    (now - uptime + ticks / clock_ticks_per_second()) * 1000.0
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// PSS of every process in a tree: `(name, pid, KiB)`.
#[derive(Debug, Clone)]
pub struct TreeMemory(pub Vec<(String, u32, u64)>);

impl TreeMemory {
    /// The tree's PSS in MB.
    pub fn total_mb(&self) -> f64 {
        self.0.iter().map(|(_, _, kib)| *kib).sum::<u64>() as f64 / 1024.0
    }

    /// The PSS in MB of the processes named `name` (the kernel's 15-byte `comm`).
    pub fn named_mb(&self, name: &str) -> f64 {
        self.0
            .iter()
            .filter(|(process, _, _)| process == name)
            .map(|(_, _, kib)| *kib)
            .sum::<u64>() as f64
            / 1024.0
    }

    /// `name pid: N MB` for each process, largest first.
    pub fn describe(&self) -> String {
        let mut parts = self.0.clone();
        parts.sort_by_key(|(_, _, kib)| std::cmp::Reverse(*kib));
        parts
            .iter()
            .map(|(name, pid, kib)| format!("{name} {pid}: {:.0} MB", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// PSS of `root` and all its descendants; panics when a process named in `expected` is not among
/// them (a tree without its web process would look light for the wrong reason).
pub fn tree_pss(root: u32, expected: &[&str]) -> TreeMemory {
    let all = processes();
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let parent = u64::from(tree[index]);
        tree.extend(
            all.iter()
                .filter(|pid| stat_field(**pid, 4) == Some(parent)),
        );
        index += 1;
    }
    let memory = TreeMemory(
        tree.iter()
            .map(|pid| (process_name(*pid), *pid, pss_kib(*pid)))
            .collect(),
    );
    for name in expected {
        assert!(
            memory.0.iter().any(|(process, _, _)| process == name),
            "no {name} in the process tree: {}",
            memory.describe()
        );
    }
    memory
}

/// The process's `comm` (its name, cut to 15 bytes by the kernel).
pub fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("Pss:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The median of `values` (the upper one of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
