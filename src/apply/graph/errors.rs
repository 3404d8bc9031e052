//! Error messages of operations: what failed, on which object, what to do.

use crate::apply::backend::ApplyError;
use crate::plan::action::Op;
use crate::providers::graph::GraphError;

/// Words for an op in error messages: `create user a@x`, `add member to group eng`.
pub(super) fn describe(op: &Op) -> String {
    let kind = op.kind().describe();
    match op {
        Op::CreateUser { upn, .. } => format!("{kind} {upn}"),
        Op::InviteGuest { mail, .. } => format!("{kind} {mail}"),
        Op::CreateGroup { mail_nickname, .. } => format!("{kind} {mail_nickname}"),
        Op::CreateTeam { group } => format!("{kind} group {}", group.mail_nickname),
        Op::AddMember { group, user }
        | Op::RemoveMember { group, user }
        | Op::AddTeamMember { group, user, .. }
        | Op::RemoveTeamMember { group, user, .. }
        | Op::AddOwner { group, user }
        | Op::RemoveOwner { group, user } => {
            format!("{kind} group {} ({})", group.mail_nickname, user.upn)
        }
        Op::SetManager { user, manager } => format!("{kind} {} (to {})", user.upn, manager.upn),
        Op::UpdateUser { user, .. }
        | Op::EnableUser { user }
        | Op::DisableUser { user }
        | Op::RevokeSessions { user }
        | Op::AssignLicenses { user, .. }
        | Op::DeleteUser { user }
        | Op::ClearManager { user }
        | Op::RemoveGuest { user } => format!("{kind} {}", user.upn),
    }
}

/// The error of `op`, naming the object, with an op-specific hint where we have one.
pub(super) fn explain(op: &Op, e: GraphError) -> ApplyError {
    let mut e = e;
    if let Op::AssignLicenses { add, .. } = op
        && e.status == Some(400)
    {
        let skus: Vec<&str> = add.iter().map(|a| a.sku.as_str()).collect();
        if e.message.contains("available licenses") || e.message.contains("CountViolation") {
            e = e.with_hint(format!(
                "no free seats of {}: buy more, or reclaim seats from leavers (`okta365 plan` shows the seat count)",
                skus.join(", ")
            ));
        } else if e.message.to_lowercase().contains("usage location") {
            e = e.with_hint("set the user's usageLocation (map `usageLocation` in the rule) before licences are assigned");
        } else if e.message.contains("inherited") {
            e = e.with_hint("the licence comes from group-based licensing: remove the user from that group instead");
        }
    }
    if let Op::CreateTeam { group } = op
        && e.status == Some(400)
        && e.message.contains("owner")
    {
        e = e.with_hint(format!(
            "Graph creates a Team only on a group with an owner: give `{}` an owner in the policies (a `teams:` grant with `role: owner`)",
            group.mail_nickname
        ));
    }
    let what = e.what.clone();
    ApplyError::new(format!(
        "{} ({what}): {}",
        describe(op),
        strip_what(&e.to_string(), &what)
    ))
}

fn strip_what<'a>(text: &'a str, what: &str) -> &'a str {
    text.strip_prefix(what)
        .and_then(|t| t.strip_prefix(": "))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::action::{LicenseAdd, UserRef};

    #[test]
    fn licence_errors_name_the_sku() {
        let op = Op::AssignLicenses {
            user: UserRef {
                id: Some("u1".into()),
                upn: "a@x".into(),
                okta_id: None,
            },
            add: vec![LicenseAdd {
                sku_id: "s1".into(),
                sku: "SPE_E3".into(),
                disabled_plans: vec![],
                disabled_plan_names: vec![],
            }],
            remove: vec![],
        };
        let e = GraphError::from_response(
            "POST /users/u1/assignLicense",
            400,
            None,
            &json!({"error":{"code":"Request_BadRequest",
            "message":"Subscription with SKU s1 does not have any available licenses."}}),
        );
        let text = explain(&op, e).message;
        assert!(
            text.starts_with(
                "change licences of a@x (POST /users/u1/assignLicense): 400 Request_BadRequest"
            ),
            "{text}"
        );
        assert!(text.contains("no free seats of SPE_E3"), "{text}");
    }
}
