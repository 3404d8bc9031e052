//! The fingerprint of a plan's inputs: a SHA-256 over the policy texts, both
//! states and the settings (not the clock). `apply plan.json` recomputes it and
//! refuses a plan whose inputs have changed since, like terraform.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Hashes the inputs. Each part is serialised to JSON (maps are ordered), so
/// the same inputs give the same fingerprint on any machine; each part is
/// followed by its length in bytes, which keeps the parts apart (read from
/// the end, the lengths split the hashed bytes back into the parts).
///
/// The JSON is streamed into the hash in one pass, never held in memory.
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
    let mut sink = Hashing { hasher, len: 0 };
    // serde_json writes token by token: hash 64 KiB at a time instead.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut sink);
    serde_json::to_writer(&mut buffered, value).expect("inputs serialise");
    std::io::Write::flush(&mut buffered).expect("hashing cannot fail");
    drop(buffered);
    let len = sink.len;
    hasher.update(len.to_le_bytes());
}

/// A sink that feeds the hash and counts the bytes.
struct Hashing<'a> {
    hasher: &'a mut Sha256,
    len: u64,
}

impl std::io::Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.len += buf.len() as u64;
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
        // The streamed hash is the hash of the JSON texts, each followed by its length.
        let mut expected = Sha256::new();
        for text in [r#"["p"]"#, "[1]", "[2]", r#""s""#] {
            expected.update(text.as_bytes());
            expected.update((text.len() as u64).to_le_bytes());
        }
        let hex: String = expected
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(a, format!("sha256:{hex}"));
    }
}
