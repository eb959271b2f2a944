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

/// A file name safe to create on every OS, keeping what the customer wrote where possible: no path
/// separators, reserved or control characters, no leading dots, no trailing dots or spaces, and no
/// Windows device name (`CON`, `NUL`, `COM1`, ... get a leading `_`); at most 120 characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned = replace_forbidden(trim_name(name));
    let limited: String = cleaned.chars().take(120).collect();
    let safe = not_a_device(trim_name(&limited));
    if safe.is_empty() {
        "file".to_string()
    } else {
        safe
    }
}

/// `name` with each character no OS allows in a file name (path separators, `:*?"<>|`, control
/// characters) replaced by `_`.
pub(crate) fn replace_forbidden(name: &str) -> String {
    let options = sanitize_filename::Options {
        windows: false,
        truncate: false,
        replacement: "_",
    };
    sanitize_filename::sanitize_with_options(name, options)
}

/// `name` without surrounding whitespace, leading dots (a hidden file) or trailing dots and spaces
/// (which Windows drops, so `a.` and `a` would be one file there).
pub(crate) fn trim_name(name: &str) -> &str {
    name.trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim()
}

/// `name`, or `_name` when Windows reserves it for a device (`CON`, `nul.txt`, `COM1.log`, ...).
pub(crate) fn not_a_device(name: &str) -> String {
    let windows = sanitize_filename::OptionsForCheck {
        windows: true,
        truncate: false,
    };
    if name.is_empty() || sanitize_filename::is_sanitized_with_options(name, windows) {
        name.to_string()
    } else {
        format!("_{name}")
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

    #[test]
    fn windows_device_names_and_trailing_dots_become_safe_names() {
        assert_eq!(safe_file_name("CON.txt"), "_CON.txt");
        assert_eq!(safe_file_name("nul"), "_nul");
        assert_eq!(safe_file_name("com1.tar.gz"), "_com1.tar.gz");
        assert_eq!(safe_file_name("LPT1"), "_LPT1");
        assert_eq!(safe_file_name("a."), "a");
        assert_eq!(safe_file_name("b "), "b");
        assert_eq!(safe_file_name(". ."), "file");
        assert_eq!(safe_file_name("console.txt"), "console.txt", "not a device");
        let cut = format!("{}. x", "y".repeat(119));
        assert_eq!(
            safe_file_name(&cut),
            "y".repeat(119),
            "no dot left by the cut"
        );
    }
}
