//! Safety checks that run before anything is applied:
//!
//! * fail closed: an empty Okta read plans no removals;
//! * removal budgets per kind live in [`super::budget`];
//! * a seat check per SKU: seats free now, plus seats this plan frees, must
//!   cover the seats it assigns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::action::Op;
use super::diff::Draft;
use crate::model::graph::SubscribedSku;
use crate::policy::Diagnostic;
use crate::policy::types::SeatShortage;

/// Seats of one SKU before and after the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seats {
    /// Part number.
    pub sku: String,
    /// Seats bought (`prepaidUnits.enabled`).
    pub total: i64,
    /// Seats used now.
    pub used_before: i64,
    /// Seats the plan assigns.
    pub added: i64,
    /// Seats the plan frees.
    pub removed: i64,
    /// Seats used after the plan.
    pub used_after: i64,
}

/// Drops removals when Okta returned no users: a failed or empty read must
/// never turn into removals. Returns a warning when anything was dropped.
pub fn fail_closed(drafts: &mut Vec<Draft>, okta_users: usize) -> Option<Diagnostic> {
    if okta_users > 0 {
        return None;
    }
    let before = drafts.len();
    drafts.retain(|d| d.op.kind().symbol() != '-');
    for d in drafts.iter_mut() {
        if let Op::AssignLicenses { remove, .. } = &mut d.op {
            remove.clear();
            d.changes.retain(|c| c.new.is_some());
        }
    }
    drafts.retain(|d| !matches!(&d.op, Op::AssignLicenses { add, remove, .. } if add.is_empty() && remove.is_empty()));
    let dropped = before - drafts.len();
    Some(
        Diagnostic::warning(None, format!("Okta returned no users: {dropped} removal(s) withheld (fail closed)"))
            .with_hint("check the Okta connection or snapshot; okta365 never removes access because a read came back empty"),
    )
}

/// Checks seats per SKU: free seats now plus seats the plan frees must cover
/// the seats it assigns. On a shortage, either an error with the numbers, or
/// (`assign_partially`) the assignments that fit, by UPN order, and a warning
/// naming who waits.
pub fn seats(
    drafts: &mut Vec<Draft>,
    skus: &[SubscribedSku],
    shortage: SeatShortage,
) -> (Vec<Seats>, Vec<Diagnostic>) {
    let (mut added, removed) = count(drafts);
    let mut out = Vec::new();
    let mut diagnostics = Vec::new();
    for sku in skus {
        let id = sku.sku_id.as_str();
        let r = removed.get(id).copied().unwrap_or(0);
        let mut a = added.get(id).map_or(0, Vec::len) as i64;
        if a == 0 && r == 0 {
            continue;
        }
        let total = sku.prepaid_units.enabled;
        let free = sku.available() + r;
        if a > 0 && a > free {
            let part = &sku.sku_part_number;
            match shortage {
                SeatShortage::Refuse => diagnostics.push(
                    Diagnostic::error(
                        None,
                        format!(
                            "not enough `{part}` seats: the plan assigns {a} but only {free} are free ({total} bought, {} in use, {r} freed by this plan)",
                            sku.consumed_units
                        ),
                    )
                    .with_hint(format!("buy {} more seat(s), or narrow the rules that assign `{part}`", a - free)),
                ),
                SeatShortage::AssignPartially => {
                    let mut takers = added.remove(id).unwrap_or_default();
                    takers.sort_by(|x, y| drafts[*x].target.cmp(&drafts[*y].target));
                    let waiting: Vec<usize> = takers.split_off(free.max(0) as usize);
                    let names: Vec<String> = waiting.iter().map(|&i| drafts[i].target.trim_start_matches("user ").to_owned()).collect();
                    for &i in &waiting {
                        withhold(&mut drafts[i], id, part);
                    }
                    a = takers.len() as i64;
                    diagnostics.push(
                        Diagnostic::warning(
                            None,
                            format!("not enough `{part}` seats: {} user(s) wait for one: {}", names.len(), names.join(", ")),
                        )
                        .with_hint(format!("buy {} more seat(s); they get theirs on the first plan after", names.len())),
                    );
                }
            }
        }
        out.push(Seats {
            sku: sku.sku_part_number.clone(),
            total,
            used_before: sku.consumed_units,
            added: a,
            removed: r,
            used_after: sku.consumed_units + a - r,
        });
    }
    drafts.retain(|d| !matches!(&d.op, Op::AssignLicenses { add, remove, .. } if add.is_empty() && remove.is_empty()));
    out.sort_by(|x, y| x.sku.cmp(&y.sku));
    (out, diagnostics)
}

/// Drafts taking a new seat, per SKU id, and seats freed per SKU id.
fn count(drafts: &[Draft]) -> (BTreeMap<String, Vec<usize>>, BTreeMap<String, i64>) {
    let mut added: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut removed: BTreeMap<String, i64> = BTreeMap::new();
    for (i, d) in drafts.iter().enumerate() {
        if let Op::AssignLicenses { add, remove, .. } = &d.op {
            for a in add {
                // Re-adding a SKU the user has (new disabled plans) takes no seat:
                // the diff records it as a change with an old value.
                let is_new = d
                    .changes
                    .iter()
                    .any(|c| c.field == format!("license {}", a.sku) && c.old.is_none());
                if is_new {
                    added.entry(a.sku_id.0.to_string()).or_default().push(i);
                }
            }
            for r in remove {
                *removed.entry(r.sku_id.0.to_string()).or_default() += 1;
            }
        }
    }
    (added, removed)
}

/// Takes one SKU out of a licence change (the user waits for a seat).
fn withhold(draft: &mut Draft, sku_id: &str, part: &str) {
    if let Op::AssignLicenses { add, .. } = &mut draft.op {
        add.retain(|a| a.sku_id.as_str() != sku_id);
    }
    draft
        .changes
        .retain(|c| c.field != format!("license {part}"));
}
