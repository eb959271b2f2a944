//! Token storage: the OS keyring in production, an in-memory store for benchmarks and unit tests.
//!
//! A token lives in memory only inside [`Secret`], whose `Debug` prints `<redacted>` and which cannot be
//! serialized, so it cannot reach a log line, an error message or a JSON answer by accident.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{CoreError, Result};

/// The keyring service name under which every Parley account's token is stored.
pub const KEYRING_SERVICE: &str = "parley";

/// A secret string (an API token). Deliberately neither `Display` nor `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret, trimming the line break a pasted or piped token usually carries.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().trim().to_string())
    }

    /// The secret's text, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when nothing is left after trimming.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where account tokens are kept. Implementations are blocking; the core calls them off the async runtime.
pub trait SecretStore: Send + Sync + 'static {
    /// Stores (or replaces) the secret under `key`.
    fn set(&self, key: &str, secret: &Secret) -> Result<()>;
    /// Reads the secret under `key`; `Ok(None)` when there is no such entry.
    fn get(&self, key: &str) -> Result<Option<Secret>>;
    /// Removes the secret under `key`; removing a missing entry is not an error.
    fn delete(&self, key: &str) -> Result<()>;
}

/// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyringStore;

impl KeyringStore {
    fn entry(key: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(KEYRING_SERVICE, key).map_err(map_keyring_error)
    }
}

impl SecretStore for KeyringStore {
    fn set(&self, key: &str, secret: &Secret) -> Result<()> {
        Self::entry(key)?
            .set_password(secret.expose())
            .map_err(map_keyring_error)
    }

    fn get(&self, key: &str) -> Result<Option<Secret>> {
        match Self::entry(key)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(other) => Err(map_keyring_error(other)),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        match Self::entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(other) => Err(map_keyring_error(other)),
        }
    }
}

/// Turns a keyring failure into a clear error. The keyring's messages never carry the secret.
fn map_keyring_error(error: keyring::Error) -> CoreError {
    match error {
        keyring::Error::BadEncoding(_) => {
            CoreError::InvalidInput("the stored token is not valid text".to_string())
        }
        keyring::Error::TooLong(what, limit) => CoreError::InvalidInput(format!(
            "{what} is longer than the keyring allows ({limit})"
        )),
        keyring::Error::Invalid(what, why) => CoreError::InvalidInput(format!("{what}: {why}")),
        other => CoreError::KeyringUnavailable(other.to_string()),
    }
}

/// Keeps secrets in process memory only; for benchmarks and tests that must not need a keyring daemon.
#[derive(Debug, Default)]
pub struct MemorySecretStore {
    entries: Mutex<HashMap<String, Secret>>,
}

impl SecretStore for MemorySecretStore {
    fn set(&self, key: &str, secret: &Secret) -> Result<()> {
        self.lock().insert(key.to_string(), secret.clone());
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<Secret>> {
        Ok(self.lock().get(key).cloned())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }
}

impl MemorySecretStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Secret>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = Secret::new("tok-123456\n");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "tok-123456");
    }

    #[test]
    fn memory_store_round_trip() {
        let store = MemorySecretStore::default();
        store.set("a", &Secret::new("x")).unwrap();
        assert_eq!(store.get("a").unwrap(), Some(Secret::new("x")));
        store.delete("a").unwrap();
        assert_eq!(store.get("a").unwrap(), None);
    }
}
