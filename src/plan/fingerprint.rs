//! The fingerprint of a plan's inputs: a SHA-256 over the policy texts, both
//! states and the settings (not the clock). `apply plan.json` recomputes it and
//! refuses a plan whose inputs have changed since, like terraform.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Hashes the inputs. Each part is serialised to JSON (maps are ordered), so
/// the same inputs give the same fingerprint on any machine; each part is
/// preceded by its length in bytes.
///
/// The JSON is streamed into the hash, never held in memory: one pass
/// counts the bytes (the length comes first), a second one hashes them.
pub fn fingerprint<P: Serialize, S: Serialize, L: Serialize, T: Serialize>(
    policies: &P,
    source: &S,
    live: &L,
    settings: &T,
) -> String {
    let mut hasher = Sha256::new();
    add(&mut hasher, policies);
    add(&mut hasher, source);
    add(&mut hasher, live);
    add(&mut hasher, settings);
    let digest = hasher.finalize();
    let mut out = String::from("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn add<T: Serialize>(hasher: &mut Sha256, value: &T) {
    let mut counted = Counter(0);
    serde_json::to_writer(&mut counted, value).expect("inputs serialise");
    hasher.update(counted.0.to_le_bytes());
    serde_json::to_writer(Hashing(hasher), value).expect("inputs serialise");
}

/// A sink that only counts bytes.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that feeds the hash.
struct Hashing<'a>(&'a mut Sha256);

impl std::io::Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_fingerprint_and_any_change_shows() {
        let a = fingerprint(&["p"], &[1], &[2], &"s");
        assert_eq!(a, fingerprint(&["p"], &[1], &[2], &"s"));
        assert_ne!(a, fingerprint(&["p"], &[1], &[3], &"s"));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        // The streamed hash is the hash of length-prefixed JSON texts.
        let mut expected = Sha256::new();
        for text in [r#"["p"]"#, "[1]", "[2]", r#""s""#] {
            expected.update((text.len() as u64).to_le_bytes());
            expected.update(text.as_bytes());
        }
        let hex: String = expected
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(a, format!("sha256:{hex}"));
    }
}
