//! Correlation: which live account belongs to which Okta user (ownership
//! marker first, then the configured match keys), and the disputes that stop
//! planning for a person.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn marker_of<'u>(&self, u: &'u User) -> Option<&'u str> {
        self.input.settings.okta_id_attribute.get_str(u)
    }

    /// Finds the live user of an Okta user: by marker, then by the keys given.
    /// Reports disputes; `Err(())` means "do not plan for this user".
    pub(super) fn correlate(
        &mut self,
        okta_id: &OktaUserId,
        login: &str,
        keys: &[(&str, Option<&str>)],
    ) -> Result<Option<&'a User>, ()> {
        if let Some(found) = self.marker.get(okta_id.as_str()) {
            if found.len() > 1 {
                let upns: Vec<String> = found
                    .iter()
                    .map(|u| format!("`{}`", u.user_principal_name))
                    .collect();
                self.out.diagnostics.push(
                    Diagnostic::error(
                        None,
                        format!(
                            "Okta user `{login}` is linked to several Office 365 users: {}",
                            upns.join(", ")
                        ),
                    )
                    .with_hint(format!(
                        "clear `{}` on all but one of them",
                        self.input.settings.okta_id_attribute.property()
                    )),
                );
                return Err(());
            }
            return Ok(Some(found[0]));
        }
        for (kind, key) in keys {
            let Some(key) = key else { continue };
            let found = self
                .by_property
                .get(*kind)
                .and_then(|index| index.get(&lower(key)))
                .copied();
            if let Some(u) = found {
                if let Some(other) = self.marker_of(u).filter(|m| *m != okta_id.as_str()) {
                    self.out.diagnostics.push(
                        Diagnostic::error(
                            None,
                            format!("disputed account `{}`: it belongs to Okta user `{other}`, but Okta user `{login}` ({okta_id}) wants the same {kind}", u.user_principal_name),
                        )
                        .with_hint("fix the duplicate in Okta, or change the rule that computes this value"),
                    );
                    return Err(());
                }
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    pub(super) fn claim(&mut self, u: &'a User, okta_id: &OktaUserId, login: &str) -> bool {
        if let Some(first) = self.claimed.get(&u.id) {
            self.out.diagnostics.push(
                Diagnostic::error(
                    None,
                    format!("disputed account `{}`: Okta users `{first}` and `{okta_id}` ({login}) both match it", u.user_principal_name),
                )
                .with_hint("make their logins or mails distinct in Okta"),
            );
            return false;
        }
        self.claimed.insert(&u.id, okta_id.clone());
        true
    }
}
