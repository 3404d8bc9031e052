//! The clock, read at the edge only (the core takes the time as an input).
//!
//! `apply` trusts this clock, not a flag: a `--now` far from it, or a saved
//! plan made for another time, is refused (`docs/safety.md`). The tests of
//! the bundled example need it to read 2026-11-20, so in debug builds only
//! (`cargo test`), `OKTA365_TEST_NOW=<RFC 3339>` sets what the clock reads at
//! start; it then runs on from there. Release builds ignore the variable.

use std::sync::OnceLock;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

/// The variable a debug build reads its start time from (tests only).
pub const TEST_NOW_VAR: &str = "OKTA365_TEST_NOW";

/// How far `apply --now` may be from the clock, and how far in the future a
/// saved plan may have been made (clocks of two CI runners drift a little).
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// The current time.
pub fn now() -> Timestamp {
    match test_start() {
        Some((at, started)) => at
            .checked_add(SignedDuration::try_from(started.elapsed()).unwrap_or_default())
            .unwrap_or(at),
        None => Timestamp::now(),
    }
}

/// The test clock's start, when a debug build was given one.
fn test_start() -> Option<(Timestamp, Instant)> {
    static START: OnceLock<Option<(Timestamp, Instant)>> = OnceLock::new();
    *START.get_or_init(|| {
        if !cfg!(debug_assertions) {
            return None;
        }
        let at = std::env::var(TEST_NOW_VAR)
            .ok()?
            .parse::<Timestamp>()
            .ok()?;
        Some((at, Instant::now()))
    })
}

/// Refuses a `--now` for `apply` more than [`MAX_SKEW`] away from the clock.
pub fn check_apply_now(requested: Timestamp, clock: Timestamp) -> Result<(), String> {
    let clock = seconds(clock);
    let apart = requested.duration_since(clock);
    if apart.abs() <= MAX_SKEW {
        return Ok(());
    }
    Err(format!(
        "`apply --now {requested}` is {} from this machine's clock ({clock}); apply acts at the real time, so offboarding stages and grace periods cannot be moved; nothing was changed\n  \
         hint: drop `--now` (use `plan --now` for previews), or fix the machine's clock",
        describe(apart)
    ))
}

/// Refuses a saved plan made for a time in the future, or longer ago than `max_age`.
pub fn check_plan_age(
    made_for: Timestamp,
    clock: Timestamp,
    max_age: SignedDuration,
    shown: &str,
) -> Result<(), String> {
    let clock = seconds(clock);
    let age = clock.duration_since(made_for);
    if age < -MAX_SKEW {
        return Err(format!(
            "the saved plan {shown} was made for {made_for}, {} in the future of this machine's clock ({clock}); nothing was changed\n  \
             hint: a plan to apply is made without `--now` (or with the current time): run `okta365 plan --out {shown}` again",
            describe(-age)
        ));
    }
    if age > max_age {
        return Err(format!(
            "the saved plan {shown} was made for {made_for}, {} ago, older than `safety.max_plan_age` ({}); nothing was changed\n  \
             hint: make a fresh plan with `okta365 plan --out {shown}` and review it",
            describe(age),
            describe(max_age)
        ));
    }
    Ok(())
}

/// The clock to the second, for messages.
fn seconds(t: Timestamp) -> Timestamp {
    t.round(jiff::Unit::Second).unwrap_or(t)
}

/// `3 d 4 h`, `17 min`: a duration for people.
pub fn describe(d: SignedDuration) -> String {
    // To the nearest minute past a minute: `1 d 23 h 59 min 59.9 s` reads `2 d`.
    let secs = d.as_secs().unsigned_abs() + u64::from(d.subsec_nanos() != 0);
    let secs = if secs >= 60 {
        (secs + 30) / 60 * 60
    } else {
        secs
    };
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn apply_now_must_be_within_minutes_of_the_clock() {
        let clock = t("2026-12-07T12:00:00Z");
        assert!(check_apply_now(t("2026-12-07T12:04:00Z"), clock).is_ok());
        assert!(check_apply_now(t("2026-12-07T11:56:00Z"), clock).is_ok());
        let e = check_apply_now(t("2027-12-01T00:00:00Z"), clock).unwrap_err();
        assert!(e.contains("358 d 12 h from this machine's clock"), "{e}");
        assert!(check_apply_now(t("2026-12-07T11:54:00Z"), clock).is_err());
    }

    #[test]
    fn saved_plans_are_refused_from_the_future_or_when_too_old() {
        let clock = t("2026-12-07T12:00:00Z");
        let day = SignedDuration::from_hours(24);
        assert!(check_plan_age(t("2026-12-07T11:00:00Z"), clock, day, "p").is_ok());
        assert!(check_plan_age(t("2026-12-07T12:03:00Z"), clock, day, "p").is_ok());
        let e = check_plan_age(t("2026-12-08T12:00:00Z"), clock, day, "p").unwrap_err();
        assert!(e.contains("1 d in the future"), "{e}");
        let e = check_plan_age(t("2026-11-20T00:00:00Z"), clock, day, "p").unwrap_err();
        assert!(e.contains("17 d 12 h ago"), "{e}");
        assert!(e.contains("`safety.max_plan_age` (1 d)"), "{e}");
    }
}
