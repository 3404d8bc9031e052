//! The people of a synthetic tenant: who they are in Okta, and how their
//! Office 365 account stands (in line, drifted, missing, offboarding).

use rand::seq::index;
use rand::{Rng, RngExt};

use super::tables::{self, COUNTRIES, DEPARTMENTS, Department, FIRST_NAMES, LAST_NAMES};
use super::{DOMAIN, Params};

/// What kind of Okta user someone is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// In `Employees`.
    Employee,
    /// In `Contractors`.
    Contractor,
    /// A partner in `O365Guest`.
    Guest,
}

/// The Okta status and how far offboarding got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Can sign in.
    Active,
    /// Created, not yet activated (a joiner created disabled).
    Staged,
    /// Suspended `days` ago; the Office 365 account is still enabled.
    Suspended { days: i64 },
    /// Deprovisioned `days` ago; the account is already disabled and stamped.
    Deprovisioned { days: i64 },
}

impl Status {
    /// Whether the person is leaving.
    pub fn is_leaver(self) -> bool {
        matches!(self, Self::Suspended { .. } | Self::Deprovisioned { .. })
    }
}

/// A hand edit (or a missed update) on the Office 365 side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drift {
    /// `jobTitle` edited by hand.
    JobTitle,
    /// `officeLocation` edited by hand.
    OfficeLocation,
    /// Sign-in blocked although Okta says ACTIVE.
    Disabled,
    /// Missing from their department group (employees) or country group (contractors).
    MissingGroup,
    /// In a `team-*` group Okta does not put them in.
    ExtraTeamGroup,
    /// The base licence has Yammer enabled.
    YammerEnabled,
    /// Same UPN, but no ownership marker yet (to be linked).
    Unlinked,
}

const DRIFTS: [Drift; 7] = [
    Drift::JobTitle,
    Drift::OfficeLocation,
    Drift::Disabled,
    Drift::MissingGroup,
    Drift::ExtraTeamGroup,
    Drift::YammerEnabled,
    Drift::Unlinked,
];

/// (life, drift) rolls that force one of each scenario onto the first
/// employees who are not managers: suspended, deprovisioned (licence
/// reclaim, then deletion), staged and active joiners, a mover, then each drift.
const FORCED: [(f64, f64); 13] = [
    (0.001, 1.0),
    (0.006, 1.0),
    (0.0095, 1.0),
    (0.011, 1.0),
    (0.015, 1.0),
    (0.99, 1.0),
    (0.5, 0.0),
    (0.5, 0.0),
    (0.5, 0.0),
    (0.5, 0.0),
    (0.5, 0.0),
    (0.5, 0.0),
    (0.5, 0.0),
];

/// The drifts forced on the employees after the scenarios above.
const FORCED_DRIFT: [Drift; 7] = DRIFTS;

/// Life rolls of the first guests: one deprovisioned, one not yet invited.
const FORCED_GUEST: [f64; 2] = [0.01, 0.05];

/// One Okta user and their Office 365 account.
#[derive(Clone, Debug)]
pub struct Person {
    /// Okta user id (`00u…`).
    pub okta_id: String,
    /// Office 365 object id (a GUID), also for those without an account yet.
    pub object_id: String,
    /// Given name.
    pub first: &'static str,
    /// Family name.
    pub last: &'static str,
    /// Local part of the login (`first.last`, numbered when taken).
    pub handle: String,
    /// Employee, contractor or guest.
    pub kind: Kind,
    /// Okta status.
    pub status: Status,
    /// Department now (Okta).
    pub department: &'static Department,
    /// Department and title Office 365 still has (a mover).
    pub moved_from: Option<(&'static Department, &'static str)>,
    /// Job title.
    pub title: &'static str,
    /// Index into `COUNTRIES`.
    pub country: usize,
    /// City (`None`: remote).
    pub city: Option<&'static str>,
    /// Employee number.
    pub employee_number: String,
    /// The partner organisation (guests).
    pub organization: Option<&'static str>,
    /// Whether the Office 365 account exists yet.
    pub has_account: bool,
    /// What differs on the Office 365 side.
    pub drift: Option<Drift>,
    /// Manager (an index into the people), employees only.
    pub manager: Option<usize>,
    /// Days since the account was created (for timestamps).
    pub age_days: i64,
}

impl Person {
    /// `profile.login` (and `email`).
    pub fn login(&self) -> String {
        match self.organization {
            Some(org) => format!("{}@{}", self.handle, tables::partner_domain(org)),
            None => format!("{}@{DOMAIN}", self.handle),
        }
    }

    /// Whether the person is in `team-*` groups and department groups.
    pub fn is_staff(&self) -> bool {
        self.kind != Kind::Guest
    }

    /// The title Office 365 shows (movers keep the old one).
    pub fn live_title(&self) -> &'static str {
        self.moved_from.map_or(self.title, |(_, t)| t)
    }

    /// The department Office 365 shows.
    pub fn live_department(&self) -> &'static Department {
        self.moved_from.map_or(self.department, |(d, _)| d)
    }
}

/// Draws the people. Stable for a seed: every draw comes from `rng` in order.
pub fn people(params: &Params, rng: &mut impl Rng) -> Vec<Person> {
    let n = params.users;
    let mut taken = std::collections::HashMap::<String, u32>::new();
    let mut out: Vec<Person> = Vec::with_capacity(n);
    // The first people of each department are its managers: always active and linked.
    let mut managers: Vec<Vec<usize>> = vec![Vec::new(); DEPARTMENTS.len()];
    let (mut forced_employee, mut forced_guest) = (0, 0);
    for i in 0..n {
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        let base = format!(
            "{}.{}",
            tables::ascii_handle(first),
            tables::ascii_handle(last)
        );
        let count = taken.entry(base.clone()).or_insert(0);
        *count += 1;
        let handle = if *count == 1 {
            base
        } else {
            format!("{base}{count}")
        };
        let roll: f64 = rng.random();
        let kind = if roll < 0.01 {
            Kind::Guest
        } else if roll < 0.09 {
            Kind::Contractor
        } else {
            Kind::Employee
        };
        let dept_index = tables::weighted(rng, DEPARTMENTS.iter().map(|d| d.weight));
        let department = &DEPARTMENTS[dept_index];
        let country = tables::weighted(rng, COUNTRIES.iter().map(|c| c.weight));
        let cities = COUNTRIES[country].cities;
        let city = if rng.random_bool(0.06) {
            None
        } else {
            Some(cities[rng.random_range(0..cities.len())])
        };
        let title =
            department.titles[tables::weighted(rng, department.titles.iter().map(|t| t.1))].0;
        let okta_id = tables::okta_id(rng, 'u');
        let object_id = tables::guid(rng);
        let age_days = rng.random_range(30..3000);
        let is_manager = kind == Kind::Employee && managers[dept_index].len() < 1 + i / 400;
        // Scenario rolls; managers stay put so reports always have one.
        let mut life: f64 = rng.random();
        let mut drift_roll: f64 = rng.random();
        let mut drift_kind = DRIFTS[rng.random_range(0..DRIFTS.len())];
        let mut move_to = rng.random_range(0..DEPARTMENTS.len());
        // Every tenant, however small, has each scenario at least once.
        if kind == Kind::Employee && !is_manager && forced_employee < FORCED.len() {
            (life, drift_roll) = FORCED[forced_employee];
            if let Some(k) = FORCED_DRIFT.get(forced_employee.wrapping_sub(6)) {
                drift_kind = *k;
            }
            if move_to == dept_index {
                move_to = (move_to + 1) % DEPARTMENTS.len();
            }
            forced_employee += 1;
        } else if kind == Kind::Guest && forced_guest < FORCED_GUEST.len() {
            life = FORCED_GUEST[forced_guest];
            forced_guest += 1;
        }
        let old_title_pick: f64 = rng.random();
        let manager_pick: u64 = rng.random();
        let (status, has_account) = if is_manager || kind == Kind::Guest && life >= 0.02 {
            (Status::Active, kind != Kind::Guest || life >= 0.1)
        } else if kind == Kind::Guest {
            // Guests leave too: their Okta user is deprovisioned.
            (Status::Deprovisioned { days: 5 }, true)
        } else if life < 0.005 {
            (
                Status::Suspended {
                    days: rng.random_range(1..10),
                },
                true,
            )
        } else if life < 0.009 {
            (
                Status::Deprovisioned {
                    days: rng.random_range(31..85),
                },
                true,
            )
        } else if life < 0.010 {
            (
                Status::Deprovisioned {
                    days: rng.random_range(95..200),
                },
                true,
            )
        } else if life < 0.013 {
            (Status::Staged, false)
        } else if life < 0.018 {
            (Status::Active, false)
        } else {
            (Status::Active, true)
        };
        let settled = status == Status::Active && has_account && kind != Kind::Guest;
        let moved_from =
            (settled && !is_manager && life >= 0.98 && move_to != dept_index).then(|| {
                let old = &DEPARTMENTS[move_to];
                let t = old.titles[(old_title_pick * old.titles.len() as f64) as usize].0;
                (old, t)
            });
        let drift = (settled && moved_from.is_none() && !is_manager && drift_roll < 0.05)
            .then_some(drift_kind)
            .filter(|d| *d != Drift::YammerEnabled || kind == Kind::Employee);
        let manager = (kind == Kind::Employee && !is_manager && !managers[dept_index].is_empty())
            .then(|| {
                let pool = &managers[dept_index];
                pool[(manager_pick % pool.len() as u64) as usize]
            });
        if is_manager {
            managers[dept_index].push(i);
        }
        let organization = (kind == Kind::Guest)
            .then(|| tables::PARTNERS[rng.random_range(0..tables::PARTNERS.len())]);
        out.push(Person {
            okta_id,
            object_id,
            first,
            last,
            handle,
            kind,
            status,
            department,
            moved_from,
            title: if kind == Kind::Contractor && title.contains("Manager") {
                "Consultant"
            } else {
                title
            },
            country,
            city,
            employee_number: format!("{}", 100_000 + i),
            organization,
            has_account,
            drift,
            manager,
            age_days,
        });
    }
    out
}

/// Sizes of the `team-*` groups: a long tail (the largest about 8 % of the
/// users, most a few dozen or fewer).
pub fn team_sizes(params: &Params) -> Vec<usize> {
    let count = team_group_count(params);
    let staff = params.users.max(1);
    (0..count)
        .map(|k| {
            let size = 0.08 * staff as f64 / (k as f64 + 1.0).powf(0.85);
            (size as usize).clamp(3.min(staff), staff)
        })
        .collect()
}

/// How many `team-*` groups: all groups but the fixed ones.
pub fn team_group_count(params: &Params) -> usize {
    params
        .groups
        .saturating_sub(tables::FIXED_OKTA_GROUPS)
        .max(1)
}

/// Draws each `team-*` group's members among the staff (indices into the people).
pub fn team_members(people: &[Person], sizes: &[usize], rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let staff: Vec<usize> = (0..people.len())
        .filter(|&i| {
            people[i].is_staff() && !matches!(people[i].status, Status::Deprovisioned { .. })
        })
        .collect();
    sizes
        .iter()
        .map(|&size| {
            let size = size.min(staff.len());
            let mut members: Vec<usize> = index::sample(rng, staff.len(), size)
                .into_iter()
                .map(|k| staff[k])
                .collect();
            members.sort_unstable();
            members
        })
        .collect()
}
