//! Licences: direct assignments of the SKUs the policies govern, and notes
//! on group-based licences and assignment errors.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn sku_name(&self, id: &str) -> String {
        self.live
            .skus
            .iter()
            .find(|s| s.sku_id.as_str() == id)
            .map_or_else(|| id.to_owned(), |s| s.sku_part_number.clone())
    }

    /// Warnings about licences okta365 does not assign itself: group-based
    /// licences that disagree with the policy, and assignment errors Graph reports.
    pub(super) fn license_notes(
        &mut self,
        live: &User,
        wanted: &BTreeSet<&str>,
        want: &crate::compile::DesiredUser,
    ) {
        let upn = &live.user_principal_name;
        for state in &live.license_assignment_states {
            let part = self.sku_name(state.sku_id.as_str());
            if let Some(error) = state.error.as_deref().filter(|e| *e != "None") {
                let meaning = match error {
                    "CountViolation" => "no free seats",
                    "MutuallyExclusiveViolation" => "conflicts with another licence the user has",
                    "DependencyViolation" => "needs a licence the user does not have",
                    "ProhibitedInUsageLocationViolation" => {
                        "not available in the user's usageLocation"
                    }
                    "UniquenessViolation" => "a proxy address is already taken",
                    _ => "see the licence's state in the Entra admin centre",
                };
                self.out.diagnostics.push(Diagnostic::warning(
                    None,
                    format!("licence {part} of `{upn}` is in error: {error} ({meaning})"),
                ));
            }
            let Some(group) = &state.assigned_by_group else {
                continue;
            };
            let group_name = self
                .group_names
                .get(group)
                .map_or_else(|| group.0.to_string(), |name| (*name).to_owned());
            if !wanted.contains(state.sku_id.as_str()) {
                if !self.input.desired.governed_skus.contains_key(&part) {
                    continue;
                }
                self.out.diagnostics.push(
                    Diagnostic::warning(
                        None,
                        format!("`{upn}` inherits {part} from group `{group_name}`, but no rule grants it"),
                    )
                    .with_hint("okta365 never removes group-assigned licences; change the group's membership or its licence"),
                );
            } else if let Some(plans) = want.licenses.get(&part) {
                let sku = self.skus.get(part.as_str());
                let inherited: BTreeSet<String> = state
                    .disabled_plans
                    .iter()
                    .map(|id| {
                        sku.and_then(|s| s.service_plans.iter().find(|p| &p.service_plan_id == id))
                            .map_or_else(|| id.0.to_string(), |p| p.service_plan_name.clone())
                    })
                    .collect();
                if inherited != plans.value {
                    let list = |set: &BTreeSet<String>| {
                        if set.is_empty() {
                            "none".to_owned()
                        } else {
                            set.iter().cloned().collect::<Vec<_>>().join(", ")
                        }
                    };
                    self.out.diagnostics.push(
                        Diagnostic::warning(
                            None,
                            format!(
                                "`{upn}` inherits {part} from group `{group_name}` with disabled plans {}, but the policy says {}",
                                list(&inherited),
                                list(&plans.value)
                            ),
                        )
                        .with_hint("group-based licensing wins for this user; align the group's licence or the rule"),
                    );
                }
            }
        }
    }

    pub(super) fn licenses(
        &mut self,
        user: &UserRef,
        live: Option<&User>,
        want: &crate::compile::DesiredUser,
    ) {
        let mut add = Vec::new();
        let mut remove = Vec::new();
        let mut changes = Vec::new();
        let mut reasons = Vec::new();
        // SKU id → its disabled plans, sorted by SKU id (a user holds a few).
        let mut direct: Vec<(&str, Vec<&str>)> = live
            .map(|l| {
                let states = &l.license_assignment_states;
                if states.is_empty() {
                    l.assigned_licenses
                        .iter()
                        .map(|a| {
                            (
                                a.sku_id.as_str(),
                                a.disabled_plans.iter().map(|p| p.as_str()).collect(),
                            )
                        })
                        .collect()
                } else {
                    states
                        .iter()
                        .filter(|s| s.assigned_by_group.is_none())
                        .map(|s| {
                            (
                                s.sku_id.as_str(),
                                s.disabled_plans.iter().map(|p| p.as_str()).collect(),
                            )
                        })
                        .collect()
                }
            })
            .unwrap_or_default();
        // A SKU listed twice keeps its last entry, as a map collected from it would.
        direct.reverse();
        direct.sort_by(|a, b| a.0.cmp(b.0));
        direct.dedup_by(|a, b| a.0 == b.0);
        let mut wanted_ids = BTreeSet::new();
        for (part, plans) in &want.licenses {
            let Some(sku) = self.skus.get(part).copied() else {
                continue;
            }; // reported by compile
            wanted_ids.insert(sku.sku_id.as_str());
            // Borrowed until a change is certain: most users need none.
            let mut disabled: Vec<(&str, &str)> = plans
                .value
                .iter()
                .filter_map(|name| {
                    sku.service_plans
                        .iter()
                        .find(|p| p.service_plan_name == *name)
                        .map(|p| (p.service_plan_id.as_str(), name.as_str()))
                })
                .collect();
            disabled.sort_unstable();
            disabled.dedup();
            let unchanged = |have: &[&str]| {
                have.len() >= disabled.len()
                    && have.iter().all(|id| disabled.iter().any(|(d, _)| d == id))
                    && disabled.iter().all(|(d, _)| have.contains(d))
            };
            let describe = |names: &[String]| {
                if names.is_empty() {
                    "assigned".to_owned()
                } else {
                    format!("assigned, disabled: {}", names.join(", "))
                }
            };
            let have = direct
                .iter()
                .find(|(id, _)| *id == sku.sku_id.as_str())
                .map(|(_, plans)| plans);
            if have.is_some_and(|have| unchanged(have))
                || have.is_none() && live.is_some_and(|l| l.inherits_sku(&sku.sku_id))
            {
                continue; // as wanted, or group-based licensing covers it
            }
            let names: Vec<String> = disabled.iter().map(|(_, n)| (*n).to_owned()).collect();
            match have {
                Some(have) => {
                    let have_names: Vec<String> = have
                        .iter()
                        .map(|id| {
                            sku.service_plans
                                .iter()
                                .find(|p| p.service_plan_id.as_str() == *id)
                                .map_or((*id).to_owned(), |p| p.service_plan_name.clone())
                        })
                        .collect();
                    changes.push(Change {
                        field: format!("license {part}"),
                        old: Some(describe(&have_names)),
                        new: Some(describe(&names)),
                    });
                }
                None => changes.push(Change {
                    field: format!("license {part}"),
                    old: None,
                    new: Some(describe(&names)),
                }),
            }
            reasons.extend(plans.reasons.iter().cloned());
            add.push(LicenseAdd {
                sku_id: sku.sku_id.clone(),
                sku: part.to_owned(),
                disabled_plans: disabled
                    .iter()
                    .map(|(id, _)| crate::model::ServicePlanId::from(*id))
                    .collect(),
                disabled_plan_names: names,
            });
        }
        if let Some(live) = live {
            self.license_notes(live, &wanted_ids, want);
        }
        // An account linked by this plan is not managed yet: licences are
        // only added to it; removals wait for the next plan.
        let linking = live.is_some_and(|l| self.marker_of(l).is_none());
        for (sku_id, _) in &direct {
            if wanted_ids.contains(sku_id) || linking {
                continue;
            }
            let part = self
                .live
                .skus
                .iter()
                .find(|s| s.sku_id.as_str() == *sku_id)
                .map_or(*sku_id, |s| s.sku_part_number.as_str());
            let Some(governors) = self.input.desired.governed_skus.get(part) else {
                // No policy line governs this SKU: left exactly as it is.
                match self.ungoverned_licences.get_mut(part) {
                    Some(count) => *count += 1,
                    None => {
                        self.ungoverned_licences.insert(part.to_owned(), 1);
                    }
                }
                continue;
            };
            let part = part.to_owned();
            reasons.extend(governors.iter().map(|r| {
                r.with_rule(format!(
                    "{} governs {part}: not granted to this user",
                    r.rule
                ))
            }));
            changes.push(Change {
                field: format!("license {part}"),
                old: Some("assigned".into()),
                new: None,
            });
            remove.push(LicenseRemove {
                sku_id: crate::model::SkuId::from(*sku_id),
                sku: part,
            });
        }
        if add.is_empty() && remove.is_empty() {
            return;
        }
        if reasons.is_empty() {
            reasons = dedup(
                want.attributes
                    .values()
                    .flat_map(|a| a.reasons.iter().cloned()),
            );
        }
        self.push(
            Op::AssignLicenses {
                user: user.clone(),
                add,
                remove,
            },
            user_target(&user.upn),
            changes,
            dedup(reasons),
        );
    }
}
