//! Removal budgets (octoDNS-style, per kind): a plan that takes away too
//! large a share of what okta365 governs is refused unless explicitly
//! allowed. Every destructive kind has its own budget: account disables and
//! deletes, group memberships, Team memberships, ownerships, licences and
//! guests. A budget trips when a plan removes at least `min` of a kind and
//! more than `percent` of what is governed of that kind; `--allow-removals
//! KIND=N` accepts up to N (recorded in the plan and every audit record).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::action::Op;
use super::diff::Draft;
use crate::policy::Diagnostic;
use crate::policy::types::TeamRole;

/// A kind of removal with a budget of its own.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RemovalKind {
    /// Accounts disabled or deleted.
    Accounts,
    /// Group memberships removed.
    Memberships,
    /// Team memberships removed.
    TeamMemberships,
    /// Group and Team ownerships removed.
    Owners,
    /// Direct licence assignments removed (one per SKU per user).
    Licences,
    /// Guests removed or disabled.
    Guests,
}

impl RemovalKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 6] = [
        Self::Accounts,
        Self::Memberships,
        Self::TeamMemberships,
        Self::Owners,
        Self::Licences,
        Self::Guests,
    ];

    /// The name used in config and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Memberships => "memberships",
            Self::TeamMemberships => "team_memberships",
            Self::Owners => "owners",
            Self::Licences => "licences",
            Self::Guests => "guests",
        }
    }

    /// Words for messages: "managed accounts".
    fn noun(self) -> &'static str {
        match self {
            Self::Accounts => "managed accounts",
            Self::Memberships => "managed group memberships",
            Self::TeamMemberships => "managed Team memberships",
            Self::Owners => "managed ownerships",
            Self::Licences => "direct licences of managed accounts",
            Self::Guests => "managed guests",
        }
    }
}

impl fmt::Display for RemovalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RemovalKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_lowercase().replace('-', "_");
        let found = Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || (s == "licenses" && *k == Self::Licences));
        found.ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "unknown removal kind `{s}`: use one of {}",
                names.join(", ")
            )
        })
    }
}

/// One kind's budget.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Refuse plans removing more than this share of what is governed (percent)…
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_percent: f64,
    /// …when they also remove at least this many.
    pub min: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_percent: 10.0,
            min: 10,
        }
    }
}

/// How much of each kind the plan removes, counted from its drafts.
pub fn removals(drafts: &[Draft]) -> BTreeMap<RemovalKind, usize> {
    let mut out: BTreeMap<RemovalKind, usize> = BTreeMap::new();
    let mut accounts: Vec<&str> = Vec::new();
    let mut add = |k: RemovalKind, n: usize| *out.entry(k).or_default() += n;
    for d in drafts {
        match &d.op {
            Op::DisableUser { user } | Op::DeleteUser { user }
                if !d.target.starts_with("guest ") =>
            {
                accounts.push(&user.upn)
            }
            Op::DisableUser { .. } | Op::RemoveGuest { .. } => add(RemovalKind::Guests, 1),
            Op::RemoveMember { .. } => add(RemovalKind::Memberships, 1),
            Op::RemoveTeamMember { role, .. } => {
                add(RemovalKind::TeamMemberships, 1);
                if *role == TeamRole::Owner {
                    add(RemovalKind::Owners, 1);
                }
            }
            Op::RemoveOwner { .. } => add(RemovalKind::Owners, 1),
            Op::AssignLicenses { remove, .. } if !remove.is_empty() => {
                add(RemovalKind::Licences, remove.len())
            }
            _ => {}
        }
    }
    accounts.sort_unstable();
    accounts.dedup();
    if !accounts.is_empty() {
        *out.entry(RemovalKind::Accounts).or_default() += accounts.len();
    }
    out
}

/// Refuses kinds over budget: one error per kind, naming the numbers and
/// the override. `governed` is how much of each kind okta365 governs.
pub fn check(
    removed: &BTreeMap<RemovalKind, usize>,
    governed: &BTreeMap<RemovalKind, usize>,
    budgets: &BTreeMap<RemovalKind, Budget>,
    allowed: &BTreeMap<RemovalKind, usize>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (&kind, &n) in removed {
        let of = governed.get(&kind).copied().unwrap_or(0).max(n);
        let budget = budgets.get(&kind).copied().unwrap_or_default();
        if let Some(&allowed) = allowed.get(&kind) {
            if n > allowed {
                out.push(
                    Diagnostic::error(
                        None,
                        format!("plan removes {n} {} but `--allow-removals {kind}={allowed}` allows {allowed}", kind.noun()),
                    )
                    .with_hint(format!("run again with `--allow-removals {kind}={n}` if that is intended")),
                );
            }
            continue;
        }
        let share = if of == 0 {
            100.0
        } else {
            n as f64 * 100.0 / of as f64
        };
        if n >= budget.min && share > budget.max_percent {
            out.push(
                Diagnostic::error(
                    None,
                    format!(
                        "plan removes {n} of {of} {} ({share:.0} %), over the budget of {} % (safety budget `{kind}`)",
                        kind.noun(),
                        budget.max_percent
                    ),
                )
                .with_hint(format!(
                    "review the plan (a short or failed read looks like this); if it is right, run again with `--allow-removals {kind}={n}`"
                )),
            );
        }
    }
    out
}

/// Parses `--allow-removals` values: `N` (accounts) or `KIND=N`.
pub fn parse_allowance(s: &str) -> Result<(RemovalKind, usize), String> {
    let (kind, n) = match s.split_once('=') {
        Some((k, n)) => (k.parse()?, n),
        None => (RemovalKind::Accounts, s),
    };
    let n = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: give a number, or KIND=NUMBER (e.g. `memberships=200`)"))?;
    Ok((kind, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets() -> BTreeMap<RemovalKind, Budget> {
        RemovalKind::ALL
            .iter()
            .map(|k| (*k, Budget::default()))
            .collect()
    }

    #[test]
    fn each_kind_trips_on_its_own_share_and_minimum() {
        let governed: BTreeMap<RemovalKind, usize> = [
            (RemovalKind::Memberships, 200),
            (RemovalKind::Licences, 1000),
        ]
        .into();
        // 158 of 200 memberships: refused. 12 of 1000 licences: 1.2 %, fine.
        let removed = [(RemovalKind::Memberships, 158), (RemovalKind::Licences, 12)].into();
        let errors = check(&removed, &governed, &budgets(), &BTreeMap::new());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .message
                .contains("158 of 200 managed group memberships"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("--allow-removals memberships=158")
        );
        // Under the minimum: 9 of 10 is allowed.
        let removed = [(RemovalKind::Owners, 9)].into();
        assert!(
            check(
                &removed,
                &[(RemovalKind::Owners, 10)].into(),
                &budgets(),
                &BTreeMap::new()
            )
            .is_empty()
        );
    }

    #[test]
    fn an_allowance_accepts_up_to_its_number_and_no_more() {
        let governed = [(RemovalKind::Memberships, 200)].into();
        let removed = [(RemovalKind::Memberships, 158)].into();
        let ok: BTreeMap<_, _> = [(RemovalKind::Memberships, 158)].into();
        assert!(check(&removed, &governed, &budgets(), &ok).is_empty());
        let short: BTreeMap<_, _> = [(RemovalKind::Memberships, 100)].into();
        let errors = check(&removed, &governed, &budgets(), &short);
        assert!(
            errors[0].message.contains("allows 100"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn allowances_parse_bare_numbers_as_accounts_and_name_kinds() {
        assert_eq!(parse_allowance("12"), Ok((RemovalKind::Accounts, 12)));
        assert_eq!(
            parse_allowance("memberships=200"),
            Ok((RemovalKind::Memberships, 200))
        );
        assert_eq!(
            parse_allowance("licenses=3"),
            Ok((RemovalKind::Licences, 3))
        );
        assert!(
            parse_allowance("membership=2")
                .unwrap_err()
                .contains("use one of")
        );
        assert!(
            parse_allowance("owners=many")
                .unwrap_err()
                .contains("KIND=NUMBER")
        );
    }
}
