//! A synthetic tenant for benchmarks and smoke tests: Okta and Office 365
//! snapshots in the vendors' own shapes, with the config and policies that
//! manage them.
//!
//! Pure: parameters in, a list of (relative path, bytes) out; no I/O and no
//! clock. The same parameters give byte-identical output (ChaCha8 seeded
//! with `seed`).
//!
//! The tenant mixes what a real one has: departments and countries that drive
//! licences and groups through lookup tables, `team-*` groups with a long
//! tail of sizes (mirrored into Microsoft 365 groups), about 1 % leavers at
//! every offboarding stage, 2 % movers, 5 % accounts that drifted in Office
//! 365, joiners, guests, service accounts, and protected break-glass admins.
//! The plan it yields has no errors and the seats cover it.

mod m365;
mod okta;
mod people;
mod policy;
mod tables;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::Value;

use m365::{M365Group, Unmanaged};
use okta::OktaGroup;
use people::{Drift, Kind, Person, Status};
use tables::{COUNTRIES, DEPARTMENTS};

/// The time the tenant is generated for: plan it with `--now` set to this.
pub const NOW: &str = "2026-11-20T00:00:00Z";

/// The company's mail domain.
pub const DOMAIN: &str = "scale.example";

/// The tenant's initial domain (guest UPNs end with it).
pub const TENANT_DOMAIN: &str = "scaleexample.onmicrosoft.com";

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Okta users (employees, contractors, guests).
    pub users: usize,
    /// Okta groups (six fixed ones, the rest `team-*`).
    pub groups: usize,
    /// The seed: the same seed gives the same bytes.
    pub seed: u64,
}

/// Generates the tenant: every file, by path relative to the output folder.
pub fn generate(params: &Params) -> Vec<(String, Vec<u8>)> {
    let tenant = Tenant::new(params);
    let groups = tenant.m365_groups();
    let mut files = policy::files(params);
    files.extend(okta::files(&tenant));
    files.extend(m365::files(&tenant, &groups));
    files
}

/// Everything drawn, shared by the renderers.
pub struct Tenant {
    now: jiff::Timestamp,
    people: Vec<Person>,
    okta_groups: Vec<OktaGroup>,
    /// Per `team-*` group: its name, Okta members, Office 365 object id, and
    /// whether it exists in Office 365 yet.
    teams: Vec<TeamGroup>,
    /// Object ids of the fixed Office 365 groups, in `fixed_m365_groups` order.
    fixed_ids: Vec<String>,
    unmanaged: Vec<Unmanaged>,
    skus: Vec<Sku>,
}

struct TeamGroup {
    okta: usize,
    object_id: String,
    exists: bool,
}

struct Sku {
    part: String,
    id: String,
    json: Value,
}

impl Sku {
    fn plan_id(&self, name: &str) -> &str {
        self.json["servicePlans"]
            .as_array()
            .and_then(|plans| {
                plans
                    .iter()
                    .find(|p| p["servicePlanName"] == name)
                    .and_then(|p| p["servicePlanId"].as_str())
            })
            .expect("the service plans the policies disable are in the SKU")
    }
}

/// Microsoft's SKUs and service plans, as the bundled example has them.
const SKUS: &str = include_str!("../../examples/acme/m365/subscribedSkus.json");

impl Tenant {
    fn new(params: &Params) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let now: jiff::Timestamp = NOW.parse().expect("NOW is RFC 3339");
        let people = people::people(params, &mut rng);
        let sizes = people::team_sizes(params);
        let team_members = people::team_members(&people, &sizes, &mut rng);
        let mut okta_groups = fixed_okta_groups(&people, &mut rng);
        let mut teams = Vec::new();
        for (k, members) in team_members.into_iter().enumerate() {
            teams.push(TeamGroup {
                okta: okta_groups.len(),
                object_id: tables::guid(&mut rng),
                exists: k % 100 != 99,
            });
            okta_groups.push(OktaGroup {
                id: tables::okta_id(&mut rng, 'g'),
                name: format!("team-{:05}", k + 1),
                description: format!("Project team {}", k + 1),
                kind: "OKTA_GROUP",
                members,
            });
        }
        let fixed_ids = (0..fixed_m365_groups().len())
            .map(|_| tables::guid(&mut rng))
            .collect();
        let unmanaged = unmanaged_accounts(params.users, &mut rng);
        let skus = serde_json::from_str::<Vec<Value>>(SKUS)
            .expect("the bundled subscribedSkus.json parses")
            .into_iter()
            .map(|json| Sku {
                part: json["skuPartNumber"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                id: json["skuId"].as_str().unwrap_or_default().to_owned(),
                json,
            })
            .collect();
        Self {
            now,
            people,
            okta_groups,
            teams,
            fixed_ids,
            unmanaged,
            skus,
        }
    }

    fn sku(&self, part: &str) -> &Sku {
        self.skus
            .iter()
            .find(|s| s.part == part)
            .expect("the policies only name SKUs of the bundled list")
    }

    /// A phone number in the person's country, stable per person.
    fn phone(&self, p: &Person) -> String {
        let digits = p.employee_number.parse::<u64>().unwrap_or(0) * 7919 % 10_000_000;
        format!("{} 555 {digits:07}", COUNTRIES[p.country].phone)
    }

    /// The Office 365 groups as they are now: the policies' groups (members
    /// as the rules put them, before drift, leavers and movers are fixed),
    /// the mirrored `team-*` groups, and a few unmanaged ones.
    fn m365_groups(&self) -> Vec<M365Group> {
        let mut groups: Vec<M365Group> = fixed_m365_groups()
            .into_iter()
            .zip(&self.fixed_ids)
            .map(|(f, id)| M365Group {
                id: id.clone(),
                nickname: f.nickname,
                display: f.display,
                description: f.description,
                unified: f.unified,
                team: f.team,
                members: Vec::new(),
                owners: Vec::new(),
            })
            .collect();
        let index = |nick: &str| {
            groups
                .iter()
                .position(|g| g.nickname == nick)
                .expect("a fixed group")
        };
        let dept: Vec<usize> = DEPARTMENTS.iter().map(|d| index(d.group)).collect();
        let country: Vec<usize> = COUNTRIES
            .iter()
            .map(|c| index(&format!("staff-{}", c.code.to_lowercase())))
            .collect();
        let engineering = index("engineering");
        let finance_data = index("finance-data-access");
        let partners = index("partners");
        let break_glass = index("break-glass-admins");
        let legacy = index("legacy-all-users");
        for (i, p) in self.people.iter().enumerate() {
            // Offboarded accounts (deprovisioned) lost their memberships already.
            if !p.has_account || matches!(p.status, Status::Deprovisioned { .. }) && p.is_staff() {
                continue;
            }
            let id = p.object_id.clone();
            if p.kind == Kind::Guest {
                groups[partners].members.push(id);
                continue;
            }
            let live_dept = p.live_department();
            let d = DEPARTMENTS
                .iter()
                .position(|x| std::ptr::eq(x, live_dept))
                .expect("a department of the table");
            let missing = p.drift == Some(Drift::MissingGroup);
            let in_dept_group = p.kind == Kind::Employee || live_dept.name == "Engineering";
            if in_dept_group && !(missing && p.kind == Kind::Employee) {
                groups[dept[d]].members.push(id.clone());
            }
            if !(missing && p.kind == Kind::Contractor) {
                groups[country[p.country]].members.push(id.clone());
            }
            let title = p.live_title();
            if live_dept.name == "Engineering" && title.contains("Staff Engineer") {
                // Owners are members too; the department group already has them unless drifted.
                if missing && p.kind == Kind::Employee {
                    groups[engineering].members.push(id.clone());
                }
                groups[engineering].owners.push(id.clone());
            }
            let senior = ["manager", "director", "controller"]
                .iter()
                .any(|w| title.to_lowercase().contains(w));
            if live_dept.name == "Finance" && senior {
                groups[finance_data].members.push(id.clone());
            }
            if i % 50 == 0 {
                groups[legacy].members.push(id);
            }
        }
        for u in &self.unmanaged {
            if u.handle.starts_with("breakglass") {
                groups[break_glass].members.push(u.id.clone());
            }
        }
        let extra: Vec<usize> = (0..self.people.len())
            .filter(|&i| self.people[i].drift == Some(Drift::ExtraTeamGroup))
            .collect();
        for (k, team) in self.teams.iter().enumerate() {
            let okta = &self.okta_groups[team.okta];
            if !team.exists {
                continue;
            }
            let mut members: Vec<String> = okta
                .members
                .iter()
                .map(|&i| &self.people[i])
                .filter(|p| p.has_account)
                .map(|p| p.object_id.clone())
                .collect();
            // Drift: someone added by hand to a group Okta does not put them in.
            for &i in &extra {
                if i % self.teams.len() == k && okta.members.binary_search(&i).is_err() {
                    members.push(self.people[i].object_id.clone());
                }
            }
            groups.push(M365Group {
                id: team.object_id.clone(),
                nickname: okta.name.clone(),
                display: okta.name.clone(),
                description: okta.description.clone(),
                unified: true,
                team: false,
                members,
                owners: Vec::new(),
            });
        }
        groups
    }
}

struct FixedGroup {
    nickname: String,
    display: String,
    description: String,
    unified: bool,
    team: bool,
}

/// The Office 365 groups besides the mirrored ones, in a fixed order.
fn fixed_m365_groups() -> Vec<FixedGroup> {
    let group =
        |nick: &str, display: &str, description: &str, unified: bool, team: bool| FixedGroup {
            nickname: nick.to_owned(),
            display: display.to_owned(),
            description: description.to_owned(),
            unified,
            team,
        };
    let mut out: Vec<FixedGroup> = DEPARTMENTS
        .iter()
        .map(|d| {
            let description = format!("{} department.", d.name);
            group(
                d.group,
                d.group_display,
                &description,
                true,
                d.name == "Engineering",
            )
        })
        .collect();
    for c in COUNTRIES.iter() {
        out.push(group(
            &format!("staff-{}", c.code.to_lowercase()),
            &format!("Staff {}", c.name),
            &format!("Everyone working in {}.", c.name),
            true,
            false,
        ));
    }
    out.push(group(
        "finance-data-access",
        "Finance Data Access",
        "Grants access to finance SharePoint sites; sensitive.",
        false,
        false,
    ));
    out.push(group("partners", "Partners", "B2B guests.", true, false));
    out.push(group(
        "break-glass-admins",
        "Break Glass Admins",
        "Emergency access accounts.",
        false,
        false,
    ));
    out.push(group(
        "legacy-all-users",
        "Legacy All Users",
        "Hand-kept list from before okta365.",
        true,
        false,
    ));
    out
}

/// Everyone, Employees, Contractors, O365Guest, Break Glass Admins, VPN Users.
fn fixed_okta_groups(people: &[Person], rng: &mut impl Rng) -> Vec<OktaGroup> {
    let all: Vec<usize> = (0..people.len()).collect();
    let current = |kind: Kind| -> Vec<usize> {
        (0..people.len())
            .filter(|&i| {
                people[i].kind == kind && !matches!(people[i].status, Status::Deprovisioned { .. })
            })
            .collect()
    };
    let vpn: Vec<usize> = (0..people.len())
        .filter(|&i| people[i].is_staff() && i % 3 == 0)
        .collect();
    let groups = [
        (
            "Everyone",
            "All users in your organization",
            "BUILT_IN",
            all,
        ),
        (
            "Employees",
            "Permanent staff (fed from the HR system)",
            "OKTA_GROUP",
            current(Kind::Employee),
        ),
        (
            "Contractors",
            "External contractors",
            "OKTA_GROUP",
            current(Kind::Contractor),
        ),
        (
            "O365Guest",
            "Partners who get a guest account",
            "OKTA_GROUP",
            current(Kind::Guest),
        ),
        (
            "Break Glass Admins",
            "Emergency access",
            "OKTA_GROUP",
            Vec::new(),
        ),
        ("VPN Users", "VPN access", "OKTA_GROUP", vpn),
    ];
    debug_assert_eq!(groups.len(), tables::FIXED_OKTA_GROUPS);
    groups
        .into_iter()
        .map(|(name, description, kind, members)| OktaGroup {
            id: tables::okta_id(rng, 'g'),
            name: name.to_owned(),
            description: description.to_owned(),
            kind,
            members,
        })
        .collect()
}

/// Service accounts (about 0.2 % of the users, at least three) and two
/// break-glass admins (protected).
fn unmanaged_accounts(users: usize, rng: &mut impl Rng) -> Vec<Unmanaged> {
    let mut out = Vec::new();
    for n in 1..=2 {
        out.push(Unmanaged {
            id: tables::guid(rng),
            handle: format!("breakglass-{n:02}"),
            display: format!("Break Glass {n:02}"),
            skus: vec!["SPE_E3"],
        });
    }
    let apps = ["flow", "scanner", "backup", "reporting", "sync"];
    for n in 0..(users / 500).max(3) {
        let app = apps[n % apps.len()];
        out.push(Unmanaged {
            id: tables::guid(rng),
            handle: format!("svc-{app}-{:02}", n / apps.len() + 1),
            display: format!("Service {app} {}", n / apps.len() + 1),
            skus: vec!["FLOW_FREE"],
        });
    }
    out
}

/// RFC 3339 time `days` before `now`, at 09:00 UTC.
fn at_days_ago(now: jiff::Timestamp, days: i64) -> String {
    let at = now.as_second() - days * 86_400 + 9 * 3600;
    jiff::Timestamp::from_second(at)
        .expect("within jiff's range")
        .to_string()
}

/// A JSON array, pretty-printed like the snapshot writer, serialising one
/// element at a time (the elements are never all in memory as values).
fn json_array<T: Serialize>(items: impl IntoIterator<Item = T>) -> Vec<u8> {
    use serde::Serializer;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    ser.collect_seq(items).expect("JSON values serialise");
    out.push(b'\n');
    out
}

/// A JSON object of id → ids, pretty-printed.
fn json_map<'a>(entries: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Vec<u8> {
    use serde::Serializer;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::pretty(&mut out);
    ser.collect_map(entries).expect("JSON values serialise");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let p = Params {
            users: 200,
            groups: 10,
            seed: 7,
        };
        let a = generate(&p);
        assert_eq!(a, generate(&p));
        assert_ne!(a, generate(&Params { seed: 8, ..p }));
    }

    #[test]
    fn files_parse_as_the_snapshot_models() {
        let files = generate(&Params {
            users: 300,
            groups: 15,
            seed: 1,
        });
        let get = |name: &str| {
            &files
                .iter()
                .find(|(p, _)| p == name)
                .unwrap_or_else(|| panic!("{name} generated"))
                .1
        };
        let okta: Vec<crate::model::okta::User> =
            serde_json::from_slice(get("okta/users.json")).unwrap();
        assert_eq!(okta.len(), 300);
        let live: Vec<crate::model::graph::User> =
            serde_json::from_slice(get("m365/users.json")).unwrap();
        assert!(live.len() > 250, "{}", live.len());
        let skus: Vec<crate::model::graph::SubscribedSku> =
            serde_json::from_slice(get("m365/subscribedSkus.json")).unwrap();
        assert!(skus.iter().all(|s| s.available() >= 0));
    }

    #[test]
    fn team_sizes_have_a_long_tail() {
        let sizes = people::team_sizes(&Params {
            users: 100_000,
            groups: 5_000,
            seed: 1,
        });
        assert!(sizes[0] >= 5_000, "{}", sizes[0]);
        let small = sizes.iter().filter(|&&s| s < 100).count();
        assert!(small > sizes.len() / 2, "{small} of {}", sizes.len());
    }
}
