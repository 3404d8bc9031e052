//! The fingerprint of a plan's inputs: a SHA-256 over the policy texts, both
//! states and the settings (not the clock). `apply plan.json` recomputes it and
//! refuses a plan whose inputs have changed since, like terraform.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Hashes the inputs. Each part is serialised to JSON (maps are ordered), so
/// the same inputs give the same fingerprint on any machine.
pub fn fingerprint<P: Serialize, S: Serialize, L: Serialize, T: Serialize>(
    policies: &P,
    source: &S,
    live: &L,
    settings: &T,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        serde_json::to_vec(policies),
        serde_json::to_vec(source),
        serde_json::to_vec(live),
        serde_json::to_vec(settings),
    ] {
        let bytes = part.expect("inputs serialise");
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest = hasher.finalize();
    let mut out = String::from("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
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
    }
}
