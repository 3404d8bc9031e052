//! Creating users, groups and guests so that a create retried after a lost
//! answer adopts what the first attempt made instead of duplicating it.

use reqwest::Method;
use serde_json::{Value, json};

use super::errors::{describe, explain};
use super::wire::{merge, properties_body};
use super::{GraphBackend, Step, USERS_RW};
use crate::apply::backend::{ApplyError, Outcome};
use crate::model::ObjectId;
use crate::model::graph::User;
use crate::plan::Marker;
use crate::plan::action::Op;
use crate::policy::types::GroupKind;
use crate::providers::graph::GraphError;
use crate::providers::graph::batch::{self, Item};

impl GraphBackend {
    /// Creates users and groups (batched), settling every doubtful answer
    /// by looking the object up before anything is created again.
    pub(super) async fn run_creates(
        &mut self,
        ops: &[Op],
        indices: &[usize],
        out: &mut [Option<Result<Outcome, ApplyError>>],
    ) {
        let steps: Vec<Step> = indices
            .iter()
            .filter_map(|&i| {
                let item = self.create_item(&ops[i])?;
                Some(Step {
                    op: i,
                    item,
                    wait_for_replication: false,
                })
            })
            .collect();
        let answers = self.run_steps(&steps).await;
        for (step, answer) in steps.iter().zip(answers) {
            let op = &ops[step.op];
            let result = match answer {
                Ok(r) => created_id(&r.body).ok_or_else(|| {
                    ApplyError::new(format!(
                        "{}: Graph answered without the new object's id",
                        describe(op)
                    ))
                }),
                Err(e) => self.settle_create(step.op, op, e).await,
            };
            out[step.op] = Some(result.map(|id| {
                self.created.insert(id.clone());
                Outcome::Created(id)
            }));
        }
    }

    fn create_item(&self, op: &Op) -> Option<Item> {
        match op {
            Op::CreateUser {
                upn,
                okta_id,
                account_enabled,
                properties,
            } => {
                let mut body = properties_body(
                    properties
                        .iter()
                        .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
                );
                let marker = self.okta_id_attribute.property();
                merge(
                    &mut body,
                    properties_body([(marker.as_str(), Some(okta_id.as_str()))]),
                );
                let local = upn.split('@').next().unwrap_or(upn);
                let obj = body.as_object_mut().expect("an object");
                obj.insert("userPrincipalName".into(), json!(upn));
                obj.insert("accountEnabled".into(), json!(account_enabled));
                obj.entry("displayName").or_insert_with(|| json!(upn));
                obj.entry("mailNickname")
                    .or_insert_with(|| json!(mail_nickname(local)));
                obj.insert(
                    "passwordProfile".into(),
                    json!({"password": initial_password(), "forceChangePasswordNextSignIn": true}),
                );
                let mut item = Item::new(Method::POST, "/users", Some(body), USERS_RW);
                // After a lost answer, look the user up before sending it again.
                item.replay_safe = false;
                Some(item)
            }
            Op::InviteGuest {
                mail,
                display_name,
                redirect_url,
                send_invitation,
                ..
            } => {
                let mut item = Item::new(
                    Method::POST,
                    "/invitations",
                    Some(json!({
                        "invitedUserEmailAddress": mail,
                        "invitedUserDisplayName": display_name,
                        "inviteRedirectUrl": redirect_url,
                        "sendInvitationMessage": send_invitation,
                        "invitedUserType": "Guest",
                    })),
                    "User.Invite.All",
                );
                // Graph answers a second invitation with the same guest and
                // mails the partner again: never resent after a doubtful answer.
                item.replay_safe = false;
                Some(item)
            }
            Op::CreateGroup {
                mail_nickname,
                display_name,
                description,
                kind,
                visibility,
            } => {
                let unified = *kind == GroupKind::Unified;
                let mut body = json!({
                    "displayName": display_name,
                    "mailNickname": mail_nickname,
                    "mailEnabled": unified,
                    "securityEnabled": !unified,
                    "groupTypes": if unified { vec!["Unified"] } else { Vec::new() },
                });
                if let Some(d) = description.as_deref().filter(|d| !d.is_empty()) {
                    body["description"] = json!(d);
                }
                if let Some(v) = visibility.filter(|_| unified) {
                    body["visibility"] = json!(v.graph());
                }
                let mut item = Item::new(Method::POST, "/groups", Some(body), "Group.Create");
                // Graph keeps mail nicknames unique only for Microsoft 365
                // groups: a security group sent twice would be made twice.
                item.replay_safe = unified;
                Some(item)
            }
            _ => None,
        }
    }

    /// After a failed or doubtful create: find the object (a lost answer may
    /// have made it), and create again only when that cannot duplicate it:
    /// at once for objects with a unique key (UPN, Microsoft 365 mail
    /// nickname), for security groups (whose mail nickname Graph does not
    /// keep unique) only after several lookups found nothing, and for an
    /// invitation only when Graph said it did not run the first one (429,
    /// 503): a lost invitation answer is never resent, as the guest may
    /// exist and resending mails the partner again.
    async fn settle_create(
        &self,
        index: usize,
        op: &Op,
        first: GraphError,
    ) -> Result<ObjectId, ApplyError> {
        let mut error = first;
        let mut waits = self.lag.backoff();
        let mut misses = 0;
        loop {
            if !(error.is_conflict() || error.is_retryable()) {
                return Err(explain(op, error));
            }
            match self.find_existing(op).await.map_err(|e| explain(op, e))? {
                Found::Ours(id) => {
                    tracing::debug!(op = %describe(op), "adopted the object a doubtful create made");
                    return Ok(id);
                }
                Found::Foreign(what) => {
                    return Err(ApplyError::new(format!(
                        "{}: {what}; link it instead (set its Okta id marker) or rename one of them",
                        describe(op)
                    )));
                }
                Found::Missing => misses += 1,
            }
            let Some(wait) = waits.next() else {
                if matches!(op, Op::InviteGuest { .. }) && !error.was_not_run() {
                    return Err(ApplyError::new(format!(
                        "{}: the answer to the invitation was lost ({}) and the guest is not visible yet; it was not sent again, so the partner gets no second mail\n  hint: the next apply looks the guest up again and invites only if it is still missing",
                        describe(op),
                        error.message
                    )));
                }
                return Err(explain(op, error));
            };
            tokio::time::sleep(wait).await;
            if error.is_retryable() && may_send_again(op, misses, &error) {
                let item = self.create_item(op).expect("a create op");
                self.note_sent(index, &item);
                match batch::run(&self.client.http, &[item]).await.remove(0) {
                    Ok(r) => {
                        return answered_id(op, &r.body).ok_or_else(|| {
                            ApplyError::new(format!(
                                "{}: Graph answered without the new object's id",
                                describe(op)
                            ))
                        });
                    }
                    Err(e) => {
                        error = e;
                        misses = 0;
                    }
                }
            }
            // A conflict with nothing found yet: replication lag; look again.
        }
    }

    /// Looks up what a create would make, by its unique key.
    async fn find_existing(&self, op: &Op) -> Result<Found, GraphError> {
        match op {
            Op::CreateUser { upn, okta_id, .. } => {
                let select = user_lookup_select(&self.okta_id_attribute);
                let url = format!("/users/{}?$select={select}", encode_key(upn));
                match self
                    .client
                    .http
                    .send(&crate::providers::graph::Request::get(url, "User.Read.All"))
                    .await
                {
                    Ok(r) => {
                        let user: User = serde_json::from_value(r.body).unwrap_or_default();
                        if self.okta_id_attribute.get(&user).as_deref() == Some(okta_id.as_str()) {
                            Ok(Found::Ours(user.id))
                        } else {
                            Ok(Found::Foreign(format!(
                                "another account already has the userPrincipalName `{upn}` and is not marked as Okta user `{okta_id}`"
                            )))
                        }
                    }
                    Err(e) if e.is_not_found() => Ok(Found::Missing),
                    Err(e) => Err(e),
                }
            }
            Op::CreateGroup { mail_nickname, .. } => {
                let url = format!(
                    "/groups?$filter=mailNickname eq '{}'&$select=id,mailNickname",
                    odata_quote(mail_nickname)
                );
                let found = self
                    .client
                    .http
                    .get_all(&url, "GroupMember.Read.All")
                    .await?;
                Ok(match found.first().and_then(|g| g.get("id")?.as_str()) {
                    Some(id) => Found::Ours(ObjectId::from(id)),
                    None => Found::Missing,
                })
            }
            Op::InviteGuest { mail, .. } => Ok(match self.find_guest(mail).await? {
                Some(id) => Found::Ours(id),
                None => Found::Missing,
            }),
            _ => Ok(Found::Missing),
        }
    }

    async fn find_guest(&self, mail: &str) -> Result<Option<ObjectId>, GraphError> {
        let url = format!(
            "/users?$filter=mail eq '{}'&$select=id,mail,userType",
            odata_quote(mail)
        );
        let found = self.client.http.get_all(&url, "User.Read.All").await?;
        Ok(found
            .iter()
            .find(|u| u.get("userType").and_then(Value::as_str) == Some("Guest"))
            .and_then(|u| u.get("id")?.as_str())
            .map(ObjectId::from))
    }

    /// Invites a guest (or adopts the guest with that mail) and marks it.
    pub(super) async fn invite(&mut self, index: usize, op: &Op) -> Result<Outcome, ApplyError> {
        let Op::InviteGuest { mail, okta_id, .. } = op else {
            unreachable!("only invitations come here");
        };
        let id = match self.find_guest(mail).await.map_err(|e| explain(op, e))? {
            Some(id) => id,
            None => {
                let item = self.create_item(op).expect("an invitation");
                self.note_sent(index, &item);
                match batch::run(&self.client.http, &[item]).await.remove(0) {
                    Ok(r) => answered_id(op, &r.body).ok_or_else(|| {
                        ApplyError::new(format!(
                            "{}: the invitation has no `invitedUser.id`",
                            describe(op)
                        ))
                    })?,
                    Err(e) => self.settle_create(index, op, e).await?,
                }
            }
        };
        self.created.insert(id.clone());
        let marker = self.okta_id_attribute.property();
        let step = Step {
            op: index,
            item: Item::new(
                Method::PATCH,
                format!("/users/{id}"),
                Some(properties_body([(marker.as_str(), Some(okta_id.as_str()))])),
                USERS_RW,
            ),
            wait_for_replication: true,
        };
        self.run_steps(&[step]).await.remove(0).map_err(|e| {
            explain(
                op,
                e.about(format!("marking guest {mail} with its Okta id")),
            )
        })?;
        Ok(Outcome::Created(id))
    }
}

enum Found {
    Ours(ObjectId),
    Foreign(String),
    Missing,
}

pub(super) fn user_lookup_select(marker: &Marker) -> String {
    let extra = match marker {
        Marker::ExtensionAttribute(_) => "onPremisesExtensionAttributes".to_owned(),
        Marker::DirectoryExtension(name) => name.clone(),
    };
    format!("id,userPrincipalName,{extra}")
}

/// A mail nickname from a UPN's local part: only the characters Graph allows.
fn mail_nickname(local: &str) -> String {
    let nick: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    if nick.is_empty() { "user".into() } else { nick }
}

/// A random initial password meeting Entra's complexity rules (upper,
/// lower, digit, symbol; 20 characters). Users reset it on first sign-in
/// (or never use it: they sign in through Okta). It is never printed or logged.
fn initial_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"!#%+-=?@^_~";
    let pick = |set: &[u8]| set[rand::random_range(0..set.len())] as char;
    let all: Vec<u8> = [UPPER, LOWER, DIGIT, SYMBOL].concat();
    let mut chars: Vec<char> = vec![pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
    while chars.len() < 20 {
        chars.push(pick(&all));
    }
    // Shuffle so the classes are not in a fixed order.
    for i in (1..chars.len()).rev() {
        chars.swap(i, rand::random_range(0..=i));
    }
    chars.into_iter().collect()
}

/// Quotes a value inside an OData string literal.
fn odata_quote(s: &str) -> String {
    s.replace('\'', "''")
}

/// A UPN as a path segment (`#` of guest UPNs is `%23`).
fn encode_key(s: &str) -> String {
    s.replace('%', "%25")
        .replace('#', "%23")
        .replace('/', "%2F")
        .replace('?', "%3F")
}

fn created_id(body: &Value) -> Option<ObjectId> {
    body.get("id").and_then(Value::as_str).map(ObjectId::from)
}

/// The new object's id in a create's answer (an invitation's is `invitedUser.id`).
fn answered_id(op: &Op, body: &Value) -> Option<ObjectId> {
    match op {
        Op::InviteGuest { .. } => body
            .pointer("/invitedUser/id")
            .and_then(Value::as_str)
            .map(ObjectId::from),
        _ => created_id(body),
    }
}

/// Whether a create may be sent again after `misses` lookups found nothing:
/// at once when Graph refuses a second object with the same key (a conflict
/// leads to the first one); for a security group (no unique key) only after
/// several lookups; for an invitation only when Graph did not run the first.
fn may_send_again(op: &Op, misses: usize, error: &GraphError) -> bool {
    match op {
        Op::CreateGroup { kind, .. } if *kind != GroupKind::Unified => misses >= 4,
        Op::InviteGuest { .. } => error.was_not_run(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_complex_and_differ() {
        let a = initial_password();
        assert_eq!(a.chars().count(), 20);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(a, initial_password());
    }

    #[test]
    fn keys_and_literals_are_escaped() {
        assert_eq!(
            encode_key("a_x.com#EXT#@t.onmicrosoft.com"),
            "a_x.com%23EXT%23@t.onmicrosoft.com"
        );
        assert_eq!(odata_quote("o'brien"), "o''brien");
        assert_eq!(mail_nickname("jane.o'neil+x"), "jane.oneilx");
    }
}
