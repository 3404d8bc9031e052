//! Property: over generated tenants and policies, a plan never touches what
//! the policies do not govern. No action touches an ungoverned SKU on a
//! person who stays, an undeclared group's members who stay, an account
//! okta365 does not manage (destructively) or a protected one (at all), and
//! no plan leaves a group that has owners without one.

use std::collections::{BTreeMap, BTreeSet};

use okta365::model::state::{LiveState, SourceState};
use okta365::plan::budget::RemovalKind;
use okta365::plan::{Op, Plan, PlanInput, PlanSettings};
use okta365::policy::check::check;
use okta365::policy::load::{PolicySource, load};
use okta365::policy::types::TeamRole;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

const SKUS: [(&str, &str); 4] = [
    ("SPE_E3", "05e9a617-0261-4cee-bb44-138d3ef5d965"),
    ("ENTERPRISEPACK", "6fd2c87f-b296-42f0-b197-1e91e994b900"),
    ("FLOW_FREE", "f30db892-07e9-47e9-837c-80727f46fd3d"),
    ("POWER_BI_PRO", "f8a1db68-be16-40ed-86d5-cb42ce701560"),
];
const GROUPS: [&str; 5] = ["all-staff", "sales", "engineering", "project", "deal-desk"];
const DECLARED: [&str; 3] = ["all-staff", "sales", "engineering"];

/// One Okta user and their account.
#[derive(Clone, Debug)]
struct Person {
    /// 0 ACTIVE, 1 SUSPENDED, 2 DEPROVISIONED.
    status: u8,
    employee: bool,
    engineering: bool,
    senior: bool,
    /// 0 no account, 1 managed, 2 unmarked with the same UPN, 3 marked for a deleted Okta user.
    account: u8,
    enabled: bool,
    /// Bit i: holds SKUS[i] directly.
    licences: u8,
    /// Bit i: member of GROUPS[i]; bit 8+i: owner of GROUPS[i].
    groups: u16,
    protected: bool,
}

#[derive(Clone, Debug)]
struct World {
    people: Vec<Person>,
    /// Unmanaged accounts (no marker), each with licences and groups.
    strangers: Vec<(u8, u16)>,
    /// 0 additive, 1 authoritative.
    sales_mode: u8,
    /// 0 managed, 1 guests, 2 employees only.
    engineering_scope: u8,
    /// 0 none, 1 additive, 2 authoritative.
    engineering_owners: u8,
    declare_skus: bool,
    reclaim_governed: bool,
    declared_groups_only: bool,
    fallback: bool,
}

fn person() -> impl Strategy<Value = Person> {
    (
        prop_oneof![6 => Just(0u8), 1 => Just(1), 1 => Just(2)],
        prop::bool::weighted(0.8),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![1 => Just(0u8), 5 => Just(1), 1 => Just(2), 1 => Just(3)],
        prop::bool::weighted(0.8),
        0u8..16,
        any::<u16>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                status,
                employee,
                engineering,
                senior,
                account,
                enabled,
                licences,
                groups,
                protected,
            )| {
                Person {
                    status,
                    employee,
                    engineering,
                    senior,
                    account,
                    enabled,
                    licences,
                    groups: groups & 0x1f1f,
                    protected,
                }
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(person(), 3..12),
        prop::collection::vec((0u8..16, any::<u16>().prop_map(|g| g & 0x1f1f)), 0..3),
        0u8..2,
        0u8..3,
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                people,
                strangers,
                sales_mode,
                engineering_scope,
                engineering_owners,
                declare_skus,
                reclaim_governed,
                declared_groups_only,
                fallback,
            )| World {
                people,
                strangers,
                sales_mode,
                engineering_scope,
                engineering_owners,
                declare_skus,
                reclaim_governed,
                declared_groups_only,
                fallback,
            },
        )
}

fn okta_id(i: usize) -> String {
    format!("00u{i:017}")
}

fn account_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn group_id(g: usize) -> String {
    format!("00000000-0000-4000-9000-{g:012}")
}

fn policy(w: &World) -> String {
    let sales_mode = ["additive", "authoritative"][w.sales_mode as usize];
    let scope =
        ["managed", "guests", "{ when: { group: Employees } }"][w.engineering_scope as usize];
    let owners = match w.engineering_owners {
        0 => String::new(),
        n => format!(
            "    owners:\n      when: {{ attribute: {{ name: title, equals: Senior }} }}\n      mode: {}\n",
            ["", "additive", "authoritative"][n as usize]
        ),
    };
    let licensing = if w.declare_skus {
        "licensing:\n  governed_skus: [SPE_E3, ENTERPRISEPACK, POWER_BI_PRO]\n"
    } else {
        ""
    };
    let reclaim = if w.reclaim_governed {
        "governed"
    } else {
        "all_direct"
    };
    let from = if w.declared_groups_only {
        "declared_groups"
    } else {
        "all_groups"
    };
    let fallback = if w.fallback {
        "    fallback_owner: it-admin@corp.example\n"
    } else {
        ""
    };
    format!(
        "groups:
  - name: all-staff
    kind: unified
  - name: sales
    kind: unified
    members: {{ mode: {sales_mode} }}
  - name: engineering
    kind: unified
    team: true
    members: {{ scope: {scope} }}
{owners}
rules:
  - name: employees
    when: {{ group: Employees }}
    attributes:
      userPrincipalName: \"{{{{ profile.login | lower }}}}\"
      department: \"{{{{ profile.department }}}}\"
    licenses:
      - sku: SPE_E3
    groups: [all-staff]
  - name: sales
    when:
      all:
        - group: Employees
        - attribute: {{ name: department, equals: Sales }}
    licenses:
      - sku: ENTERPRISEPACK
    groups: [sales]
  - name: engineering
    when:
      all:
        - group: Employees
        - attribute: {{ name: department, equals: Engineering }}
    teams:
      - team: engineering
{licensing}
lifecycle:
  offboarding:
    reclaim_licenses_after_days: 0
    reclaim_licenses: {reclaim}
    remove_memberships_from: {from}
{fallback}
protected:
  upns: [protected@corp.example]
"
    )
}

/// The inputs, and which accounts are managed, leaving and protected.
struct Built {
    source: SourceState,
    live: LiveState,
    managed: BTreeSet<String>,
    leaving: BTreeSet<String>,
    protected: BTreeSet<String>,
}

fn build(w: &World) -> Built {
    let mut okta_users = Vec::new();
    let mut employees = Vec::new();
    let mut users = Vec::new();
    let mut members: BTreeMap<String, Vec<String>> = (0..GROUPS.len())
        .map(|g| (group_id(g), Vec::new()))
        .collect();
    let mut owners = members.clone();
    let (mut managed, mut leaving, mut protected) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut place = |id: &str, licences: u8, groups: u16, users: &mut Vec<Value>, user: Value| {
        let mut user = user;
        user["assignedLicenses"] = SKUS
            .iter()
            .enumerate()
            .filter(|(i, _)| licences & (1 << i) != 0)
            .map(|(_, (_, sku))| json!({"skuId": sku, "disabledPlans": []}))
            .collect();
        users.push(user);
        for g in 0..GROUPS.len() {
            if groups & (1 << g) != 0 {
                members.get_mut(&group_id(g)).unwrap().push(id.to_owned());
            }
            if groups & (1 << (8 + g)) != 0 {
                owners.get_mut(&group_id(g)).unwrap().push(id.to_owned());
            }
        }
    };
    for (i, p) in w.people.iter().enumerate() {
        let login = format!("p{i}@corp.example");
        let status = ["ACTIVE", "SUSPENDED", "DEPROVISIONED"][p.status as usize];
        okta_users.push(json!({
            "id": okta_id(i),
            "status": status,
            "statusChanged": "2026-01-01T00:00:00.000Z",
            "profile": {
                "login": login,
                "email": login,
                "firstName": "P",
                "lastName": format!("{i}"),
                "department": if p.engineering { "Engineering" } else { "Sales" },
                "title": if p.senior { "Senior" } else { "Staff" },
            }
        }));
        if p.employee {
            employees.push(okta_id(i));
        }
        if p.account == 0 {
            continue;
        }
        let id = account_id(i);
        let upn = if p.protected {
            "protected@corp.example".to_owned()
        } else {
            login.clone()
        };
        let marker = match p.account {
            1 => Some(okta_id(i)),
            3 => Some(format!("00ugone{i:013}")),
            _ => None,
        };
        if p.protected && !protected.is_empty() {
            continue; // one account holds the protected UPN
        }
        if p.protected {
            protected.insert(id.clone());
        }
        if let Some(m) = &marker {
            managed.insert(id.clone());
            let gone = p.account == 3 || p.status != 0 || !p.employee;
            if gone && *m == okta_id(i) || p.account == 3 {
                leaving.insert(id.clone());
            }
        }
        place(
            &id,
            p.licences,
            p.groups,
            &mut users,
            json!({
                "id": id,
                "userPrincipalName": upn,
                "accountEnabled": p.enabled,
                "userType": "Member",
                "displayName": format!("P {i}"),
                "mailNickname": format!("p{i}"),
                "onPremisesExtensionAttributes": { "extensionAttribute15": marker },
            }),
        );
    }
    for (j, (licences, groups)) in w.strangers.iter().enumerate() {
        let id = account_id(100 + j);
        place(
            &id,
            *licences,
            *groups,
            &mut users,
            json!({
                "id": id,
                "userPrincipalName": format!("stranger{j}@corp.example"),
                "accountEnabled": true,
                "userType": "Member",
                "displayName": format!("Stranger {j}"),
                "mailNickname": format!("stranger{j}"),
            }),
        );
    }
    users.push(json!({
        "id": account_id(200),
        "userPrincipalName": "it-admin@corp.example",
        "accountEnabled": true,
        "userType": "Member",
        "displayName": "IT Admin",
        "mailNickname": "it-admin",
        "assignedLicenses": [],
    }));
    let groups: Vec<Value> = GROUPS
        .iter()
        .enumerate()
        .map(|(g, name)| {
            json!({
                "id": group_id(g),
                "displayName": name,
                "mailNickname": name,
                "groupTypes": ["Unified"],
                "mailEnabled": true,
                "securityEnabled": false,
                "resourceProvisioningOptions": if *name == "engineering" { json!(["Team"]) } else { json!([]) },
            })
        })
        .collect();
    let skus: Vec<Value> = SKUS
        .iter()
        .map(|(part, id)| {
            json!({
                "skuId": id,
                "skuPartNumber": part,
                "consumedUnits": 0,
                "prepaidUnits": {"enabled": 10_000},
                "servicePlans": [],
            })
        })
        .collect();
    let source = SourceState {
        users: serde_json::from_value(Value::Array(okta_users)).unwrap(),
        groups: serde_json::from_value(json!([
            {"id": "00gemployees00000000", "type": "OKTA_GROUP", "profile": {"name": "Employees"}},
        ]))
        .unwrap(),
        members: serde_json::from_value(json!({ "00gemployees00000000": employees })).unwrap(),
    };
    let live = LiveState {
        users: serde_json::from_value(Value::Array(users)).unwrap(),
        groups: serde_json::from_value(Value::Array(groups)).unwrap(),
        members: serde_json::from_value(serde_json::to_value(&members).unwrap()).unwrap(),
        owners: serde_json::from_value(serde_json::to_value(&owners).unwrap()).unwrap(),
        skus: serde_json::from_value(Value::Array(skus)).unwrap(),
        ..LiveState::default()
    };
    Built {
        source,
        live,
        managed,
        leaving,
        protected,
    }
}

fn plan(w: &World, built: &Built) -> Result<Plan, String> {
    let (policy, d) = load(&[PolicySource {
        path: "p.yaml".into(),
        text: policy(w),
    }]);
    let policy = policy.ok_or_else(|| format!("{d:?}"))?;
    let (checked, d) = check(policy);
    let checked = checked.ok_or_else(|| format!("{d:?}"))?;
    let mut settings = PlanSettings::new("2026-11-20T00:00:00Z".parse().unwrap());
    // Budgets are not what this property is about.
    settings.allowed_removals = RemovalKind::ALL.iter().map(|k| (*k, 1_000_000)).collect();
    okta365::plan::build(&PlanInput {
        policy: &checked,
        source: &built.source,
        live: &built.live,
        settings: &settings,
        fingerprint: "f".into(),
    })
    .map_err(|d| format!("{d:?}"))
}

fn governs_nothing_else(w: &World, built: &Built, plan: &Plan) -> Result<(), TestCaseError> {
    let governed: BTreeSet<&str> = if w.declare_skus {
        ["SPE_E3", "ENTERPRISEPACK", "POWER_BI_PRO"].into()
    } else {
        ["SPE_E3", "ENTERPRISEPACK"].into()
    };
    let group_name: BTreeMap<String, &str> = GROUPS
        .iter()
        .enumerate()
        .map(|(g, n)| (group_id(g), *n))
        .collect();
    for a in &plan.actions {
        let user =
            a.op.user_ref()
                .and_then(|u| u.id.as_ref())
                .map(|id| id.to_string());
        let Some(user) = user else { continue };
        prop_assert!(
            !built.protected.contains(&user),
            "a protected account is touched: {:?}",
            a.op
        );
        let destructive = a.kind.symbol() == '-'
            || matches!(&a.op, Op::AssignLicenses { remove, .. } if !remove.is_empty())
            || matches!(a.op, Op::ClearManager { .. });
        if destructive {
            prop_assert!(
                built.managed.contains(&user),
                "an unmanaged account is changed destructively: {:?}",
                a.op
            );
        }
        let leaver = built.leaving.contains(&user);
        if let Op::AssignLicenses { add, remove, .. } = &a.op {
            for sku in add.iter().map(|x| &x.sku) {
                prop_assert!(
                    governed.contains(sku.as_str()),
                    "ungoverned {sku} added: {:?}",
                    a.op
                );
            }
            for sku in remove.iter().map(|x| &x.sku) {
                let allowed = if leaver {
                    !w.reclaim_governed || governed.contains(sku.as_str())
                } else {
                    governed.contains(sku.as_str())
                };
                prop_assert!(allowed, "{sku} removed (leaver: {leaver}): {:?}", a.op);
            }
        }
        if let Op::RemoveMember { group, .. }
        | Op::RemoveOwner { group, .. }
        | Op::RemoveTeamMember { group, .. } = &a.op
        {
            let name = group
                .id
                .as_ref()
                .and_then(|g| group_name.get(g.as_str()).copied())
                .unwrap_or("");
            if !DECLARED.contains(&name) {
                prop_assert!(
                    leaver && !w.declared_groups_only,
                    "a member who stays is taken out of undeclared `{name}`: {:?}",
                    a.op
                );
            }
        }
    }
    // No group that has owners is left without one.
    for (g, live_owners) in &built.live.owners {
        if live_owners.is_empty() {
            continue;
        }
        let mut after: BTreeSet<String> = live_owners.iter().map(|o| o.to_string()).collect();
        for a in &plan.actions {
            let (group, user) = match &a.op {
                Op::RemoveOwner { group, user }
                | Op::RemoveTeamMember {
                    group,
                    user,
                    role: TeamRole::Owner,
                } => (group, user),
                _ => continue,
            };
            if group.id.as_ref() == Some(g) {
                after.remove(&user.id.as_ref().map(|i| i.to_string()).unwrap_or_default());
            }
        }
        for a in &plan.actions {
            let (group, user) = match &a.op {
                Op::AddOwner { group, user }
                | Op::AddTeamMember {
                    group,
                    user,
                    role: TeamRole::Owner,
                } => (group, user),
                _ => continue,
            };
            if group.id.as_ref() == Some(g) {
                after.insert(user.upn.clone());
            }
        }
        prop_assert!(
            !after.is_empty(),
            "group {} is left without an owner",
            group_name.get(g.as_str()).copied().unwrap_or("?")
        );
    }
    Ok(())
}

#[test]
fn plans_touch_only_what_the_policies_govern() {
    let cases = 1000;
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let planned = std::cell::Cell::new(0u32);
    let actions = std::cell::Cell::new(0usize);
    runner
        .run(&world(), |w| {
            let built = build(&w);
            if let Ok(plan) = plan(&w, &built) {
                planned.set(planned.get() + 1);
                actions.set(actions.get() + plan.actions.len());
                governs_nothing_else(&w, &built, &plan)?;
            }
            Ok(())
        })
        .unwrap();
    // The property means something only if most worlds make a plan.
    assert!(
        planned.get() * 2 > cases,
        "only {} of {cases} worlds made a plan",
        planned.get()
    );
    assert!(
        actions.get() > cases as usize,
        "plans did things: {}",
        actions.get()
    );
}
