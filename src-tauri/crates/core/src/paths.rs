//! Where Parley keeps its data: one folder shared by the app and the CLI.

use std::path::{Path, PathBuf};

/// The environment variable that moves the data folder (same as `--data-dir`).
pub const DATA_DIR_ENV: &str = "PARLEY_DATA_DIR";

/// The default data folder: `$XDG_DATA_HOME/parley` on Linux, `~/Library/Application Support/parley` on
/// macOS, `%APPDATA%\parley` on Windows; the current folder's `.parley` if the OS names none.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir().map_or_else(|| PathBuf::from(".parley"), |dir| dir.join("parley"))
}

/// The folder for files staged in the outbox.
pub(crate) fn outbox_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

/// The folder attachments are downloaded into.
pub(crate) fn attachments_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("attachments")
}

/// A file name safe to create on every OS, keeping what the customer wrote where possible.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let limited: String = trimmed.chars().take(120).collect();
    if limited.is_empty() {
        "file".to_string()
    } else {
        limited
    }
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn hostile_names_become_plain_file_names() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("a<b>.png"), "a_b_.png");
        assert_eq!(safe_file_name(""), "file");
        assert_eq!(safe_file_name("отчёт.pdf"), "отчёт.pdf");
    }
}
