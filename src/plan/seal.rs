//! A plan's seal: the digest of what apply would do (the inputs'
//! fingerprint, the time, the choices and every action), and the first
//! difference between two plans' actions.
//!
//! The digest tells an edited plan file from the one `plan --out` wrote; it
//! is not a signature (anyone can recompute it). What makes an edited plan
//! harmless is that `apply` recomputes the plan from the current inputs and
//! applies only when the actions are identical, showing the first difference
//! otherwise ([`first_difference`]).

use serde_json::Value;

use super::{Action, Plan};

impl Plan {
    /// The digest of this plan's fingerprint, time, choices and actions.
    pub fn compute_digest(&self) -> String {
        let choices = (
            &self.now,
            &self.targets,
            &self.allowed_removals,
            self.accepted_read_drop,
        );
        super::fingerprint::fingerprint(
            &"okta365 plan actions",
            &self.fingerprint,
            &choices,
            &self.actions,
        )
    }

    /// Sets [`Plan::digest`] (after the fingerprint or the choices change).
    pub fn seal(&mut self) {
        self.digest = self.compute_digest();
    }

    /// Whether the digest still matches the content.
    pub fn digest_matches(&self) -> bool {
        self.digest == self.compute_digest()
    }
}

/// The first difference between the actions of a saved plan and those the
/// current inputs call for, in words: `None` when they are identical.
pub fn first_difference(saved: &[Action], fresh: &[Action]) -> Option<String> {
    for (i, (s, f)) in saved.iter().zip(fresh).enumerate() {
        if s == f {
            continue;
        }
        let sv = serde_json::to_value(s).unwrap_or(Value::Null);
        let fv = serde_json::to_value(f).unwrap_or(Value::Null);
        let (path, was, now) = first_json_difference(&sv, &fv, String::new())
            .unwrap_or_else(|| (String::new(), sv.clone(), fv.clone()));
        return Some(format!(
            "action {i} (`{} {}`) differs at `{path}`: the saved plan has {}, the current inputs call for {}",
            f.kind.short(),
            f.target,
            shown(&was),
            shown(&now)
        ));
    }
    match saved.len().cmp(&fresh.len()) {
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => {
            let extra = &saved[fresh.len()];
            Some(format!(
                "the saved plan has {} more action(s) than the current inputs call for, the first being action {} (`{} {}`)",
                saved.len() - fresh.len(),
                extra.id,
                extra.kind.short(),
                extra.target
            ))
        }
        std::cmp::Ordering::Less => {
            let missing = &fresh[saved.len()];
            Some(format!(
                "the current inputs call for {} more action(s) than the saved plan has, the first being action {} (`{} {}`)",
                fresh.len() - saved.len(),
                missing.id,
                missing.kind.short(),
                missing.target
            ))
        }
    }
}

/// The JSON pointer, old and new value of the first place `a` and `b` differ.
fn first_json_difference(a: &Value, b: &Value, path: String) -> Option<(String, Value, Value)> {
    match (a, b) {
        _ if a == b => None,
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (va, vb) = (
                    x.get(k).cloned().unwrap_or(Value::Null),
                    y.get(k).cloned().unwrap_or(Value::Null),
                );
                first_json_difference(&va, &vb, format!("{path}/{k}"))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_json_difference(va, vb, format!("{path}/{i}"))),
        _ => Some((
            if path.is_empty() { "/".into() } else { path },
            a.clone(),
            b.clone(),
        )),
    }
}

/// A JSON value for a message, cut to a readable length.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    crate::policy::diagnostic::truncate(&text, 120)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::{Op, UserRef};
    use crate::plan::{FORMAT_VERSION, Summary};

    fn disable(id: &str, upn: &str) -> Action {
        Action {
            id: 0,
            kind: crate::plan::ActionKind::DisableUser,
            target: format!("user {upn}"),
            changes: vec![],
            reasons: vec![],
            depends_on: vec![],
            op: Op::DisableUser {
                user: UserRef {
                    id: Some(id.into()),
                    upn: upn.into(),
                    okta_id: Some("00u1".into()),
                },
            },
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            fingerprint: "sha256:f".into(),
            digest: String::new(),
            now: "2026-12-07T00:00:00Z".into(),
            targets: vec![],
            refused: vec![],
            accepted_read_drop: false,
            summary: Summary::default(),
            allowed_removals: Default::default(),
            licenses: vec![],
            actions,
            manual_steps: vec![],
            unmanaged: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn any_edit_of_an_action_or_choice_breaks_the_digest() {
        let mut p = plan(vec![disable("u-1", "ann@x")]);
        p.seal();
        assert!(p.digest_matches() && p.digest.starts_with("sha256:"));
        let mut edited = p.clone();
        edited.actions[0] = disable("u-breakglass", "ann@x");
        assert!(!edited.digest_matches());
        let mut edited = p.clone();
        edited
            .allowed_removals
            .insert(crate::plan::budget::RemovalKind::Accounts, 500);
        assert!(!edited.digest_matches());
        let mut edited = p.clone();
        edited.now = "2027-12-01T00:00:00Z".into();
        assert!(!edited.digest_matches());
    }

    #[test]
    fn the_first_difference_names_the_action_and_the_field() {
        let saved = vec![disable("u-breakglass", "ann@x")];
        let fresh = vec![disable("u-1", "ann@x")];
        let d = first_difference(&saved, &fresh).unwrap();
        assert!(d.contains("action 0 (`disable user ann@x`)"), "{d}");
        assert!(d.contains("`/op/user/id`"), "{d}");
        assert!(
            d.contains("\"u-breakglass\"") && d.contains("\"u-1\""),
            "{d}"
        );
        assert_eq!(first_difference(&fresh, &fresh), None);
        let d = first_difference(&[], &fresh).unwrap();
        assert!(d.contains("1 more action(s) than the saved plan"), "{d}");
    }
}
