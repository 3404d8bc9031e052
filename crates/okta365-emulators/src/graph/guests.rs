//! `POST /invitations`: B2B invitations, creating a Guest user whose UPN is
//! `{email with @ as _}#EXT#@{tenant domain}`, `externalUserState`
//! PendingAcceptance.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::auth::Granted;
use super::shared::Shared;
use super::state::Kind;
use super::users::timestamp;
use super::wire::{ApiRequest, ApiResponse, bad_request};

/// `POST /invitations` → 201 + the invitation.
pub(crate) fn invite(sh: &Shared, req: &ApiRequest, now: Instant, _: Granted) -> ApiResponse {
    let body = req.body.clone().unwrap_or(Value::Null);
    let Some(email) = body["invitedUserEmailAddress"]
        .as_str()
        .filter(|e| e.contains('@'))
    else {
        return bad_request(
            "Invalid value specified for property 'invitedUserEmailAddress' of resource 'Invitation'.",
        );
    };
    let Some(redirect) = body["inviteRedirectUrl"].as_str() else {
        return bad_request(
            "Invalid value specified for property 'inviteRedirectUrl' of resource 'Invitation'.",
        );
    };
    let user_type = body["invitedUserType"]
        .as_str()
        .unwrap_or("Guest")
        .to_owned();
    if user_type != "Guest" && user_type != "Member" {
        return bad_request(
            "Invalid value specified for property 'invitedUserType' of resource 'Invitation'.",
        );
    }
    let send = body["sendInvitationMessage"].as_bool().unwrap_or(false);
    let email = email.to_owned();
    let upn = format!("{}#EXT#@{}", email.replace('@', "_"), sh.guest_domain);
    let mut dir = sh.dir();
    let existing = dir
        .users
        .iter()
        .find(|(_, u)| {
            u["mail"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case(&email))
                && u["userType"] == "Guest"
        })
        .map(|(id, _)| id.clone());
    let user_id = match existing {
        // Inviting an existing guest again returns that guest.
        Some(id) => id,
        None => {
            if dir.upn_taken(&upn, None) {
                return super::users::conflict("userPrincipalName");
            }
            let id = dir.new_id();
            let display = body["invitedUserDisplayName"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
            let user = json!({
                "id": id, "businessPhones": [], "displayName": display, "givenName": null,
                "jobTitle": null, "mail": email, "mobilePhone": null, "officeLocation": null,
                "preferredLanguage": null, "surname": null, "userPrincipalName": upn,
                "accountEnabled": true, "createdDateTime": timestamp(), "creationType": "Invitation",
                "externalUserState": "PendingAcceptance", "externalUserStateChangeDateTime": timestamp(),
                "mailNickname": upn.split('@').next().unwrap_or(""),
                "usageLocation": null, "userType": user_type, "assignedLicenses": [],
                "licenseAssignmentStates": [], "otherMails": [email],
                "proxyAddresses": [format!("SMTP:{email}")],
            });
            dir.insert_user(id.clone(), user);
            dir.created_at.insert(id.clone(), now);
            dir.record(Kind::User, &id, None);
            id
        }
    };
    let invitation_id = dir.new_id();
    let upn = dir.users[&user_id]["userPrincipalName"].clone();
    ApiResponse::json(
        201,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#invitations/$entity", sh.base_url()),
            "id": invitation_id,
            "inviteRedeemUrl": format!("https://login.microsoftonline.com/redeem?rd=https%3a%2f%2finvitations.microsoft.com%2fredeem%2f%3ftenant%3d{}%26user%3d{invitation_id}", sh.opts.tenant_id),
            "invitedUserDisplayName": body["invitedUserDisplayName"],
            "invitedUserType": user_type,
            "invitedUserEmailAddress": email,
            "sendInvitationMessage": send,
            "resetRedemption": body["resetRedemption"].as_bool().unwrap_or(false),
            "inviteRedirectUrl": redirect,
            "status": "PendingAcceptance",
            "invitedUserMessageInfo": body.get("invitedUserMessageInfo").cloned().unwrap_or(json!({"messageLanguage": null, "customizedMessageBody": null, "ccRecipients": []})),
            "invitedUser": {"id": user_id, "userPrincipalName": upn},
        }),
    )
}

/// Marks a pending guest's invitation as accepted.
pub(crate) fn redeem(dir: &mut super::state::Directory, user_id: &str) -> bool {
    let Some(mut user) = dir.users.get(user_id).cloned() else {
        return false;
    };
    if user["externalUserState"] != "PendingAcceptance" {
        return false;
    }
    user["externalUserState"] = json!("Accepted");
    user["externalUserStateChangeDateTime"] = json!(timestamp());
    dir.insert_user(user_id.to_owned(), user);
    dir.record_properties(
        Kind::User,
        user_id,
        ["externalUserState", "externalUserStateChangeDateTime"],
    );
    true
}
