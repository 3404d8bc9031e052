//! Which SKUs the policies govern. okta365 adds and removes direct
//! assignments of these on active users and never touches any other SKU:
//! a self-service or trial licence, or every licence when no rule grants
//! one, stays exactly as it is.
//!
//! Governed is either the declared `licensing.governed_skus`, or the SKUs
//! the rules name: literal SKUs, and every value of a lookup table a
//! licence template reads. A template that passes a profile value through
//! governs only the SKUs it gives some user today; it gets a warning.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Reason;
use crate::policy::Diagnostic;
use crate::policy::check::Checked;

/// The SKUs (part numbers) the policies govern, before any user is compiled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GovernedSkus {
    /// `licensing.governed_skus`, when declared, with where.
    pub declared: Option<(BTreeSet<String>, Reason)>,
    /// SKUs the rules name (literals and lookup values), with the rules
    /// (indexes into the policy's rules) that name each.
    pub named: BTreeMap<String, BTreeSet<usize>>,
    /// Licence templates whose values come from the user: (file, pointer).
    pub open: Vec<(usize, String)>,
}

/// Works out the governed SKUs from the checked policy.
pub fn governed_skus(checked: &Checked) -> GovernedSkus {
    let policy = &checked.policy;
    let table = |name: &str| super::lookup_values(checked, name);
    let mut out = GovernedSkus::default();
    for rule in &checked.rules {
        for (t, _) in &rule.licenses {
            match t.value.possible_values(&table) {
                Some(values) => {
                    for v in values {
                        out.named.entry(v).or_default().insert(rule.index);
                    }
                }
                None => out.open.push((t.file, t.pointer.clone())),
            }
        }
    }
    if let Some(item) = &policy.licensing
        && let Some(list) = &item.value.governed_skus
    {
        let at = policy.location(item.file, &format!("{}/governed_skus", item.pointer));
        out.declared = Some((
            list.iter().cloned().collect(),
            Reason::new(at.file, at.line, "licensing: governed_skus"),
        ));
    }
    out
}

impl GovernedSkus {
    /// Warnings for licence templates whose SKUs are governed only while
    /// some user gets them (none when the list is declared).
    pub fn warnings(&self, checked: &Checked) -> Vec<Diagnostic> {
        if self.declared.is_some() {
            return Vec::new();
        }
        self.open
            .iter()
            .map(|(file, pointer)| {
                Diagnostic::warning(
                    Some(checked.policy.location(*file, pointer)),
                    "this licence template passes a profile value through, so the SKUs it gives are governed only while some user gets them",
                )
                .with_hint("list every SKU the policies govern under `licensing.governed_skus`")
            })
            .collect()
    }

    /// Errors for SKUs a rule grants that a declared list leaves out, with
    /// where the rule's licence template is.
    pub fn undeclared<'s>(
        &self,
        granted: impl IntoIterator<Item = (&'s str, (usize, String))>,
        checked: &Checked,
    ) -> Vec<Diagnostic> {
        let Some((declared, at)) = &self.declared else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        granted
            .into_iter()
            .filter(|(sku, _)| !declared.contains(*sku) && seen.insert(sku.to_string()))
            .map(|(sku, (file, pointer))| {
                Diagnostic::error(
                    Some(checked.policy.location(file, &pointer)),
                    format!("a rule grants `{sku}`, which `licensing.governed_skus` does not list"),
                )
                .with_hint(format!(
                    "add `{sku}` to `licensing.governed_skus` ({}:{}), or stop granting it",
                    at.file, at.line
                ))
            })
            .collect()
    }

    /// The governed SKUs with the declaration that governs each, given the
    /// SKUs rules granted to users (with the rule that granted each).
    pub fn resolve<'s>(
        &self,
        granted: impl IntoIterator<Item = (&'s str, &'s Reason)>,
        rule_reasons: &[Reason],
    ) -> BTreeMap<String, Vec<Reason>> {
        if let Some((declared, at)) = &self.declared {
            return declared
                .iter()
                .map(|s| (s.clone(), vec![at.clone()]))
                .collect();
        }
        let mut all: BTreeMap<String, Vec<Reason>> = self
            .named
            .iter()
            .map(|(sku, rules)| {
                (
                    sku.clone(),
                    rules.iter().map(|&i| rule_reasons[i].clone()).collect(),
                )
            })
            .collect();
        for (sku, reason) in granted {
            let reasons = all.entry(sku.to_owned()).or_default();
            if !reasons.contains(reason) {
                reasons.push(reason.clone());
            }
        }
        all
    }
}
