//! Checks on the Teams a plan creates.

use std::collections::BTreeSet;

use super::action::Op;
use super::diff::Draft;
use crate::model::state::LiveState;
use crate::policy::Diagnostic;
use crate::policy::types::TeamRole;

/// Holds back each Team the plan would create on a group with no owner (now
/// or planned): Graph refuses to create a Team there. The group and its
/// members are still planned; the Team follows in a later plan, once the
/// group has an owner. One warning per Team held back.
pub fn hold_back_ownerless(drafts: &mut Vec<Draft>, live: &LiveState) -> Vec<Diagnostic> {
    let planned_owners: BTreeSet<String> = drafts
        .iter()
        .filter_map(|d| match &d.op {
            Op::AddTeamMember {
                group,
                role: TeamRole::Owner,
                ..
            } => Some(group.mail_nickname.to_lowercase()),
            _ => None,
        })
        .collect();
    let ownerless = |d: &Draft| match &d.op {
        Op::CreateTeam { group } => {
            let owned_now = group
                .id
                .as_ref()
                .and_then(|id| live.owners.get(id))
                .is_some_and(|o| !o.is_empty());
            !owned_now && !planned_owners.contains(&group.mail_nickname.to_lowercase())
        }
        _ => false,
    };
    let mut warnings = Vec::new();
    drafts.retain(|d| {
        if !ownerless(d) {
            return true;
        }
        let Op::CreateTeam { group } = &d.op else {
            return true;
        };
        {
            let rule = d
                .reasons
                .first()
                .map(|r| format!(" (wanted by {}:{} `{}`)", r.file, r.line, r.rule))
                .unwrap_or_default();
            warnings.push(
                Diagnostic::warning(
                    None,
                    format!(
                        "Team `{}` is not created: its group has no owner{rule}, and Graph creates Teams only on groups that have one",
                        group.mail_nickname
                    ),
                )
                .with_hint("give the mirror `owners:`, or a rule that puts someone in the Team with `role: owner`"),
            );
        }
        false
    });
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::{GroupRef, UserRef};

    fn draft(op: Op) -> Draft {
        Draft {
            op,
            target: String::new(),
            changes: Vec::new(),
            reasons: Vec::new(),
        }
    }

    fn group(nick: &str, id: Option<&str>) -> GroupRef {
        GroupRef {
            id: id.map(Into::into),
            mail_nickname: nick.into(),
        }
    }

    #[test]
    fn a_team_without_an_owner_now_or_planned_is_held_back() {
        let owner = draft(Op::AddTeamMember {
            group: group("planned", None),
            user: UserRef {
                id: None,
                upn: "o@acme.example".into(),
                okta_id: None,
            },
            role: TeamRole::Owner,
        });
        let mut drafts = vec![
            owner,
            draft(Op::CreateTeam {
                group: group("planned", None),
            }),
            draft(Op::CreateTeam {
                group: group("owned", Some("g1")),
            }),
            draft(Op::CreateTeam {
                group: group("nobody", Some("g2")),
            }),
        ];
        let mut live = LiveState::default();
        live.owners.insert("g1".into(), vec!["u1".into()]);
        live.owners.insert("g2".into(), Vec::new());
        let warnings = hold_back_ownerless(&mut drafts, &live);
        assert_eq!(drafts.len(), 3);
        assert!(
            !drafts.iter().any(
                |d| matches!(&d.op, Op::CreateTeam { group } if group.mail_nickname == "nobody")
            )
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].message.contains("`nobody`"),
            "{:?}",
            warnings[0]
        );
    }
}
