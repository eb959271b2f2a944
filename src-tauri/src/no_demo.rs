//! A build without the `demo` feature (the installed app): `parley --demo` says where the demo is
//! instead of starting the embedded sandbox, which this build does not carry.

use std::path::PathBuf;

use parley_core::Parley;
use tauri::AppHandle;

/// The command-line switch.
pub const FLAG: &str = "--demo";

/// No demo can run in this build: the type has no values.
pub enum Demo {}

impl Demo {
    /// Always fails, saying how to get the demo.
    pub async fn start() -> std::io::Result<Demo> {
        Err(std::io::Error::other(
            "this build of Parley has no demo mode; run src-tauri/scripts/demo.sh from the source",
        ))
    }

    /// Never called: there is no demo.
    pub fn data_dir(&self) -> PathBuf {
        match *self {}
    }

    /// Never called: there is no demo.
    pub async fn open_core(&self) -> Result<Parley, String> {
        match *self {}
    }
}

/// Never called: there is no demo.
pub fn run(_app: &AppHandle, demo: Demo) {
    match demo {}
}

/// Nothing to stop.
pub fn finish(_app: &AppHandle) {}
