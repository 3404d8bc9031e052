//! Okta array attributes (custom `string[]`): a selector finds users by an
//! element, a bare list names several groups, `join` makes one string, and a
//! list inside longer text is an error naming the attribute.

use crate::common::{NOW, Scratch};

const JESSICA: &str = "jessica.alvarez@acme.example";
const MARCUS: &str = "marcus.webb@acme.example";

/// The example tenant, with a custom array attribute on two Okta users and
/// a rule over it whose `companyName` template is `company`.
fn tenant(company: &str) -> Scratch {
    let scratch = Scratch::new();
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        for user in users.as_array_mut().unwrap() {
            let profile = &mut user["profile"];
            match profile["login"].as_str() {
                Some(JESSICA) => {
                    profile["o365Groups"] = serde_json::json!(["Finance-Data-Access", "Support"]);
                    profile["sites"] = serde_json::json!(["Oslo", "Remote"]);
                }
                Some(MARCUS) => profile["o365Groups"] = serde_json::json!(["support"]),
                _ => {}
            }
        }
    });
    scratch.write(
        "policies/self-service.yaml",
        &format!(
            concat!(
                "rules:\n",
                "  - name: self-service-groups\n",
                "    when:\n",
                "      attribute: {{ name: o365Groups, contains: finance-data-access }}\n",
                "    attributes:\n",
                "      companyName: \"{}\"\n",
                "    groups:\n",
                "      - \"{{{{ profile.o365Groups | lower }}}}\"\n",
            ),
            company
        ),
    );
    scratch
}

/// The plan's actions as (target, kind, changes) for one user.
fn actions_for(plan: &serde_json::Value, upn: &str) -> Vec<(String, String, serde_json::Value)> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["target"].as_str().unwrap().contains(upn))
        .map(|a| {
            (
                a["target"].as_str().unwrap().to_owned(),
                a["kind"].as_str().unwrap().to_owned(),
                a["changes"].clone(),
            )
        })
        .collect()
}

#[test]
fn an_array_attribute_selects_users_and_names_their_groups() {
    let before = Scratch::new();
    let (code, stdout, stderr) = before.run(&["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let before: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let scratch = tenant("{{ profile.sites | join(' / ') }}");
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let new: Vec<_> = actions_for(&plan, JESSICA)
        .into_iter()
        .filter(|a| !actions_for(&before, JESSICA).contains(a))
        .collect();
    let targets: Vec<(&str, &str)> = new
        .iter()
        .map(|(t, k, _)| (t.as_str(), k.as_str()))
        .collect();
    assert!(
        targets.contains(&(
            "group finance-data-access member jessica.alvarez@acme.example",
            "add_member"
        )),
        "{new:#?}"
    );
    assert!(
        targets.contains(&(
            "group support member jessica.alvarez@acme.example",
            "add_member"
        )),
        "{new:#?}"
    );
    let update = new
        .iter()
        .find(|(_, kind, _)| kind == "update_user")
        .expect("an update of her companyName");
    assert!(
        update
            .2
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "companyName" && c["new"] == "Oslo / Remote"),
        "{update:#?}"
    );
    // Marcus's array has no `finance-data-access`: the rule leaves him alone.
    assert_eq!(
        actions_for(&plan, MARCUS),
        actions_for(&before, MARCUS),
        "nothing changes for a user whose array lacks the value"
    );
}

#[test]
fn a_list_inside_longer_text_is_an_error_that_suggests_join() {
    let scratch = tenant("Sites: {{ profile.sites }}");
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("policies/self-service.yaml:6:20: error: `profile.sites` is a list (an Okta array attribute) inside longer text for `jessica.alvarez@acme.example`")
            && stderr.contains("hint: join it into one string (`profile.sites | join(', ')`)"),
        "{stderr}"
    );
}
