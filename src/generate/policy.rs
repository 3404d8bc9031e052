//! `okta365.yaml` and `policies/` for the synthetic tenant: rules keyed on
//! Okta groups and attributes, lookup tables for departments and countries,
//! a `team-*` mirror, guests, offboarding stages and protected accounts.

use std::fmt::Write;

use super::Params;
use super::tables::{COUNTRIES, DEPARTMENTS};

const CONFIG: &str = "\
# okta365 configuration of a generated tenant (okta365 generate).
policies: policies
okta:
  snapshot: .
m365:
  snapshot: .
ownership:
  okta_id_attribute: extensionAttribute15
  offboarded_at_attribute: extensionAttribute14
safety:
  max_removal_percent: 10
  min_removals: 10
audit:
  path: .okta365/audit.jsonl
";

const RULES: &str = r#"# Who gets an Office 365 account, and with what.
rules:
  - name: employees
    description: Employees get E3 (without Yammer), add-ons by department, and their department and country groups.
    when:
      group: Employees
    attributes:
      userPrincipalName: "{{ profile.login | lower }}"
      mailNickname: "{{ profile.login | lower | replace('@scale.example', '') }}"
      displayName: "{{ profile.firstName }} {{ profile.lastName }}"
      givenName: "{{ profile.firstName }}"
      surname: "{{ profile.lastName }}"
      mail: "{{ profile.email | lower }}"
      jobTitle: "{{ profile.title | default('Staff') }}"
      department: "{{ profile.department }}"
      officeLocation: "{{ profile.city | default('Remote') }}"
      employeeId: "{{ profile.employeeNumber }}"
      usageLocation: "{{ profile.countryCode | lookup('usage_location') | default('US') }}"
      manager: "{{ profile.managerId | default('') }}"
    licenses:
      - sku: SPE_E3
        disabled_plans: [YAMMER_ENTERPRISE]
      - sku: "{{ profile.department | lookup('department_addons') | default('') }}"
    groups:
      - "{{ profile.department | lookup('department_group') }}"
      - "{{ profile.countryCode | lookup('country_group') }}"

  - name: contractors
    description: Contractors get Office 365 E3 without Sway or Yammer, and their country group.
    when:
      all:
        - group: Contractors
        - not: { group: Employees }
    attributes:
      userPrincipalName: "{{ profile.login | lower }}"
      mailNickname: "{{ profile.login | lower | replace('@scale.example', '') }}"
      displayName: "{{ profile.firstName }} {{ profile.lastName }} (Contractor)"
      givenName: "{{ profile.firstName }}"
      surname: "{{ profile.lastName }}"
      mail: "{{ profile.email | lower }}"
      jobTitle: "{{ profile.title | default('Contractor') }}"
      department: "{{ profile.department }}"
      usageLocation: "{{ profile.countryCode | lookup('usage_location') | default('US') }}"
    licenses:
      - sku: ENTERPRISEPACK
        disabled_plans: [SWAY, YAMMER_ENTERPRISE]
    groups:
      - "{{ profile.countryCode | lookup('country_group') }}"

  - name: engineering-team
    description: Everyone in Engineering is in the Engineering Team.
    when:
      attribute: { name: department, equals: Engineering }
    teams:
      - team: engineering

  - name: engineering-owners
    description: Staff engineers own the Engineering Team.
    when:
      all:
        - attribute: { name: department, equals: Engineering }
        - attribute: { name: title, glob: "*Staff Engineer*" }
    teams:
      - team: engineering
        role: owner

  - name: finance-data
    description: Finance managers get the sensitive finance data group.
    when:
      all:
        - attribute: { name: department, equals: Finance }
        - attribute: { name: title, regex: "(?i)manager|director|controller" }
    groups:
      - finance-data-access
"#;

const GUESTS: &str = r#"# Partners in the O365Guest Okta group get a B2B guest account.
guests:
  - name: partner-guests
    when:
      group: O365Guest
    mail: "{{ profile.email | lower }}"
    display_name: "{{ profile.firstName }} {{ profile.lastName }} ({{ profile.organization | default('Partner') }})"
    redirect_url: https://myapps.microsoft.com
    send_invitation: false
    groups:
      - partners
    on_leave: remove
"#;

const LIFECYCLE: &str = r#"# Joiners before activation, and leavers.
lifecycle:
  pending_users: create_disabled
  offboarding:
    revoke_sessions: true
    remove_memberships: true
    reclaim_licenses_after_days: 30
    delete_after_days: 90

# Never touched, whatever a rule says.
protected:
  upns:
    - breakglass-01@scale.example
    - breakglass-02@scale.example
  groups:
    - Break Glass Admins
"#;

/// The config file and the policy files.
pub fn files(_params: &Params) -> Vec<(String, Vec<u8>)> {
    vec![
        ("okta365.yaml".into(), CONFIG.into()),
        ("policies/employees.yaml".into(), RULES.into()),
        ("policies/groups.yaml".into(), groups().into_bytes()),
        ("policies/guests.yaml".into(), GUESTS.into()),
        ("policies/lifecycle.yaml".into(), LIFECYCLE.into()),
        ("policies/lookups.yaml".into(), lookups().into_bytes()),
    ]
}

fn groups() -> String {
    let mut out = String::from("# Groups and Teams okta365 owns.\ngroups:\n");
    let mut group = |name: &str, display: &str, kind: &str, team: bool| {
        let _ = writeln!(
            out,
            "  - name: {name}\n    display_name: {display}\n    kind: {kind}"
        );
        if team {
            out.push_str("    team: true\n");
        }
    };
    for d in DEPARTMENTS.iter() {
        group(d.group, d.group_display, "unified", d.name == "Engineering");
    }
    for c in COUNTRIES.iter() {
        let code = c.code.to_lowercase();
        group(
            &format!("staff-{code}"),
            &format!("Staff {}", c.name),
            "unified",
            false,
        );
    }
    group(
        "finance-data-access",
        "Finance Data Access",
        "security",
        false,
    );
    group("partners", "Partners", "unified", false);
    out.push_str(
        "\n# Every Okta group named team-* becomes a Microsoft 365 group.\n\
         mirrors:\n  - name: project-teams\n    okta_groups: \"team-*\"\n    kind: unified\n    \
         group_name: \"{{ group.name | slug }}\"\n    display_name: \"{{ group.name }}\"\n",
    );
    out
}

fn lookups() -> String {
    let mut out = String::from("# Lookup tables used by the rules.\nlookups:\n  usage_location:\n");
    for c in COUNTRIES.iter() {
        let _ = writeln!(out, "    {}: {}", c.code, c.code);
    }
    out.push_str("  country_group:\n");
    for c in COUNTRIES.iter() {
        let _ = writeln!(out, "    {}: staff-{}", c.code, c.code.to_lowercase());
    }
    out.push_str("  department_group:\n");
    for d in DEPARTMENTS.iter() {
        let _ = writeln!(out, "    {}: {}", d.name, d.group);
    }
    out.push_str("  department_addons:\n");
    for d in DEPARTMENTS.iter() {
        let _ = writeln!(out, "    {}: [{}]", d.name, d.addons.join(", "));
    }
    out
}
