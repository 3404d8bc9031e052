//! Secrets (API tokens, client secrets, private keys) are read from an
//! environment variable or a file named in the config, never from policies,
//! and are held in a type whose `Debug` and `Display` print `[redacted]`.

use std::fmt;

pub use secrecy::ExposeSecret;
use secrecy::SecretString;

/// A secret value. Formatting it never shows the value.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Reads a secret from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, SecretError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Self::new(v.trim().to_owned())),
            _ => Err(SecretError::MissingEnv(var.to_owned())),
        }
    }

    /// Reads a secret from a file (trailing newline removed).
    pub fn from_file(path: &std::path::Path) -> Result<Self, SecretError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SecretError::File(path.display().to_string(), e.kind().to_string()))?;
        Ok(Self::new(text.trim_end_matches(['\r', '\n']).to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a secret could not be read. Never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The variable is unset or empty.
    #[error("environment variable `{0}` is not set: export it, or name a file instead")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("cannot read secret file `{0}`: {1}")]
    File(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }
}
