//! B2B guests: invite, adopt (link) and re-enable.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn guests(&mut self) {
        let marker_prop = self.input.settings.okta_id_attribute.property();
        for (okta_id, want) in &self.input.desired.guests {
            let Ok(found) = self.correlate(okta_id, &want.mail, &[("mail", Some(&want.mail))])
            else {
                continue;
            };
            match found {
                None => {
                    self.push(
                        Op::InviteGuest {
                            mail: want.mail.clone(),
                            display_name: want.display_name.clone(),
                            okta_id: okta_id.0.to_string(),
                            redirect_url: want.redirect_url.clone(),
                            send_invitation: want.send_invitation,
                        },
                        format!("guest {}", want.mail),
                        vec![
                            Change {
                                field: "displayName".into(),
                                old: None,
                                new: Some(want.display_name.clone()),
                            },
                            Change {
                                field: "sendInvitationMessage".into(),
                                old: None,
                                new: Some(want.send_invitation.to_string()),
                            },
                        ],
                        want.reasons.clone(),
                    );
                    self.resolved.insert(
                        okta_id.clone(),
                        UserRef {
                            id: None,
                            upn: want.mail.clone(),
                            okta_id: Some(okta_id.clone()),
                        },
                    );
                }
                Some(live) => {
                    if !self.claim(live, okta_id, &want.mail) {
                        continue;
                    }
                    let user = UserRef {
                        id: Some(live.id.clone()),
                        upn: live.user_principal_name.clone(),
                        okta_id: Some(okta_id.clone()),
                    };
                    self.resolved.insert(okta_id.clone(), user.clone());
                    if self.protected.contains(&live.id) {
                        continue;
                    }
                    if self.marker_of(live).is_none() {
                        let mut properties = BTreeMap::new();
                        properties.insert(marker_prop.clone(), Some(okta_id.0.to_string()));
                        self.push(
                            Op::UpdateUser {
                                user: user.clone(),
                                properties,
                            },
                            format!("guest {}", want.mail),
                            vec![Change {
                                field: marker_prop.clone(),
                                old: None,
                                new: Some(okta_id.0.to_string()),
                            }],
                            want.reasons.clone(),
                        );
                    }
                    if !live.account_enabled {
                        self.push(
                            Op::EnableUser { user: user.clone() },
                            format!("guest {}", want.mail),
                            vec![Change {
                                field: "accountEnabled".into(),
                                old: Some("false".into()),
                                new: Some("true".into()),
                            }],
                            want.reasons.clone(),
                        );
                    }
                }
            }
        }
    }
}
