//! Attachments by link: checking an http(s) URL and naming the file it points at, for the outbox.

use url::Url;

use crate::error::{CoreError, Result};
use crate::store::NewOutboxFile;

/// The longest link accepted.
const MAX_LINK_CHARS: usize = 2048;

/// Checks each link (http or https, with a host, no credentials) and turns it into an outbox file
/// the server will fetch itself.
pub(crate) fn stage_links(links: &[String]) -> Result<Vec<NewOutboxFile>> {
    links.iter().map(|link| stage_link(link)).collect()
}

fn stage_link(link: &str) -> Result<NewOutboxFile> {
    let url = parse_link(link)?;
    let file_name = link_file_name(&url);
    Ok(NewOutboxFile {
        mime_type: Some(
            mime_guess::from_path(&file_name)
                .first_or_octet_stream()
                .to_string(),
        ),
        file_name,
        size: 0,
        stored_path: String::new(),
        source_url: Some(url.to_string()),
        sha256: None,
    })
}

/// Parses a link the server may fetch: http(s), a host, no user name or password in it.
pub(crate) fn parse_link(link: &str) -> Result<Url> {
    let link = link.trim();
    if link.chars().count() > MAX_LINK_CHARS {
        return Err(CoreError::InvalidInput(format!(
            "the link is longer than {MAX_LINK_CHARS} characters"
        )));
    }
    let url = Url::parse(link)
        .map_err(|error| CoreError::InvalidInput(format!("\"{link}\" is not a link: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CoreError::InvalidInput(format!(
            "only http and https links can be attached, not {}:",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(CoreError::InvalidInput(
            "the link has no host name".to_string(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CoreError::InvalidInput(
            "a link with a user name or password in it would show them to the customer; remove them"
                .to_string(),
        ));
    }
    Ok(url)
}

/// The file name a link points at: its last path segment, decoded, or "file".
pub fn link_file_name(url: &Url) -> String {
    let segment = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or("");
    let decoded = percent_decode(segment);
    let name = crate::paths::safe_file_name(&decoded);
    if name.trim_matches(['.', '_', ' ']).is_empty() {
        "file".to_string()
    } else {
        name
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_links_with_a_host_are_accepted() {
        assert!(parse_link("https://example.com/a.pdf").is_ok());
        assert!(parse_link("  http://127.0.0.1:8080/x  ").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.com/a",
            "javascript:alert(1)",
            "example.com/a.pdf",
            "https://user:secret@example.com/a",
        ] {
            let error = parse_link(bad).unwrap_err();
            assert_eq!(error.code().as_str(), "invalid_input", "{bad}");
        }
    }

    #[test]
    fn a_link_is_named_by_its_last_segment() {
        let name = |link: &str| link_file_name(&Url::parse(link).unwrap());
        assert_eq!(
            name("https://cdn.example.com/files/price%20list.pdf?x=1"),
            "price list.pdf"
        );
        assert_eq!(name("https://example.com/"), "file");
        assert_eq!(name("https://example.com/a+b.txt"), "a+b.txt");
        let hostile = name("https://example.com/..%2F..%2Fetc%2Fpasswd");
        assert!(
            !hostile.contains('/') && !hostile.starts_with('.'),
            "{hostile}"
        );
    }
}
