//! The lockdown breaker's rule: at most `max_lockdowns` accounts locked in
//! any window; the lockdown that would exceed it trips the breaker, and
//! while it is tripped nothing is locked until a person resets it. A burst
//! of lockdowns is more often a misconfigured rule or a compromised admin in
//! Okta than a real incident of that size.

use super::BreakerSettings;

/// How many of `wanted` new lockdowns may run now, given `recent` lockdowns
/// in the window and whether the breaker is already `tripped`; and whether
/// this decision trips it.
pub fn admit(settings: &BreakerSettings, tripped: bool, recent: usize, wanted: usize) -> Admission {
    if tripped {
        return Admission {
            allowed: 0,
            trips: false,
        };
    }
    let room = settings.max_lockdowns.saturating_sub(recent);
    let allowed = wanted.min(room);
    Admission {
        allowed,
        trips: wanted > allowed,
    }
}

/// A breaker decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    /// Lockdowns that may run, the first ones in order.
    pub allowed: usize,
    /// Whether the breaker trips now (the rest are held).
    pub trips: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockdown_past_the_limit_trips_and_a_tripped_breaker_holds_all() {
        let s = BreakerSettings {
            max_lockdowns: 3,
            window_minutes: 10,
        };
        assert_eq!(
            admit(&s, false, 0, 2),
            Admission {
                allowed: 2,
                trips: false
            }
        );
        assert_eq!(
            admit(&s, false, 2, 1),
            Admission {
                allowed: 1,
                trips: false
            }
        );
        assert_eq!(
            admit(&s, false, 2, 5),
            Admission {
                allowed: 1,
                trips: true
            }
        );
        assert_eq!(
            admit(&s, false, 3, 1),
            Admission {
                allowed: 0,
                trips: true
            }
        );
        assert_eq!(
            admit(&s, true, 0, 1),
            Admission {
                allowed: 0,
                trips: false
            }
        );
        assert_eq!(
            admit(&s, false, 9, 0),
            Admission {
                allowed: 0,
                trips: false
            }
        );
    }
}
