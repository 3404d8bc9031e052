//! Member and owner adds, grouped by group: 20 links to a
//! `members@odata.bind` PATCH, refused chunks redone one `$ref` at a time.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use super::errors::explain;
use super::{GraphBackend, MEMBERS_PER_PATCH, MEMBERS_RW, Step, group_id, user_id};
use crate::apply::backend::{ApplyError, Outcome};
use crate::plan::action::Op;
use crate::policy::types::TeamRole;
use crate::providers::graph::batch::Item;

impl GraphBackend {
    /// Adds members (and Team owners) of the wave, grouped by group.
    pub(super) async fn run_member_adds(
        &self,
        ops: &[Op],
        indices: &[usize],
        out: &mut [Option<Result<Outcome, ApplyError>>],
    ) {
        let mut by_group: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        let mut owners: Vec<Step> = Vec::new();
        for &i in indices {
            // (group, user, owner, member)
            let (group, user, owner, member) = match &ops[i] {
                Op::AddMember { group, user } => (group, user, false, true),
                Op::AddTeamMember { group, user, role } => {
                    (group, user, *role == TeamRole::Owner, true)
                }
                Op::AddOwner { group, user } => (group, user, true, false),
                _ => continue,
            };
            let (g, u) = match (group_id(group), user_id(user)) {
                (Ok(g), Ok(u)) => (g.to_owned(), u.to_owned()),
                (Err(e), _) | (_, Err(e)) => {
                    out[i] = Some(Err(e));
                    continue;
                }
            };
            if owner {
                owners.push(Step {
                    op: i,
                    item: Item::new(
                        Method::POST,
                        format!("/groups/{g}/owners/$ref"),
                        Some(json!({"@odata.id": self.object_url(&u)})),
                        MEMBERS_RW,
                    ),
                    wait_for_replication: self.is_new(&g) || self.is_new(&u),
                });
            }
            if member {
                by_group.entry(g).or_default().push((i, u));
            }
        }
        // Chunks of 20 members of one group, one PATCH each.
        let mut chunks: Vec<(String, Vec<(usize, String)>)> = Vec::new();
        for (g, members) in by_group {
            for chunk in members.chunks(MEMBERS_PER_PATCH) {
                chunks.push((g.clone(), chunk.to_vec()));
            }
        }
        let patches: Vec<Step> = chunks
            .iter()
            .map(|(g, members)| {
                let links: Vec<String> = members.iter().map(|(_, u)| self.object_url(u)).collect();
                Step {
                    op: members[0].0,
                    item: Item::new(
                        Method::PATCH,
                        format!("/groups/{g}"),
                        Some(json!({"members@odata.bind": links})),
                        MEMBERS_RW,
                    ),
                    wait_for_replication: self.is_new(g)
                        || members.iter().any(|(_, u)| self.is_new(u)),
                }
            })
            .collect();
        // The PATCH of a chunk is sent on behalf of every member in it.
        for ((_, members), patch) in chunks.iter().zip(&patches) {
            for (i, _) in members.iter().skip(1) {
                self.note_sent(*i, &patch.item);
            }
        }
        let answers = self.run_steps(&patches).await;
        // Chunks Graph refused as a whole are redone one member at a time.
        let mut singles: Vec<Step> = Vec::new();
        for ((g, members), answer) in chunks.iter().zip(answers) {
            match answer {
                Ok(_) => {
                    for (i, _) in members {
                        out[*i] = Some(Ok(Outcome::Done));
                    }
                }
                // One member already there, or one reference Graph cannot
                // resolve, fails the whole chunk: find out which, one by one.
                Err(e)
                    if members.len() > 1
                        && (e.is_already_member() || matches!(e.status, Some(400 | 404))) =>
                {
                    for (i, u) in members {
                        singles.push(Step {
                            op: *i,
                            item: Item::new(
                                Method::POST,
                                format!("/groups/{g}/members/$ref"),
                                Some(json!({"@odata.id": self.object_url(u)})),
                                MEMBERS_RW,
                            ),
                            wait_for_replication: self.is_new(g) || self.is_new(u),
                        });
                    }
                }
                Err(e) if e.is_already_member() => {
                    out[members[0].0] = Some(Ok(Outcome::Done));
                }
                // Anything else (403, a 5xx after every retry) is the same for each member.
                Err(e) => {
                    for (i, _) in members {
                        out[*i] = Some(Err(explain(&ops[*i], e.clone())));
                    }
                }
            }
        }
        let answers = self.run_steps(&singles).await;
        for (step, answer) in singles.iter().zip(answers) {
            out[step.op] = Some(match answer {
                Ok(_) => Ok(Outcome::Done),
                Err(e) if e.is_already_member() => Ok(Outcome::Done),
                Err(e) => Err(explain(&ops[step.op], e)),
            });
        }
        let answers = self.run_steps(&owners).await;
        for (step, answer) in owners.iter().zip(answers) {
            let result = match answer {
                Ok(_) => Ok(Outcome::Done),
                Err(e) if e.is_already_member() => Ok(Outcome::Done),
                Err(e) => Err(explain(&ops[step.op], e)),
            };
            if out[step.op].as_ref().is_none_or(|r| r.is_ok()) {
                out[step.op] = Some(result);
            }
        }
    }
}
