//! Pseudonymising a read so it can be shared in a bug report: people's names,
//! mail addresses and UPNs are replaced word by word, the same word by the
//! same pseudonym on both sides (an Okta login and the UPN made from it stay
//! equal, a display name stays "first last"), so a plan from the result keeps
//! its shape. Domains, ids, group names (the policies name them), statuses
//! and licences are kept.

use std::collections::HashMap;

use compact_str::CompactString;

use super::json::Json;
use super::state::{LiveState, SourceState};

/// Okta profile attributes holding a person's name.
const OKTA_NAMES: &[&str] = &[
    "firstName",
    "lastName",
    "middleName",
    "displayName",
    "nickName",
    "honorificPrefix",
    "honorificSuffix",
    "manager",
];
/// Okta profile attributes holding an address.
const OKTA_ADDRESSES: &[&str] = &["login", "email", "secondEmail"];
/// Graph user properties holding a person's name.
const GRAPH_NAMES: &[&str] = &["displayName", "givenName", "surname"];
/// Graph user properties holding an address, a list of addresses or a local part.
const GRAPH_ADDRESSES: &[&str] = &["mail", "otherMails", "proxyAddresses", "mailNickname"];

/// Replaces names, mails and UPNs in both states, consistently.
pub fn pseudonymise(source: &mut SourceState, live: &mut LiveState) {
    let mut words = Words::default();
    for user in &mut source.users {
        for (key, value) in user.profile.iter_mut() {
            if OKTA_NAMES.contains(&key) {
                words.replace_json(value, Kind::Name);
            } else if OKTA_ADDRESSES.contains(&key) {
                words.replace_json(value, Kind::Address);
            }
        }
    }
    for user in &mut live.users {
        user.user_principal_name = words.address(&user.user_principal_name);
        for (key, value) in user.other.iter_mut() {
            if GRAPH_NAMES.contains(&key) {
                words.replace_json(value, Kind::Name);
            } else if GRAPH_ADDRESSES.contains(&key) {
                words.replace_json(value, Kind::Address);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Name,
    Address,
}

/// The word table: each distinct word (compared in lower case) gets the next pseudonym.
#[derive(Default)]
struct Words {
    table: HashMap<String, String>,
}

impl Words {
    fn replace_json(&mut self, value: &mut Json, kind: Kind) {
        match value {
            Json::String(s) => {
                let new = match kind {
                    Kind::Name => self.text(s),
                    Kind::Address => self.address(s),
                };
                *s = CompactString::from(new);
            }
            Json::Array(items) => items.iter_mut().for_each(|v| self.replace_json(v, kind)),
            _ => {}
        }
    }

    /// `SMTP:ann.lee@x.example`, `ann.lee@x.example`, `ann.lee` (a mail
    /// nickname) or a guest's `ann.lee_y.example#EXT#@x.example`: the local
    /// part's words are replaced, the domains kept.
    fn address(&mut self, text: &str) -> String {
        let (prefix, address) = match text.split_once(':') {
            Some((p, rest)) if !p.contains('@') => (format!("{p}:"), rest),
            _ => (String::new(), text),
        };
        let Some((local, domain)) = address.rsplit_once('@') else {
            return format!("{prefix}{}", self.text(address));
        };
        if let Some(guest) = local.strip_suffix("#EXT#")
            && let Some((guest_local, guest_domain)) = guest.rsplit_once('_')
        {
            return format!(
                "{prefix}{}_{guest_domain}#EXT#@{domain}",
                self.text(guest_local)
            );
        }
        format!("{prefix}{}@{domain}", self.text(local))
    }

    /// Every run of letters replaced by its pseudonym; digits and separators kept.
    fn text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        for c in text.chars().chain(std::iter::once('\0')) {
            if c.is_alphabetic() {
                word.push(c);
                continue;
            }
            if !word.is_empty() {
                out.push_str(&self.word(&word));
                word.clear();
            }
            if c != '\0' {
                out.push(c);
            }
        }
        out
    }

    fn word(&mut self, word: &str) -> String {
        let key = word.to_lowercase();
        let next = self.table.len();
        let pseudonym = self
            .table
            .entry(key)
            .or_insert_with(|| made_up_word(next))
            .clone();
        cased_like(&pseudonym, word)
    }
}

/// The `n`th made-up word: syllables picked by the digits of `n`.
fn made_up_word(n: usize) -> String {
    const SYLLABLES: [&str; 10] = ["ba", "ke", "lo", "mi", "nu", "ra", "se", "ti", "vo", "zu"];
    let mut digits = Vec::new();
    let mut rest = n;
    loop {
        digits.push(rest % 10);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    while digits.len() < 3 {
        digits.push(0);
    }
    digits.iter().rev().map(|d| SYLLABLES[*d]).collect()
}

/// `pseudonym` in the case pattern of `original` (lower, Capitalised, UPPER).
fn cased_like(pseudonym: &str, original: &str) -> String {
    let mut chars = original.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    let rest_upper = original.chars().skip(1).any(char::is_uppercase)
        && !original.chars().skip(1).any(char::is_lowercase);
    if first_upper && rest_upper && original.chars().count() > 1 {
        pseudonym.to_uppercase()
    } else if first_upper {
        let mut c = pseudonym.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    } else {
        pseudonym.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{graph, okta};

    fn states() -> (SourceState, LiveState) {
        let okta: okta::User = serde_json::from_str(
            r#"{"id":"00u1","status":"ACTIVE","profile":{"login":"ines.garcia@acme.example","email":"ines.garcia@acme.example","firstName":"Ines","lastName":"Garcia","department":"Sales"}}"#,
        )
        .unwrap();
        let member: graph::User = serde_json::from_str(
            r#"{"id":"g1","userPrincipalName":"ines.garcia@acme.example","displayName":"Ines Garcia","mail":"ines.garcia@acme.example","mailNickname":"ines.garcia","proxyAddresses":["SMTP:ines.garcia@acme.example"],"jobTitle":"Account Executive"}"#,
        )
        .unwrap();
        let guest: graph::User = serde_json::from_str(
            r#"{"id":"g2","userPrincipalName":"sam.osei_tailspin.example#EXT#@acme.example","mail":"sam.osei@tailspin.example","userType":"Guest"}"#,
        )
        .unwrap();
        (
            SourceState {
                users: vec![okta],
                ..SourceState::default()
            },
            LiveState {
                users: vec![member, guest],
                ..LiveState::default()
            },
        )
    }

    #[test]
    fn names_and_addresses_change_consistently_on_both_sides() {
        let (mut source, mut live) = states();
        pseudonymise(&mut source, &mut live);
        let login = source.users[0].login().unwrap();
        let first = source.users[0].profile_str("firstName").unwrap();
        let last = source.users[0].profile_str("lastName").unwrap();
        assert!(
            !login.contains("ines") && login.ends_with("@acme.example"),
            "{login}"
        );
        let member = &live.users[0];
        assert_eq!(member.user_principal_name, login);
        assert_eq!(member.property("mail").unwrap(), login);
        assert_eq!(
            member.property("displayName").unwrap(),
            format!("{first} {last}")
        );
        assert_eq!(
            member.property("mailNickname").unwrap(),
            login.split('@').next().unwrap()
        );
        assert_eq!(
            member.property("proxyAddresses").unwrap(),
            format!("[\"SMTP:{login}\"]")
        );
        assert_eq!(member.property("jobTitle").unwrap(), "Account Executive");
        assert_eq!(source.users[0].profile_str("department").unwrap(), "Sales");
        let guest = &live.users[1];
        let mail = guest.property("mail").unwrap();
        assert!(
            mail.ends_with("@tailspin.example") && !mail.contains("osei"),
            "{mail}"
        );
        assert_eq!(
            guest.user_principal_name,
            format!(
                "{}_tailspin.example#EXT#@acme.example",
                mail.split('@').next().unwrap()
            )
        );
    }

    #[test]
    fn made_up_words_are_distinct_and_cased_like_the_original() {
        assert_ne!(made_up_word(1), made_up_word(10));
        assert_eq!(cased_like("bakelo", "Ines"), "Bakelo");
        assert_eq!(cased_like("bakelo", "INES"), "BAKELO");
        assert_eq!(cased_like("bakelo", "ines"), "bakelo");
    }
}
