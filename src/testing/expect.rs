//! What a user actually ends up with in a case, and how it compares with
//! what the test expects: each difference becomes a [`Mismatch`], shown as a
//! line diff (`-` expected, `+` actual).

use std::collections::{BTreeMap, BTreeSet};

use super::spec::{AccountOutcome, Expectation, SetCheck, TeamsCheck};
use crate::compile::DesiredState;
use crate::model::OktaUserId;
use crate::model::state::{LiveState, SourceState};
use crate::plan::{Plan, PlanSettings};
use crate::policy::types::TeamRole;

/// A user's outcome, in the terms of test files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Actual {
    /// The account state.
    pub account: Option<AccountOutcome>,
    /// SKU → disabled service plans.
    pub licenses: BTreeMap<String, BTreeSet<String>>,
    /// Memberships of groups without a Team.
    pub groups: BTreeSet<String>,
    /// Team → role.
    pub teams: BTreeMap<String, TeamRole>,
    /// Graph property → value.
    pub attributes: BTreeMap<String, String>,
    /// The manager's Okta login.
    pub manager: Option<String>,
    /// The plan's actions for this user, as `apply` lists them.
    pub plan: Vec<String>,
}

impl Actual {
    /// What `id` ends up with in `desired` (and `plan`, when there is one).
    pub fn of(
        id: &OktaUserId,
        source: &SourceState,
        desired: &DesiredState,
        live: &LiveState,
        settings: &PlanSettings,
        plan: Option<&Plan>,
    ) -> Self {
        let mut actual = Self::default();
        // The names the plan knows the user by: the desired UPN, the guest
        // mail, and any account marked with the Okta id.
        let mut keys: BTreeSet<String> = BTreeSet::new();
        if let Some(user) = desired.users.get(id) {
            actual.account = Some(if user.enabled.value {
                AccountOutcome::Enabled
            } else {
                AccountOutcome::Disabled
            });
            actual.licenses = user
                .licenses
                .iter()
                .map(|(sku, plans)| (sku.to_owned(), plans.value.clone()))
                .collect();
            actual.attributes = user
                .attributes
                .iter()
                .map(|(k, v)| (k.to_owned(), v.value.to_string()))
                .collect();
            actual.manager = user.manager.as_ref().map(|m| {
                source
                    .users
                    .iter()
                    .find(|u| u.id == m.value)
                    .and_then(|u| u.login())
                    .unwrap_or_else(|| m.value.to_string())
            });
            keys.extend(user.upn().map(str::to_lowercase));
        } else if let Some(guest) = desired.guests.get(id) {
            actual.account = Some(AccountOutcome::Guest);
            keys.insert(guest.mail.to_lowercase());
        } else if desired.leavers.contains_key(id) {
            actual.account = Some(AccountOutcome::Offboarded);
        } else {
            actual.account = Some(AccountOutcome::None);
        }
        for group in desired.groups.values() {
            if let Some(role) = group.members.get(id) {
                if group.team {
                    actual.teams.insert(group.mail_nickname.clone(), role.value);
                } else {
                    actual.groups.insert(group.mail_nickname.clone());
                }
            }
        }
        for user in &live.users {
            if settings.okta_id_attribute.get_str(user) == Some(id.as_str()) {
                keys.insert(user.user_principal_name.to_lowercase());
            }
        }
        if let Some(plan) = plan {
            actual.plan = plan
                .actions
                .iter()
                .filter(|a| {
                    a.op.user_key()
                        .is_some_and(|k| keys.contains(&k.to_lowercase()))
                })
                .map(|a| format!("{} {} ({})", a.kind.symbol(), a.target, a.kind.short()))
                .collect();
        }
        actual
    }
}

/// One field that differs from what the test expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The field (`licenses`, `attributes`, …).
    pub field: String,
    /// Expected lines (for exact checks).
    pub expected: Vec<String>,
    /// Actual lines.
    pub actual: Vec<String>,
    /// For partial checks: what is missing and what should not be there;
    /// for other findings, a sentence.
    pub note: Option<Note>,
}

/// What a partial check found, or a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Names missing and names that should not be there.
    Partial {
        /// Wanted, not there.
        missing: Vec<String>,
        /// There, not wanted.
        unwanted: Vec<String>,
    },
    /// Words.
    Text(String),
}

impl Mismatch {
    /// The field and a line diff: `-` expected, `+` actual, two spaces both.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match &self.note {
            Some(Note::Text(text)) => {
                out.push_str(&format!("{}: {text}\n", self.field));
                if !self.actual.is_empty() {
                    out.push_str(&format!("  has: {}\n", list(&self.actual)));
                }
            }
            Some(Note::Partial { missing, unwanted }) => {
                out.push_str(&format!("{}:\n", self.field));
                for m in missing {
                    out.push_str(&format!("  missing:         {m}\n"));
                }
                for u in unwanted {
                    out.push_str(&format!("  should not have: {u}\n"));
                }
                if self.actual.is_empty() {
                    out.push_str("  has:             (nothing)\n");
                }
                for a in &self.actual {
                    out.push_str(&format!("  has:             {a}\n"));
                }
            }
            None => {
                out.push_str(&format!("{} (- expected, + actual):\n", self.field));
                let expected: Vec<&str> = self.expected.iter().map(String::as_str).collect();
                let actual: Vec<&str> = self.actual.iter().map(String::as_str).collect();
                let diff = similar::TextDiff::from_slices(&expected, &actual);
                for change in diff.iter_all_changes() {
                    let sign = match change.tag() {
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                        similar::ChangeTag::Equal => ' ',
                    };
                    out.push_str(&format!("  {sign} {}\n", change.value()));
                }
            }
        }
        out.trim_end().to_owned()
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(nothing)".into()
    } else {
        items.join(", ")
    }
}

/// Compares each field the expectation names. `planned` says whether the
/// plan could be built (a refused plan has no actions to compare).
pub fn check(expectation: &Expectation, actual: &Actual, planned: bool) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(want) = expectation.account {
        let got = actual.account.unwrap_or(AccountOutcome::None);
        if want != got {
            out.push(exact(
                "account",
                [want.as_str().to_owned()],
                [got.as_str().to_owned()],
            ));
        }
    }
    if let Some(want) = &expectation.licenses {
        out.extend(set("licenses", want, actual.licenses.keys().cloned()));
    }
    if let Some(want) = &expectation.disabled_plans {
        for (sku, plans) in want {
            let expected: BTreeSet<String> = plans.iter().cloned().collect();
            match actual.licenses.get(sku) {
                Some(got) if *got == expected => {}
                Some(got) => out.push(exact(
                    &format!("disabled_plans.{sku}"),
                    expected,
                    got.iter().cloned(),
                )),
                None => out.push(Mismatch {
                    field: format!("disabled_plans.{sku}"),
                    expected: Vec::new(),
                    actual: actual.licenses.keys().cloned().collect(),
                    note: Some(Note::Text(format!("the user gets no `{sku}` licence"))),
                }),
            }
        }
    }
    if let Some(want) = &expectation.groups {
        out.extend(set("groups", want, actual.groups.iter().cloned()));
    }
    match &expectation.teams {
        Some(TeamsCheck::Roles(want)) => {
            let line = |(t, r): (&String, &TeamRole)| format!("{t}: {}", role(*r));
            let expected: Vec<String> = want.iter().map(line).collect();
            let got: Vec<String> = actual.teams.iter().map(line).collect();
            if expected != got {
                out.push(exact("teams", expected, got));
            }
        }
        Some(TeamsCheck::Names(want)) => {
            out.extend(set("teams", want, actual.teams.keys().cloned()));
        }
        None => {}
    }
    if let Some(want) = &expectation.attributes {
        let expected: Vec<String> = want
            .iter()
            .map(|(k, v)| attribute_line(k, v.as_deref()))
            .collect();
        let got: Vec<String> = want
            .keys()
            .map(|k| attribute_line(k, actual.attributes.get(k).map(String::as_str)))
            .collect();
        if expected != got {
            out.push(exact("attributes", expected, got));
        }
    }
    if let Some(want) = &expectation.manager {
        let got = actual.manager.clone().unwrap_or_else(|| "(none)".into());
        if !want.eq_ignore_ascii_case(&got) {
            out.push(exact("manager", [want.clone()], [got]));
        }
    }
    if let Some(want) = &expectation.plan {
        if planned {
            out.extend(set("plan", want, actual.plan.iter().cloned()));
        } else {
            out.push(Mismatch {
                field: "plan".into(),
                expected: Vec::new(),
                actual: Vec::new(),
                note: Some(Note::Text(
                    "there is no plan to compare: it was refused (see the errors)".into(),
                )),
            });
        }
    }
    out
}

fn role(r: TeamRole) -> &'static str {
    match r {
        TeamRole::Member => "member",
        TeamRole::Owner => "owner",
    }
}

fn attribute_line(name: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{name}: {v:?}"),
        None => format!("{name}: (not set)"),
    }
}

fn exact(
    field: &str,
    expected: impl IntoIterator<Item = String>,
    actual: impl IntoIterator<Item = String>,
) -> Mismatch {
    Mismatch {
        field: field.to_owned(),
        expected: expected.into_iter().collect(),
        actual: actual.into_iter().collect(),
        note: None,
    }
}

/// Compares a set of names, case-insensitively, ignoring order.
fn set(field: &str, want: &SetCheck, actual: impl Iterator<Item = String>) -> Option<Mismatch> {
    let mut got: Vec<String> = actual.collect();
    got.sort_by_key(|s| s.to_lowercase());
    let has = |name: &str| got.iter().any(|g| g.eq_ignore_ascii_case(name));
    match want {
        SetCheck::Exactly(names) => {
            let mut expected = names.clone();
            expected.sort_by_key(|s| s.to_lowercase());
            let same = expected.len() == got.len()
                && expected
                    .iter()
                    .zip(&got)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b));
            (!same).then(|| exact(field, expected, got.clone()))
        }
        SetCheck::Partial(p) => {
            let missing: Vec<String> = p.includes.iter().filter(|n| !has(n)).cloned().collect();
            let unwanted: Vec<String> = p.excludes.iter().filter(|n| has(n)).cloned().collect();
            if missing.is_empty() && unwanted.is_empty() {
                return None;
            }
            Some(Mismatch {
                field: field.to_owned(),
                expected: p.includes.clone(),
                actual: got,
                note: Some(Note::Partial { missing, unwanted }),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spec::PartialSet;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exact_sets_ignore_order_and_case_and_diff_otherwise() {
        let want = SetCheck::Exactly(names(&["SPE_E3", "power_bi_pro"]));
        assert!(
            set(
                "licenses",
                &want,
                names(&["POWER_BI_PRO", "SPE_E3"]).into_iter()
            )
            .is_none()
        );
        let m = set("licenses", &want, names(&["SPE_E3"]).into_iter()).unwrap();
        assert_eq!(
            m.render(),
            "licenses (- expected, + actual):\n  - power_bi_pro\n    SPE_E3"
        );
    }

    #[test]
    fn partial_sets_name_what_is_missing_and_what_should_not_be_there() {
        let want = SetCheck::Partial(PartialSet {
            includes: names(&["all-staff", "finance"]),
            excludes: names(&["sales"]),
        });
        let m = set("groups", &want, names(&["all-staff", "sales"]).into_iter()).unwrap();
        assert_eq!(
            m.render(),
            "groups:\n  missing:         finance\n  should not have: sales\n  has:             all-staff\n  has:             sales"
        );
        let ok = names(&["all-staff", "finance", "marketing"]);
        assert!(set("groups", &want, ok.into_iter()).is_none());
    }

    #[test]
    fn only_the_attributes_named_are_compared() {
        let actual = Actual {
            attributes: [
                ("department".into(), "Sales".into()),
                ("jobTitle".into(), "AE".into()),
            ]
            .into(),
            ..Actual::default()
        };
        let expectation = Expectation {
            user: "a@x".into(),
            attributes: Some([("department".to_owned(), Some("Sales".to_owned()))].into()),
            ..Expectation::default()
        };
        assert!(check(&expectation, &actual, false).is_empty());
        let expectation = Expectation {
            attributes: Some([("usageLocation".to_owned(), Some("DE".to_owned()))].into()),
            ..expectation
        };
        let m = check(&expectation, &actual, false);
        assert_eq!(
            m[0].render(),
            "attributes (- expected, + actual):\n  - usageLocation: \"DE\"\n  + usageLocation: (not set)"
        );
    }
}
