//! The API token wrapper both Pact clients take: keeps the secret out of `Debug`, `Display` and
//! serialisation.

use std::fmt;

/// A private API token (Pact's, for p1 and p2 alike).
///
/// `Debug` and `Display` print `<redacted>`; the type deliberately does not implement
/// `Serialize`. The clients send it in the `X-Private-Api-Token` header and nowhere else (never
/// in a URL, a body or a log line).
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a raw token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The raw token. Never log or display the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_secret() {
        let token = ApiToken::new("sekret-123");
        assert_eq!(format!("{token:?}"), "<redacted>");
        assert_eq!(format!("{token}"), "<redacted>");
        assert_eq!(token.clone().expose(), "sekret-123");
    }
}
