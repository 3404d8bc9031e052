//! Selectors compiled for fast evaluation: globs and regular expressions are
//! built once, then matched against every Okta user.
//!
//! Attribute tests on an Okta array attribute hold when any element passes
//! (Okta's user search treats arrays the same way); `exists` holds for an
//! array with at least one non-empty element.

use std::collections::BTreeSet;

use jiff::civil::Date;
use regex::Regex;

use super::types::{AttributeTest, Selector};
use crate::model::json::Json;
use crate::model::okta::{User, UserStatus};

/// What a selector can see of one Okta user.
pub struct Facts<'a> {
    /// The user.
    pub user: &'a User,
    /// Lowercased names and ids of the user's groups.
    pub groups: &'a BTreeSet<&'a str>,
}

/// A compiled selector.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// All match.
    All(Vec<Matcher>),
    /// Any matches.
    Any(Vec<Matcher>),
    /// Negation.
    Not(Box<Matcher>),
    /// Group by exact name or id (lowercased).
    GroupExact(String),
    /// Group by glob.
    GroupGlob(globset::GlobMatcher),
    /// Status in set.
    Status(Vec<UserStatus>),
    /// Attribute test.
    Attribute(String, AttributeOp),
    /// Constant.
    Constant(bool),
}

/// A compiled attribute test.
#[derive(Debug, Clone)]
pub enum AttributeOp {
    /// Case-insensitive equality.
    Equals(String),
    /// Case-insensitive membership.
    In(Vec<String>),
    /// Glob.
    Glob(globset::GlobMatcher),
    /// Regular expression.
    Regex(Regex),
    /// Presence.
    Exists(bool),
    /// Numeric comparison.
    Number(Ordering, f64),
    /// Date comparison.
    Date(Ordering, Date),
}

/// A comparison.
#[derive(Debug, Clone, Copy)]
pub enum Ordering {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

/// A mistake in a selector: JSON pointer (relative to the selector) and message.
pub type SelectorError = (String, String);

impl Matcher {
    /// Compiles a selector; `pointer` is its JSON pointer, used in errors.
    pub fn build(selector: &Selector, pointer: &str) -> Result<Matcher, Vec<SelectorError>> {
        let mut errors = Vec::new();
        let m = build(selector, pointer, &mut errors);
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(errors)
        }
    }

    /// Whether the user matches.
    pub fn matches(&self, facts: &Facts) -> bool {
        match self {
            Self::All(v) => v.iter().all(|m| m.matches(facts)),
            Self::Any(v) => v.iter().any(|m| m.matches(facts)),
            Self::Not(m) => !m.matches(facts),
            Self::GroupExact(name) => facts.groups.contains(name.as_str()),
            Self::GroupGlob(g) => facts.groups.iter().any(|name| g.is_match(name)),
            Self::Status(s) => s.contains(&facts.user.status),
            Self::Attribute(name, op) => op.matches_json(facts.user.profile.get(name)),
            Self::Constant(b) => *b,
        }
    }

    /// Whether an Okta group's profile matches (attribute tests only; a
    /// group or status test never matches a group).
    pub fn matches_group_profile(&self, profile: &crate::model::okta::GroupProfile) -> bool {
        match self {
            Self::All(v) => v.iter().all(|m| m.matches_group_profile(profile)),
            Self::Any(v) => v.iter().any(|m| m.matches_group_profile(profile)),
            Self::Not(m) => !m.matches_group_profile(profile),
            Self::Attribute(name, op) => op.matches(match name.as_str() {
                "name" => Some(profile.name.clone()),
                "description" => profile.description.clone(),
                other => profile.other.get(other).and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    serde_json::Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                }),
            }),
            Self::Constant(b) => *b,
            Self::GroupExact(_) | Self::GroupGlob(_) | Self::Status(_) => false,
        }
    }

    /// Whether this selector explicitly names a status (then leavers may match it).
    pub fn names_status(&self) -> bool {
        match self {
            Self::All(v) | Self::Any(v) => v.iter().any(Matcher::names_status),
            Self::Not(m) => m.names_status(),
            Self::Status(_) => true,
            _ => false,
        }
    }
}

impl AttributeOp {
    /// Whether an attribute's value (absent, a scalar or an array) passes.
    fn matches_json(&self, value: Option<&Json>) -> bool {
        let Some(items) = value.and_then(Json::as_array) else {
            return self.matches(value.and_then(Json::scalar_string));
        };
        let mut values = items
            .iter()
            .filter_map(Json::scalar_string)
            .filter(|s| !s.is_empty());
        match self {
            Self::Exists(want) => values.next().is_some() == *want,
            op => values.any(|v| op.matches(Some(v))),
        }
    }

    fn matches(&self, value: Option<String>) -> bool {
        let value = value.filter(|v| !v.is_empty());
        match (self, value) {
            (Self::Exists(want), v) => v.is_some() == *want,
            (_, None) => false,
            (Self::Equals(e), Some(v)) => v.to_lowercase() == *e,
            (Self::In(set), Some(v)) => set.contains(&v.to_lowercase()),
            (Self::Glob(g), Some(v)) => g.is_match(&v),
            (Self::Regex(r), Some(v)) => r.is_match(&v),
            (Self::Number(o, n), Some(v)) => v
                .trim()
                .parse::<f64>()
                .is_ok_and(|x| compare(*o, x.partial_cmp(n))),
            (Self::Date(o, d), Some(v)) => {
                parse_date(&v).is_some_and(|x| compare(*o, x.partial_cmp(d)))
            }
        }
    }
}

fn compare(o: Ordering, c: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (o, c),
        (Ordering::Gt, Some(Greater))
            | (Ordering::Gte, Some(Greater | Equal))
            | (Ordering::Lt, Some(Less))
            | (Ordering::Lte, Some(Less | Equal))
    )
}

/// Parses `2026-01-31` or an RFC 3339 timestamp (its date part).
fn parse_date(s: &str) -> Option<Date> {
    s.get(..10)?.parse().ok()
}

/// Compiles a case-insensitive glob.
pub fn glob(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            format!(
                "invalid glob `{}`: {}",
                super::diagnostic::truncate(pattern, 80),
                e.kind()
            )
        })
}

/// The regex crate's error without its echo of the whole pattern: the last
/// line says what is wrong (the position is the policy line's).
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let what = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or_else(|| text.lines().next().unwrap_or_default());
    format!("invalid regex: {}", super::diagnostic::truncate(what, 200))
}

fn build(selector: &Selector, pointer: &str, errors: &mut Vec<SelectorError>) -> Matcher {
    match selector {
        Selector::All(v) => Matcher::All(
            v.iter()
                .enumerate()
                .map(|(i, s)| build(s, &format!("{pointer}/all/{i}"), errors))
                .collect(),
        ),
        Selector::Any(v) => Matcher::Any(
            v.iter()
                .enumerate()
                .map(|(i, s)| build(s, &format!("{pointer}/any/{i}"), errors))
                .collect(),
        ),
        Selector::Not(s) => Matcher::Not(Box::new(build(s, &format!("{pointer}/not"), errors))),
        Selector::Group(g) if g.is_glob() => match glob(g.name()) {
            Ok(m) => Matcher::GroupGlob(m),
            Err(e) => {
                errors.push((g.name_pointer(&format!("{pointer}/group")), e));
                Matcher::Constant(false)
            }
        },
        Selector::Group(g) => Matcher::GroupExact(g.name().to_lowercase()),
        Selector::Status(s) => Matcher::Status(s.to_vec()),
        Selector::Everyone(b) => Matcher::Constant(*b),
        Selector::Attribute(test) => match attribute_op(test) {
            Ok(op) => Matcher::Attribute(test.name.clone(), op),
            Err((field, e)) => {
                let at = match field {
                    Some(f) => format!("{pointer}/attribute/{f}"),
                    None => format!("{pointer}/attribute"),
                };
                errors.push((at, e));
                Matcher::Constant(false)
            }
        },
    }
}

/// The test's matcher, or the field at fault (if one) and what is wrong.
fn attribute_op(t: &AttributeTest) -> Result<AttributeOp, (Option<&'static str>, String)> {
    let mut ops = Vec::new();
    // `contains` reads better on arrays; on any value it is the same test
    // as `equals` (any element equal, ignoring case).
    for v in [&t.equals, &t.contains].into_iter().flatten() {
        ops.push(Ok(AttributeOp::Equals(v.to_lowercase())));
    }
    if let Some(v) = &t.one_of {
        ops.push(Ok(AttributeOp::In(
            v.iter().map(|s| s.to_lowercase()).collect(),
        )));
    }
    if let Some(v) = &t.glob {
        ops.push(
            glob(v)
                .map(AttributeOp::Glob)
                .map_err(|e| (Some("glob"), e)),
        );
    }
    if let Some(v) = &t.regex {
        ops.push(
            Regex::new(v)
                .map(AttributeOp::Regex)
                .map_err(|e| (Some("regex"), regex_error(&e))),
        );
    }
    if let Some(v) = t.exists {
        ops.push(Ok(AttributeOp::Exists(v)));
    }
    for (o, v) in [
        (Ordering::Gt, t.gt),
        (Ordering::Gte, t.gte),
        (Ordering::Lt, t.lt),
        (Ordering::Lte, t.lte),
    ] {
        if let Some(v) = v {
            ops.push(Ok(AttributeOp::Number(o, v)));
        }
    }
    for (o, field, v) in [
        (Ordering::Lt, "before", &t.before),
        (Ordering::Gt, "after", &t.after),
    ] {
        if let Some(v) = v {
            ops.push(
                parse_date(v)
                    .map(|d| AttributeOp::Date(o, d))
                    .ok_or_else(|| {
                        (
                            Some(field),
                            format!("`{v}` is not a date; write it as 2026-01-31"),
                        )
                    }),
            );
        }
    }
    match ops.len() {
        0 => Err((None, format!("attribute test on `{}` has no test", t.name))),
        1 => ops.pop().expect("one"),
        _ => Err((
            None,
            format!(
                "attribute test on `{}` has several tests; use `all:` to combine them",
                t.name
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::types::OneOrMany;

    fn user(status: UserStatus, profile: serde_json::Value) -> User {
        serde_json::from_value(
            serde_json::json!({"id": "00u1", "status": status, "profile": profile}),
        )
        .unwrap()
    }

    fn check(sel: Selector, u: &User, groups: &[&str]) -> bool {
        let lower: Vec<String> = groups.iter().map(|s| s.to_lowercase()).collect();
        let groups: BTreeSet<&str> = lower.iter().map(String::as_str).collect();
        Matcher::build(&sel, "").unwrap().matches(&Facts {
            user: u,
            groups: &groups,
        })
    }

    fn attr(name: &str, f: impl FnOnce(&mut AttributeTest)) -> Selector {
        let mut t = AttributeTest {
            name: name.into(),
            ..Default::default()
        };
        f(&mut t);
        Selector::Attribute(Box::new(t))
    }

    #[test]
    fn groups_status_and_combinators() {
        let u = user(
            UserStatus::Active,
            serde_json::json!({"department": "Engineering"}),
        );
        let group = |name: &str| Selector::Group(name.into());
        assert!(check(group("eng-*"), &u, &["Eng-Platform"]));
        assert!(!check(group("eng-*"), &u, &["Sales"]));
        assert!(check(group("sales"), &u, &["Sales"]));
        let optional = Selector::Group(crate::policy::types::GroupRef::Detailed(
            crate::policy::types::GroupTest {
                name: "Sales".into(),
                optional: true,
            },
        ));
        assert!(check(optional.clone(), &u, &["sales"]));
        assert!(!check(optional, &u, &["support"]));
        let sel = Selector::All(vec![
            Selector::Status(OneOrMany::Many(vec![
                UserStatus::Active,
                UserStatus::Provisioned,
            ])),
            Selector::Not(Box::new(group("Contractors"))),
        ]);
        assert!(check(sel.clone(), &u, &[]));
        assert!(!check(sel, &u, &["contractors"]));
    }

    #[test]
    fn attribute_tests() {
        let u = user(
            UserStatus::Active,
            serde_json::json!({"department": "Engineering", "level": "7", "startDate": "2026-03-01", "empty": ""}),
        );
        assert!(check(
            attr("department", |t| t.equals = Some("engineering".into())),
            &u,
            &[]
        ));
        assert!(check(
            attr("department", |t| t.one_of =
                Some(vec!["Sales".into(), "ENGINEERING".into()])),
            &u,
            &[]
        ));
        assert!(check(
            attr("department", |t| t.glob = Some("Eng*".into())),
            &u,
            &[]
        ));
        assert!(check(
            attr("department", |t| t.regex = Some("^Eng.*ing$".into())),
            &u,
            &[]
        ));
        assert!(check(attr("level", |t| t.gte = Some(7.0)), &u, &[]));
        assert!(!check(attr("level", |t| t.gt = Some(7.0)), &u, &[]));
        assert!(check(
            attr("startDate", |t| t.after = Some("2026-01-31".into())),
            &u,
            &[]
        ));
        assert!(check(attr("empty", |t| t.exists = Some(false)), &u, &[]));
        assert!(check(attr("missing", |t| t.exists = Some(false)), &u, &[]));
        assert!(!check(
            attr("missing", |t| t.equals = Some("x".into())),
            &u,
            &[]
        ));
    }

    #[test]
    fn array_attributes_match_when_any_element_does() {
        let u = user(
            UserStatus::Active,
            serde_json::json!({
                "o365Groups": ["Finance-Data", "all-hands"],
                "levels": [3, 9],
                "reviews": ["2025-06-30", "2026-02-01"],
                "blank": ["", null],
                "none": [],
                "team": "Blue"
            }),
        );
        let yes = |sel: Selector| assert!(check(sel.clone(), &u, &[]), "{sel:?}");
        let no = |sel: Selector| assert!(!check(sel.clone(), &u, &[]), "{sel:?}");
        yes(attr("o365Groups", |t| {
            t.contains = Some("finance-data".into())
        }));
        no(attr("o365Groups", |t| t.contains = Some("finance".into())));
        yes(attr("o365Groups", |t| t.equals = Some("ALL-HANDS".into())));
        yes(attr("o365Groups", |t| {
            t.one_of = Some(vec!["x".into(), "all-hands".into()])
        }));
        yes(attr("o365Groups", |t| t.glob = Some("fin*".into())));
        yes(attr("o365Groups", |t| t.regex = Some("^all-".into())));
        no(attr("o365Groups", |t| t.regex = Some("^sales".into())));
        yes(attr("levels", |t| t.gt = Some(8.0)));
        no(attr("levels", |t| t.gt = Some(9.0)));
        yes(attr("levels", |t| t.contains = Some("3".into())));
        yes(attr("reviews", |t| t.after = Some("2026-01-01".into())));
        no(attr("reviews", |t| t.before = Some("2025-01-01".into())));
        yes(attr("o365Groups", |t| t.exists = Some(true)));
        for empty in ["blank", "none", "missing"] {
            yes(attr(empty, |t| t.exists = Some(false)));
            no(attr(empty, |t| t.exists = Some(true)));
            no(attr(empty, |t| t.contains = Some("".into())));
        }
        // On one value, `contains` is equality, not a substring test.
        yes(attr("team", |t| t.contains = Some("blue".into())));
        no(attr("team", |t| t.contains = Some("blu".into())));
        // `not` over an array: no element matches.
        no(Selector::Not(Box::new(attr("o365Groups", |t| {
            t.contains = Some("all-hands".into())
        }))));
    }

    #[test]
    fn mistakes_are_reported_with_pointers() {
        let sel = Selector::All(vec![
            attr("a", |t| t.regex = Some("(".into())),
            attr("b", |_| {}),
            attr("c", |t| {
                t.equals = Some("x".into());
                t.glob = Some("y".into());
            }),
        ]);
        let errors = Matcher::build(&sel, "/rules/0/when").unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/rules/0/when/all/0/attribute/regex",
                "/rules/0/when/all/1/attribute",
                "/rules/0/when/all/2/attribute"
            ]
        );
        assert!(errors[2].1.contains("several tests"));
    }
}
