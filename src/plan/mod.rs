//! Plan: diff the desired state against live Office 365 into typed actions,
//! order them by dependency, and check safety before anything runs.
//!
//! Pure: `build` takes every input (the time included) and returns data; the
//! renderers turn it into text, JSON or Markdown.

pub mod action;
pub mod budget;
pub mod diff;
pub mod fingerprint;
pub mod order;
pub mod plausible;
pub mod protected;
pub mod safety;
pub mod seal;
pub mod settings;
pub mod target;
pub mod teams;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use action::{Action, ActionKind, Change, Op, Reason};
pub use diff::{ManualStep, Unmanaged};
pub use safety::Seats;
pub use settings::{Marker, PlanSettings};

use crate::compile::{self, DesiredState};
use crate::model::state::{LiveState, SourceState};
use crate::policy::check::Checked;
use crate::policy::{Diagnostic, diagnostic};

/// Version of the JSON plan format (`docs/plan-json.md`). Version 2 added
/// the digest of the actions, the targets, the refusals and the Okta id of
/// each destructive action's subject.
pub const FORMAT_VERSION: u32 = 2;

/// Counts by kind of change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Actions that add (`+`).
    pub create: usize,
    /// Actions that change (`~`).
    pub update: usize,
    /// Actions that take away (`-`).
    pub remove: usize,
    /// Every action.
    pub total: usize,
}

impl Summary {
    /// Counts these actions by their symbol (`+`, `~`, `-`).
    pub fn of(actions: &[Action]) -> Self {
        let mut summary = Self {
            total: actions.len(),
            ..Self::default()
        };
        for a in actions {
            match a.kind.symbol() {
                '+' => summary.create += 1,
                '~' => summary.update += 1,
                _ => summary.remove += 1,
            }
        }
        summary
    }
}

/// A plan: what apply will do, in order, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// JSON format version.
    pub format_version: u32,
    /// Fingerprint of the inputs (`apply` refuses a stale plan).
    pub fingerprint: String,
    /// Digest of what apply would do: the fingerprint, the time, the
    /// choices and every action (`sha256:…`, see [`seal`]). `apply` refuses
    /// a saved plan whose content no longer matches it.
    #[serde(default)]
    pub digest: String,
    /// The time the plan was made for (RFC 3339).
    pub now: String,
    /// The `--target` users it was limited to (empty: everyone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Why okta365 refuses to apply this plan (a guard rail tripped); empty
    /// for a plan that may be applied. A refused plan is still shown, so
    /// reviewers see what was refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Diagnostic>,
    /// The plan was made from a read accepted with `--accept-read-drop`
    /// (counts fell more than `safety.max_read_drop_percent` since the
    /// previous read); recorded with every audit record of the apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accepted_read_drop: bool,
    /// Counts.
    pub summary: Summary,
    /// Removals allowed beyond the budgets (`--allow-removals KIND=N`),
    /// recorded with every audit record of the apply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allowed_removals: BTreeMap<budget::RemovalKind, usize>,
    /// Seats per SKU the plan touches.
    pub licenses: Vec<Seats>,
    /// Actions in execution order.
    pub actions: Vec<Action>,
    /// Steps for a person to do (Graph cannot), in the order they arise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<ManualStep>,
    /// Objects left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// Warnings (errors stop the plan instead).
    pub warnings: Vec<Diagnostic>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Whether a guard rail refused it.
    pub fn is_refused(&self) -> bool {
        !self.refused.is_empty()
    }

    /// Every diagnostic, errors (refusals) and warnings, in report order.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut all: Vec<Diagnostic> = self.refused.iter().chain(&self.warnings).cloned().collect();
        diagnostic::sort(&mut all);
        all
    }
}

/// Everything a plan is made from.
pub struct PlanInput<'a> {
    /// The checked policy.
    pub policy: &'a Checked,
    /// Okta.
    pub source: &'a SourceState,
    /// Office 365.
    pub live: &'a LiveState,
    /// Settings, the time included.
    pub settings: &'a PlanSettings,
    /// Fingerprint of the inputs, computed by the caller over what it read.
    pub fingerprint: String,
}

/// The desired state and what compiling it found (for `explain`).
pub fn desired(input: &PlanInput) -> (DesiredState, Vec<Diagnostic>) {
    let options = compile::Options {
        match_attributes: settings::MatchPair::okta_attributes(&input.settings.match_by),
    };
    compile::compile_with(input.policy, input.source, &input.live.skus, &options)
}

/// Builds the plan, or returns every error (with the warnings) found on the way.
pub fn build(input: &PlanInput) -> Result<Plan, Vec<Diagnostic>> {
    let (desired, diagnostics) =
        tracing::info_span!("phase", phase = "compile").in_scope(|| desired(input));
    build_from(input, &desired, diagnostics)
}

/// Builds the plan from a desired state already compiled from `input` (and
/// what compiling it found), for callers that show the desired state too.
/// It reads nothing from `input.source`: the Okta state may be gone by now.
/// A refused plan is an error carrying every diagnostic.
pub fn build_from(
    input: &PlanInput,
    desired: &DesiredState,
    diagnostics: Vec<Diagnostic>,
) -> Result<Plan, Vec<Diagnostic>> {
    let plan = build_reviewable(input, desired, diagnostics);
    if plan.is_refused() {
        return Err(plan.diagnostics());
    }
    Ok(plan)
}

/// [`build_from`], but a plan a guard rail refuses is still returned, its
/// errors in [`Plan::refused`], so that it can be shown for review.
pub fn build_reviewable(
    input: &PlanInput,
    desired: &DesiredState,
    mut diagnostics: Vec<Diagnostic>,
) -> Plan {
    let lifecycle = input.policy.policy.lifecycle();
    let lifecycle_reason = input.policy.policy.lifecycle.as_ref().map(|l| {
        let at = input.policy.policy.item_location(l);
        Reason::new(at.file, at.line, "offboarding")
    });
    let diff_span = tracing::info_span!("phase", phase = "diff").entered();
    let out = diff::diff(&diff::DiffInput {
        desired,
        live: input.live,
        protected: &input.policy.policy.protected,
        lifecycle: &lifecycle,
        lifecycle_reason,
        settings: input.settings,
    });
    diagnostics.extend(out.diagnostics);
    let mut drafts = out.drafts;
    let (mut manual_steps, mut unmanaged) = (out.manual_steps, out.unmanaged);
    if !input.settings.targets.is_empty() {
        let keys = target::keys(&input.settings.targets, desired);
        target::retain(&mut drafts, &keys);
        target::narrow_notes(&mut manual_steps, &mut unmanaged, &keys);
        for t in target::unknown(&input.settings.targets, desired, input.live) {
            diagnostics.push(
                Diagnostic::error(None, format!("`--target {t}` matches no user")).with_hint(
                    "give a UPN, or an Okta login, email or id, of a user in Okta or Office 365",
                ),
            );
        }
    }
    // Every Okta user read, of any status: none means the read failed.
    diagnostics.extend(plausible::empty_reads(
        desired.okta_ids.len(),
        !(input.policy.rules.is_empty() && input.policy.guests.is_empty()),
        input.live.users.len(),
        desired.users.len() + desired.guests.len(),
    ));
    diagnostics.extend(safety::fail_closed(&mut drafts, desired.okta_ids.len()));
    diagnostics.extend(teams::hold_back_ownerless(&mut drafts, input.live));
    diagnostics.extend(budget::check(
        &budget::removals(&drafts),
        &out.governed,
        &input.settings.budgets,
        &input.settings.allowed_removals,
    ));
    let shortage = input
        .policy
        .policy
        .licensing
        .as_ref()
        .map(|l| l.value.on_seat_shortage)
        .unwrap_or_default();
    let (licenses, seat_errors) = safety::seats(&mut drafts, &input.live.skus, shortage);
    diagnostics.extend(seat_errors);
    // SKUs whose free seats do not cover what the plan assigns: apply must
    // free them (reclaims, swaps) before it assigns them.
    let seat_limited: std::collections::BTreeSet<crate::model::SkuId> = licenses
        .iter()
        .filter(|s| s.added > 0 && s.total - s.used_before < s.added)
        .filter_map(|s| {
            input
                .live
                .skus
                .iter()
                .find(|k| k.sku_part_number == s.sku)
                .map(|k| k.sku_id.clone())
        })
        .collect();
    let actions = match order::order(drafts, &seat_limited) {
        Ok(a) => a,
        Err(cycle) => {
            diagnostics.push(
                Diagnostic::error(
                    None,
                    format!("dependency cycle between {}", cycle.0.join(", ")),
                )
                .with_hint(
                    "this is a bug in okta365's planner; please report it with the plan inputs",
                ),
            );
            Vec::new()
        }
    };
    diagnostic::sort(&mut diagnostics);
    drop(diff_span);
    let (refused, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        diagnostics.into_iter().partition(Diagnostic::is_error);
    let summary = Summary::of(&actions);
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        fingerprint: input.fingerprint.clone(),
        digest: String::new(),
        now: input.settings.now.to_string(),
        targets: input.settings.targets.clone(),
        refused,
        accepted_read_drop: false,
        summary,
        allowed_removals: input.settings.allowed_removals.clone(),
        licenses,
        actions,
        manual_steps,
        unmanaged,
        warnings,
    };
    plan.seal();
    plan
}
