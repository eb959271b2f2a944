//! Attachment downloads: one shared HTTP client, the body streamed (never held in memory) into a
//! temp file beside its final name under a size cap, and renamed into place only once whole, so a
//! download that breaks, runs over the cap or is killed leaves no file that could pass as cached.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use parley_http::{exchange_into, BodyLimits, ExchangeError, StreamError};

use crate::{CoreError, ErrorCode, ProviderError, Result, DOWNLOAD_CAP_ENV, MAX_ATTACHMENT_BYTES};

/// How long one download may take, from the request to the last byte.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// The client every download shares (connection pool, TLS set-up), built on first use.
fn client() -> std::result::Result<reqwest::Client, ProviderError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .timeout(DOWNLOAD_TIMEOUT)
        .build()
        .map_err(|error| ProviderError::new(ErrorCode::Offline, error.to_string()))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// Checks that `url` is an http(s) address.
fn parse_url(url: &str) -> std::result::Result<reqwest::Url, ProviderError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| {
        ProviderError::new(
            ErrorCode::InvalidResponse,
            "the attachment address is not a URL",
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ProviderError::new(
            ErrorCode::InvalidResponse,
            "the attachment address is not http(s)",
        ));
    }
    Ok(parsed)
}

/// The most bytes one download may bring: [`MAX_ATTACHMENT_BYTES`], or less when
/// [`DOWNLOAD_CAP_ENV`] says so.
fn download_cap() -> u64 {
    std::env::var(DOWNLOAD_CAP_ENV)
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .filter(|cap| *cap > 0)
        .map_or(MAX_ATTACHMENT_BYTES, |cap| cap.min(MAX_ATTACHMENT_BYTES))
}

/// A cap in the units a person reads: whole MB from 1 MB, else KB.
fn describe_cap(cap: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if cap >= MB {
        format!("{} MB", cap / MB)
    } else {
        format!("{} KB", cap.div_ceil(1024))
    }
}

/// Downloads `url` to `path` (whose folder must exist), at most [`download_cap`] bytes. The
/// bytes go to a hidden temp file in the same folder, renamed to `path` once the whole body came;
/// on any failure the temp file is removed and `path` is left as it was. `account` names the
/// account in a provider error.
pub(crate) async fn download_to(account: &str, url: &str, path: &Path) -> Result<()> {
    let provider = |error| CoreError::provider(account, error);
    let url = parse_url(url).map_err(provider)?;
    let request = client().map_err(provider)?.get(url);
    let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let temp = blocking("cannot save the attachment", move || {
        tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(folder)
    })
    .await?;
    let (file, temp_path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let cap = download_cap();
    let limits = BodyLimits {
        success: usize::try_from(cap).unwrap_or(usize::MAX),
        ..BodyLimits::default()
    };
    exchange_into(request, limits, &mut file)
        .await
        .map_err(|error| stream_error(account, error, cap))?;
    file.sync_all()
        .await
        .map_err(|error| CoreError::io("cannot save the attachment", error))?;
    drop(file);
    let path = path.to_path_buf();
    blocking("cannot save the attachment", move || {
        temp_path.persist(path).map_err(|error| error.error)
    })
    .await
}

/// A failed download in the core's terms; `cap` is the size limit it ran under.
fn stream_error(account: &str, error: StreamError, cap: u64) -> CoreError {
    let failure = match error {
        StreamError::Sink(error) => return CoreError::io("cannot save the attachment", error),
        StreamError::Exchange(ExchangeError::Transport(failure)) => {
            ProviderError::new(ErrorCode::Offline, failure.message)
        }
        StreamError::Exchange(ExchangeError::Status(reply)) => ProviderError::new(
            ErrorCode::NotFound,
            format!("the file host answered HTTP {}", reply.status),
        ),
        StreamError::Exchange(ExchangeError::BodyTooLarge) => ProviderError::new(
            ErrorCode::TooLarge,
            format!(
                "the file is larger than {}, the most Parley downloads",
                describe_cap(cap)
            ),
        ),
    };
    CoreError::provider(account, failure)
}

/// Runs blocking file work off the async threads; its error (or a panic) is an I/O error with
/// `context`.
async fn blocking<T, F>(context: &str, work: F) -> Result<T>
where
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| std::io::Error::other(error.to_string()))
        .and_then(|result| result)
        .map_err(|error| CoreError::io(context, error))
}

/// The folder and file an attachment is saved as: `<attachments>/<account id>/<attachment id>/<name>`.
pub(crate) fn attachment_path(
    attachments: &Path,
    account_id: i64,
    attachment_id: i64,
    name: &str,
) -> PathBuf {
    attachments
        .join(account_id.to_string())
        .join(attachment_id.to_string())
        .join(crate::paths::safe_file_name(name))
}
