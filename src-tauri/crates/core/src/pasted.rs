//! Files pasted into the composer (Ctrl+V): the page hands over their bytes, which are written into the
//! data folder's `pasted/` folder (private to the user, like the outbox's), one fresh folder per paste
//! so two pastes of `pasted-image-1.png` never meet. The composer then sends the returned path like a
//! dropped file (the outbox copies it again when the message is queued). Pasted files older than a day
//! are removed on the next paste.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{create_private_dir, paths, CoreError, Parley, Result, MAX_ATTACHMENT_BYTES};

/// The data folder's subfolder for pasted files.
const PASTED_DIR: &str = "pasted";
/// How long a pasted file is kept after it was pasted.
const KEEP_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest file name kept (in characters, extension included).
const MAX_NAME_CHARS: usize = 100;
/// The longest extension kept (in characters, without the dot).
const MAX_EXTENSION_CHARS: usize = 12;

impl Parley {
    /// Writes the bytes of a pasted file named `file_name` (as the clipboard named it; `mime`, when
    /// given, supplies an extension the name lacks) into the data folder and returns its path, to be
    /// sent like any picked file. Refuses an empty file and one larger than
    /// [`MAX_ATTACHMENT_BYTES`]. Pasted files older than a day are removed first.
    pub async fn stage_pasted_file(
        &self,
        file_name: &str,
        mime: Option<&str>,
        bytes: &[u8],
    ) -> Result<PathBuf> {
        if bytes.is_empty() {
            return Err(CoreError::InvalidInput(
                "the pasted file is empty".to_string(),
            ));
        }
        if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(CoreError::InvalidInput(format!(
                "the pasted file is larger than {} MB",
                MAX_ATTACHMENT_BYTES / 1024 / 1024
            )));
        }
        let root = self.data_dir.join(PASTED_DIR);
        let name = pasted_file_name(file_name, mime);
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || {
            create_private_dir(&root)?;
            remove_older_than(&root, KEEP_FOR);
            let folder = root.join(format!("{:016x}", rand::random::<u64>()));
            create_private_dir(&folder)?;
            let path = folder.join(name);
            write_private(&path, &bytes)
                .map_err(|error| CoreError::io("cannot save the pasted file", error))?;
            Ok(path)
        })
        .await
        .map_err(|error| {
            CoreError::io(
                "cannot save the pasted file",
                std::io::Error::other(error.to_string()),
            )
        })?
    }
}

/// A file name safe on every OS for what the clipboard called the file: no path separators, control
/// or reserved characters, no leading dots, no trailing dots or spaces, no Windows device name (see
/// [`paths::not_a_device`]), the extension kept (or taken from `mime`), the whole at
/// most [`MAX_NAME_CHARS`] characters; `pasted-file` when nothing is left.
fn pasted_file_name(raw: &str, mime: Option<&str>) -> String {
    // Only the last path segment: a name is never a path.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned = paths::replace_forbidden(paths::trim_name(base));
    let cleaned = cleaned.as_str();
    let (stem, extension) = match cleaned.rsplit_once('.') {
        Some((stem, extension))
            if !stem.is_empty()
                && !extension.is_empty()
                && extension.chars().count() <= MAX_EXTENSION_CHARS
                && extension.chars().all(char::is_alphanumeric) =>
        {
            (stem.trim_end(), Some(extension.to_string()))
        }
        _ => (cleaned, None),
    };
    let extension = extension.or_else(|| {
        mime.and_then(mime_guess::get_mime_extensions_str)
            .and_then(|extensions| extensions.first())
            .map(|extension| (*extension).to_string())
    });
    let stem = if stem.is_empty() { "pasted-file" } else { stem };
    let room = MAX_NAME_CHARS - extension.as_ref().map_or(0, |e| e.chars().count() + 1);
    let stem: String = stem.chars().take(room).collect();
    let name = match extension {
        Some(extension) => format!("{}.{extension}", stem.trim_end()),
        None => paths::trim_name(&stem).to_string(),
    };
    paths::not_a_device(&name)
}

/// Removes the paste folders under `root` last changed more than `age` ago (best effort: a file in
/// use or already gone is left to the next paste).
fn remove_older_than(root: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|elapsed| elapsed > age);
        if !old {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// Creates `path` with `bytes`, readable by the user only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::{pasted_file_name, remove_older_than, PASTED_DIR};
    use crate::{ErrorCode, MemorySecretStore, Parley};

    #[test]
    fn names_are_plain_file_names_with_their_extension() {
        assert_eq!(
            pasted_file_name("pasted-image-1.png", None),
            "pasted-image-1.png"
        );
        assert_eq!(
            pasted_file_name("../../etc/passwd", None),
            "passwd",
            "only the last segment"
        );
        assert_eq!(pasted_file_name("C:\\Users\\a\\b.txt", None), "b.txt");
        assert_eq!(pasted_file_name("a<b>\u{7}.png", None), "a_b__.png");
        assert_eq!(pasted_file_name("..hidden", None), "hidden");
        assert_eq!(pasted_file_name("", Some("image/png")), "pasted-file.png");
        assert_eq!(pasted_file_name("shot", Some("image/png")), "shot.png");
        assert_eq!(pasted_file_name("отчёт.pdf", None), "отчёт.pdf");
        let long = format!("{}.jpeg", "x".repeat(300));
        let limited = pasted_file_name(&long, None);
        assert_eq!(limited.chars().count(), 100);
        assert!(limited.ends_with(".jpeg"), "the extension stays: {limited}");
    }

    async fn core(dir: &std::path::Path) -> Parley {
        Parley::open(dir, Arc::new(MemorySecretStore::default()))
            .await
            .expect("the core opens")
    }

    #[tokio::test]
    async fn pasted_bytes_land_privately_in_the_data_folder() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let parley = core(dir.path()).await;
        let first = parley
            .stage_pasted_file("pasted-image-1.png", Some("image/png"), b"\x89PNG one")
            .await
            .expect("staged");
        let second = parley
            .stage_pasted_file("pasted-image-1.png", Some("image/png"), b"\x89PNG two")
            .await
            .expect("staged again");
        assert_ne!(first, second, "two pastes of one name do not meet");
        assert!(first.starts_with(dir.path().join(PASTED_DIR)));
        assert_eq!(
            first.file_name().unwrap().to_string_lossy(),
            "pasted-image-1.png"
        );
        assert_eq!(std::fs::read(&first).unwrap(), b"\x89PNG one");
        assert_eq!(std::fs::read(&second).unwrap(), b"\x89PNG two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "private file: {mode:o}");
            let folder = std::fs::metadata(dir.path().join(PASTED_DIR)).unwrap();
            assert_eq!(folder.permissions().mode() & 0o077, 0, "private folder");
        }
    }

    #[tokio::test]
    async fn windows_device_names_and_trailing_dots_are_saved_under_safe_names() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let parley = core(dir.path()).await;
        for (pasted, saved) in [
            ("CON.txt", "_CON.txt"),
            ("nul", "_nul"),
            ("a.", "a"),
            ("b ", "b"),
            ("aux", "_aux.png"),
        ] {
            let mime = (pasted == "aux").then_some("image/png");
            let path = parley
                .stage_pasted_file(pasted, mime, b"bytes")
                .await
                .expect("staged");
            assert_eq!(path.file_name().unwrap().to_string_lossy(), saved);
            assert_eq!(
                std::fs::read(&path).unwrap(),
                b"bytes",
                "{saved} holds the paste"
            );
        }
    }

    #[tokio::test]
    async fn empty_and_oversized_pastes_are_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let parley = core(dir.path()).await;
        let empty = parley.stage_pasted_file("a.png", None, b"").await;
        assert_eq!(empty.unwrap_err().code(), ErrorCode::InvalidInput);
        let huge = vec![0u8; crate::MAX_ATTACHMENT_BYTES as usize + 1];
        let refused = parley.stage_pasted_file("big.bin", None, &huge).await;
        assert_eq!(refused.unwrap_err().code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn old_pastes_go_and_fresh_ones_stay() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let old = dir.path().join("old");
        let fresh = dir.path().join("fresh");
        for folder in [&old, &fresh] {
            std::fs::create_dir_all(folder).unwrap();
            std::fs::write(folder.join("f.png"), b"x").unwrap();
        }
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 60 * 60);
        std::fs::File::open(&old)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        remove_older_than(dir.path(), Duration::from_secs(24 * 60 * 60));
        assert!(!old.exists(), "a paste of two days ago is removed");
        assert!(fresh.join("f.png").exists(), "today's paste stays");
    }
}
