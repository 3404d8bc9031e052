//! The Okta half: `okta/users.json`, `okta/groups.json`, `okta/group-members.json`
//! in the shapes `GET /api/v1/users` and `GET /api/v1/groups` return.

use serde_json::{Value, json};

use super::people::{Kind, Person, Status};
use super::tables::COUNTRIES;
use super::{Tenant, at_days_ago, json_array, json_map};

const ORG: &str = "https://scale.okta.com";

/// The three Okta files.
pub fn files(t: &Tenant) -> Vec<(String, Vec<u8>)> {
    let users = json_array(t.people.iter().map(|p| user(t, p)));
    let groups = json_array(t.okta_groups.iter().map(|g| group(t, g)));
    let mut members: Vec<(&str, Vec<&str>)> = t
        .okta_groups
        .iter()
        .map(|g| {
            let ids = g.members.iter().map(|&i| t.people[i].okta_id.as_str());
            (g.id.as_str(), ids.collect())
        })
        .collect();
    members.sort_by(|a, b| a.0.cmp(b.0));
    vec![
        ("okta/users.json".into(), users),
        ("okta/groups.json".into(), groups),
        ("okta/group-members.json".into(), json_map(members)),
    ]
}

/// An Okta group of the synthetic tenant and its members (indices into the people).
pub struct OktaGroup {
    /// `00g…`.
    pub id: String,
    /// `profile.name`.
    pub name: String,
    /// `profile.description`.
    pub description: String,
    /// `BUILT_IN` or `OKTA_GROUP`.
    pub kind: &'static str,
    /// Members.
    pub members: Vec<usize>,
}

fn user(t: &Tenant, p: &Person) -> Value {
    let country = &COUNTRIES[p.country];
    let login = p.login();
    let created = at_days_ago(t.now, p.age_days);
    let activated = at_days_ago(t.now, p.age_days - 14);
    let (status, status_changed) = match p.status {
        Status::Active => ("ACTIVE", Value::from(activated.clone())),
        Status::Staged => ("STAGED", Value::Null),
        Status::Suspended { days } => ("SUSPENDED", Value::from(at_days_ago(t.now, days))),
        Status::Deprovisioned { days } => ("DEPROVISIONED", Value::from(at_days_ago(t.now, days))),
    };
    let staged = p.status == Status::Staged;
    let last_login = (!staged).then(|| at_days_ago(t.now, 1 + p.age_days % 7));
    let user_type = match p.kind {
        Kind::Employee => "Employee",
        Kind::Contractor => "Contractor",
        Kind::Guest => "Partner",
    };
    let mut profile = json!({
        "firstName": p.first,
        "lastName": p.last,
        "displayName": format!("{} {}", p.first, p.last),
        "login": login,
        "email": login,
        "secondEmail": null,
    });
    let fields = profile.as_object_mut().expect("an object");
    if p.kind == Kind::Guest {
        fields.insert("organization".into(), json!(p.organization));
        fields.insert("userType".into(), json!(user_type));
    } else {
        fields.insert("title".into(), json!(p.title));
        fields.insert("department".into(), json!(p.department.name));
        fields.insert("employeeNumber".into(), json!(p.employee_number));
        fields.insert("userType".into(), json!(user_type));
        fields.insert("city".into(), json!(p.city));
        fields.insert("countryCode".into(), json!(country.code));
        fields.insert("mobilePhone".into(), json!(t.phone(p)));
        fields.insert("preferredLanguage".into(), json!(country.language));
        fields.insert("timezone".into(), json!(country.timezone));
        if let Some(m) = p.manager {
            fields.insert("managerId".into(), json!(t.people[m].login()));
        }
    }
    json!({
        "id": p.okta_id,
        "status": status,
        "created": created,
        "activated": if staged { Value::Null } else { Value::from(activated.clone()) },
        "statusChanged": status_changed,
        "lastLogin": last_login,
        "lastUpdated": at_days_ago(t.now, p.age_days.min(40) / 2),
        "passwordChanged": (!staged).then_some(activated),
        "type": { "id": "oty1LlYIMFu7LoLfc4x7" },
        "profile": profile,
        "credentials": {
            "password": {},
            "provider": { "type": "OKTA", "name": "OKTA" }
        },
        "_links": {
            "self": { "href": format!("{ORG}/api/v1/users/{}", p.okta_id) }
        }
    })
}

fn group(t: &Tenant, g: &OktaGroup) -> Value {
    json!({
        "id": g.id,
        "created": at_days_ago(t.now, 2400),
        "lastUpdated": at_days_ago(t.now, 2400),
        "lastMembershipUpdated": at_days_ago(t.now, 1),
        "objectClass": ["okta:user_group"],
        "type": g.kind,
        "profile": { "name": g.name, "description": g.description },
        "_links": {
            "logo": [
                {
                    "name": "medium",
                    "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-medium.30ce6d4085dff29412984e4c191bc874.png",
                    "type": "image/png"
                },
                {
                    "name": "large",
                    "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-large.c3cb8cda8ae0add1b4fe928f5844dbe3.png",
                    "type": "image/png"
                }
            ],
            "users": { "href": format!("{ORG}/api/v1/groups/{}/users", g.id) },
            "apps": { "href": format!("{ORG}/api/v1/groups/{}/apps", g.id) }
        }
    })
}
