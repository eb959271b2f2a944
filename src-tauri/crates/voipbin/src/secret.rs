//! Credentials and the wrapper that keeps secrets out of `Debug` output, logs and errors.

use std::fmt;

/// A secret string (access key, password or JWT). `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is sent to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

/// How the client proves who it is.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// A long-lived access key, sent only as the `?accesskey=` query parameter.
    AccessKey(Secret),
    /// An agent's username and password, exchanged at `/auth/login` for a 7-day JWT
    /// that is sent as `Authorization: Bearer`.
    Password {
        /// The agent's username (usually an email address).
        username: String,
        /// The agent's password.
        password: Secret,
    },
}

impl Credentials {
    /// Access-key credentials.
    pub fn access_key(key: impl Into<String>) -> Self {
        Self::AccessKey(Secret::new(key))
    }

    /// Username and password credentials.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Password {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// The secret values these credentials carry, for scrubbing text before it is shown.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            Self::AccessKey(key) => vec![key.expose()],
            Self::Password { password, .. } => vec![password.expose()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key = Credentials::access_key("vb_top_secret");
        let login = Credentials::password("agent@example.com", "hunter2");
        let printed = format!("{key:?} {login:?} {}", Secret::new("x1"));
        assert!(!printed.contains("vb_top_secret"));
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("x1"));
        assert!(printed.contains("<redacted>"));
        assert!(printed.contains("agent@example.com"));
    }
}
