//! Which fault, if any, a request meets. Scripted faults match a path and an
//! ordinal; random ones are drawn from a generator seeded by the emulator's
//! seed, the path and the ordinal, so they repeat run after run for a client
//! that sends the same requests in the same order on each path.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::options::{Fault, Faults};

/// Page numbers per path: the cursors of the current traversal, in order.
#[derive(Debug, Default)]
pub struct Traversals {
    cursors: std::collections::BTreeMap<String, Vec<String>>,
    hits: std::collections::BTreeMap<usize, u64>,
}

impl Traversals {
    /// The page number of a request to `path` with cursor `after`.
    pub fn page(&mut self, path: &str, after: Option<&str>) -> u64 {
        let cursors = self.cursors.entry(path.to_owned()).or_default();
        let Some(after) = after else {
            cursors.clear();
            return 1;
        };
        let index = match cursors.iter().position(|c| c == after) {
            Some(index) => index,
            None => {
                cursors.push(after.to_owned());
                cursors.len() - 1
            }
        };
        index as u64 + 2
    }

    /// The page fault for page `page` of `path`, counting its uses.
    pub fn page_fault(&mut self, faults: &Faults, path: &str, page: u64) -> Option<Fault> {
        let (index, hit) = faults
            .pages
            .iter()
            .enumerate()
            .find(|(_, f)| f.path == path && f.page == page)?;
        let used = self.hits.entry(index).or_default();
        if hit.times.is_some_and(|times| *used >= times) {
            return None;
        }
        *used += 1;
        Some(hit.fault)
    }
}

/// The fault for the `ordinal`-th (1-based) request on `path`.
pub fn decide(faults: &Faults, seed: u64, path: &str, ordinal: u64) -> Option<Fault> {
    if let Some(scripted) = faults
        .scripted
        .iter()
        .find(|f| f.path == path && f.nth == ordinal)
    {
        return Some(scripted.fault);
    }
    let total = faults.error_rate + faults.timeout_rate + faults.reset_rate;
    if total <= 0.0 {
        return None;
    }
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ fnv1a(path) ^ ordinal.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let draw: f64 = rng.random();
    if draw < faults.error_rate {
        Some(Fault::Status(if rng.random_bool(0.5) { 500 } else { 503 }))
    } else if draw < faults.error_rate + faults.timeout_rate {
        Some(Fault::Timeout)
    } else if draw < total {
        Some(Fault::Reset)
    } else {
        None
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okta::options::{PageFault, ScriptedFault};

    fn faults() -> Faults {
        Faults {
            error_rate: 0.2,
            timeout_rate: 0.05,
            reset_rate: 0.05,
            ..Faults::default()
        }
    }

    fn run(seed: u64) -> Vec<Option<Fault>> {
        (1..=200)
            .map(|n| decide(&faults(), seed, "/api/v1/users", n))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let errors = run(42)
            .iter()
            .filter(|f| matches!(f, Some(Fault::Status(_))))
            .count();
        assert!(
            (20..=60).contains(&errors),
            "{errors} errors in 200 at a 20% rate"
        );
    }

    #[test]
    fn pages_are_numbered_per_traversal_and_retries_keep_their_number() {
        let mut traversals = Traversals::default();
        let pages: Vec<u64> = [
            None,
            Some("a"),
            Some("b"),
            Some("b"),
            Some("c"),
            None,
            Some("x"),
        ]
        .into_iter()
        .map(|after| traversals.page("/api/v1/users", after))
        .collect();
        assert_eq!(pages, [1, 2, 3, 3, 4, 1, 2]);
    }

    #[test]
    fn page_faults_fail_their_page_the_given_number_of_times() {
        let faults = Faults {
            pages: vec![PageFault {
                path: "/api/v1/users".into(),
                page: 3,
                fault: Fault::Status(500),
                times: Some(2),
            }],
            ..Faults::default()
        };
        let mut traversals = Traversals::default();
        let hits: Vec<_> = (0..3)
            .map(|_| traversals.page_fault(&faults, "/api/v1/users", 3))
            .collect();
        assert_eq!(
            hits,
            [Some(Fault::Status(500)), Some(Fault::Status(500)), None]
        );
        assert_eq!(traversals.page_fault(&faults, "/api/v1/users", 2), None);
    }

    #[test]
    fn scripted_faults_hit_only_their_request() {
        let faults = Faults {
            scripted: vec![ScriptedFault {
                path: "/api/v1/users".into(),
                nth: 3,
                fault: Fault::Status(500),
            }],
            ..Faults::default()
        };
        let hits: Vec<_> = (1..=5)
            .map(|n| decide(&faults, 0, "/api/v1/users", n))
            .collect();
        assert_eq!(hits, [None, None, Some(Fault::Status(500)), None, None]);
        assert_eq!(decide(&faults, 0, "/api/v1/groups", 3), None);
    }
}
