//! The SCIM-style expressions of Okta's `search=` and `filter=` parameters:
//! parsing, per-endpoint restrictions (a [`Dialect`]) and evaluation against
//! a JSON object. Attribute names are case-sensitive; operators and values
//! are not.

use jiff::Timestamp;
use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// equal
    Eq,
    /// not equal (System Log only)
    Ne,
    /// starts with
    Sw,
    /// ends with (System Log only)
    Ew,
    /// contains
    Co,
    /// greater than
    Gt,
    /// greater or equal
    Ge,
    /// less than
    Lt,
    /// less or equal
    Le,
    /// present (not null)
    Pr,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "co" => Op::Co,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "pr" => Op::Pr,
            _ => return None,
        })
    }

    /// The operator as written.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Sw => "sw",
            Op::Ew => "ew",
            Op::Co => "co",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Pr => "pr",
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// `path op value` (`value` is `Null` for `pr`).
    Compare {
        /// Dotted attribute path, e.g. `profile.department`.
        path: String,
        /// The operator.
        op: Op,
        /// The literal compared with.
        value: Value,
    },
}

/// Why an expression is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It does not parse (or uses what the endpoint never takes, like `not`).
    Syntax(String),
    /// An attribute the endpoint does not know.
    UnknownField(String),
    /// An operator the endpoint does not take on that attribute.
    Unsupported {
        /// The operator.
        op: Op,
        /// The attribute.
        path: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Syntax(why) => f.write_str(why),
            Refusal::UnknownField(path) => write!(f, "field is not valid: {path}"),
            Refusal::Unsupported { op, path } => write!(
                f,
                "The supplied combination of operator and field is not currently supported. Operator: {}, Field: {path}",
                op.name()
            ),
        }
    }
}

/// What an endpoint accepts: which operators on which attributes, and `not`.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Checks one comparison.
    pub check: fn(&str, Op) -> Result<(), Refusal>,
    /// Whether `not (…)` is allowed (only the System Log takes it).
    pub allows_not: bool,
}

/// `GET /api/v1/users?search=`.
pub const USER_SEARCH: Dialect = Dialect {
    check: user_search,
    allows_not: false,
};
/// `GET /api/v1/users?filter=`.
pub const USER_FILTER: Dialect = Dialect {
    check: user_filter,
    allows_not: false,
};
/// `GET /api/v1/groups?search=`.
pub const GROUP_SEARCH: Dialect = Dialect {
    check: group_search,
    allows_not: false,
};
/// `GET /api/v1/groups?filter=`.
pub const GROUP_FILTER: Dialect = Dialect {
    check: group_filter,
    allows_not: false,
};
/// `GET /api/v1/logs?filter=`.
pub const LOG_FILTER: Dialect = Dialect {
    check: log_filter,
    allows_not: true,
};

/// Parses `text` and checks every comparison against `dialect`.
pub fn parse(text: &str, dialect: Dialect) -> Result<Expr, Refusal> {
    let tokens = tokenize(text).map_err(Refusal::Syntax)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or().map_err(Refusal::Syntax)?;
    if let Some((token, _)) = parser.tokens.get(parser.at) {
        return Err(Refusal::Syntax(format!(
            "unexpected `{}` in `{text}`",
            token.text()
        )));
    }
    check(&expr, dialect)?;
    Ok(expr)
}

fn check(expr: &Expr, dialect: Dialect) -> Result<(), Refusal> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, dialect)?;
            check(b, dialect)
        }
        Expr::Not(_) if !dialect.allows_not => {
            Err(Refusal::Syntax("`not` is not supported here".into()))
        }
        Expr::Not(a) => check(a, dialect),
        Expr::Compare { path, op, .. } => (dialect.check)(path, *op),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Open,
    Close,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Literal(v) => v.to_string(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
        }
    }
}

/// The tokens of `text`, each with the (0-based, in characters) position it starts at.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().enumerate().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push((Token::Open, at));
            }
            ')' => {
                chars.next();
                tokens.push((Token::Close, at));
            }
            '"' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next().map(|(_, c)| c) {
                        Some('\\') => match chars.next() {
                            Some((_, escaped)) => literal.push(escaped),
                            None => return Err(format!("unterminated string in `{text}`")),
                        },
                        Some('"') => break,
                        Some(other) => literal.push(other),
                        None => return Err(format!("unterminated string in `{text}`")),
                    }
                }
                tokens.push((Token::Literal(Value::String(literal)), at));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push((Token::Word(word), at));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
}

/// The operators Okta's System Log names when it meets an unknown one.
const EXPECTED_OPERATORS: &str = "eq,co,sw,pr,gt,ge,lt,le";

impl Parser {
    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.at), Some((Token::Word(w), _)) if w.eq_ignore_ascii_case(keyword))
    }

    fn token(&self, at: usize) -> Option<&Token> {
        self.tokens.get(at).map(|(t, _)| t)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.primary()?;
        while self.peek_keyword("and") {
            self.at += 1;
            let right = self.primary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let token = self.token(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.token(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                Ok(Expr::Not(Box::new(self.primary()?)))
            }
            Some(Token::Word(path)) => {
                let op = match self.tokens.get(self.at) {
                    Some((Token::Word(w), position)) => Op::parse(w).ok_or_else(|| {
                        format!(
                            "Unrecognized attribute operator '{w}' at position {position}. Expected: {EXPECTED_OPERATORS}"
                        )
                    })?,
                    Some((other, _)) => {
                        return Err(format!("expected an operator, found `{}`", other.text()));
                    }
                    None => return Err(format!("`{path}` needs an operator")),
                };
                self.at += 1;
                if op == Op::Pr {
                    return Ok(Expr::Compare {
                        path,
                        op,
                        value: Value::Null,
                    });
                }
                let value = match self.token(self.at).cloned() {
                    Some(Token::Literal(v)) => v,
                    Some(Token::Word(w)) => word_literal(&w)?,
                    _ => return Err(format!("`{path} {}` needs a value", op.name())),
                };
                self.at += 1;
                Ok(Expr::Compare { path, op, value })
            }
            Some(other) => Err(format!("unexpected `{}`", other.text())),
            None => Err("the expression ends too early".into()),
        }
    }
}

fn word_literal(word: &str) -> Result<Value, String> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "null" => Ok(Value::Null),
        _ => word
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("`{word}` is not a value: quote strings")),
    }
}

/// Whether `object` satisfies `expr`.
pub fn matches(expr: &Expr, object: &Value) -> bool {
    match expr {
        Expr::And(a, b) => matches(a, object) && matches(b, object),
        Expr::Or(a, b) => matches(a, object) || matches(b, object),
        Expr::Not(a) => !matches(a, object),
        Expr::Compare { path, op, value } => {
            let mut found = Vec::new();
            resolve(object, path, &mut found);
            match op {
                Op::Pr => found.iter().any(|v| !v.is_null()),
                Op::Ne => !found.iter().any(|v| compare(v, Op::Eq, value)),
                Op::Eq if value.is_null() => found.is_empty() || found.iter().any(|v| v.is_null()),
                _ => found.iter().any(|v| compare(v, *op, value)),
            }
        }
    }
}

/// Collects the values at a dotted path; arrays on the way fan out.
fn resolve<'a>(value: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| resolve(item, path, out)),
        _ if path.is_empty() => out.push(value),
        Value::Object(fields) => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            if let Some(next) = fields.get(head) {
                resolve(next, rest, out);
            }
        }
        _ => {}
    }
}

fn compare(actual: &Value, op: Op, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                Op::Eq => a == e,
                Op::Sw => a.starts_with(&e),
                Op::Ew => a.ends_with(&e),
                Op::Co => a.contains(&e),
                _ => {
                    let ordering = match (a.parse::<Timestamp>(), e.parse::<Timestamp>()) {
                        (Ok(a), Ok(e)) => a.cmp(&e),
                        _ => a.cmp(&e),
                    };
                    ordered(ordering, op)
                }
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            match a.partial_cmp(&e) {
                Some(ordering) if op == Op::Eq => ordering.is_eq(),
                Some(ordering) => ordered(ordering, op),
                None => false,
            }
        }
        (Value::Bool(a), Value::Bool(e)) => op == Op::Eq && a == e,
        _ => false,
    }
}

fn ordered(ordering: std::cmp::Ordering, op: Op) -> bool {
    match op {
        Op::Gt => ordering.is_gt(),
        Op::Ge => ordering.is_ge(),
        Op::Lt => ordering.is_lt(),
        Op::Le => ordering.is_le(),
        _ => false,
    }
}

/// `GET /api/v1/users?search=`: any attribute; `eq sw gt ge lt le pr`, and
/// `co` only on four profile attributes; no `ne`.
fn user_search(path: &str, op: Op) -> Result<(), Refusal> {
    let contains_ok = matches!(
        path,
        "profile.firstName" | "profile.lastName" | "profile.email" | "profile.login"
    );
    match op {
        Op::Ne | Op::Ew => Err(unsupported(op, path)),
        Op::Co if !contains_ok => Err(unsupported(op, path)),
        _ => Ok(()),
    }
}

/// `GET /api/v1/users?filter=`: a few attributes, `eq` only, except
/// `lastUpdated`, which also takes `gt ge lt le`.
fn user_filter(path: &str, op: Op) -> Result<(), Refusal> {
    const EQ_ONLY: [&str; 6] = [
        "status",
        "id",
        "profile.login",
        "profile.email",
        "profile.firstName",
        "profile.lastName",
    ];
    match (path, op) {
        ("lastUpdated", Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le) => Ok(()),
        (path, Op::Eq) if EQ_ONLY.contains(&path) => Ok(()),
        (path, _) if EQ_ONLY.contains(&path) || path == "lastUpdated" => Err(unsupported(op, path)),
        _ => Err(Refusal::UnknownField(path.to_owned())),
    }
}

/// `GET /api/v1/groups?search=`: `eq sw gt ge lt le`, `co` only on the name
/// and description.
fn group_search(path: &str, op: Op) -> Result<(), Refusal> {
    if path.starts_with("_embedded") || path.starts_with("_links") || path == "objectClass" {
        return Err(Refusal::UnknownField(path.to_owned()));
    }
    match op {
        Op::Ne | Op::Ew | Op::Pr => Err(unsupported(op, path)),
        Op::Co if !matches!(path, "profile.name" | "profile.description") => {
            Err(unsupported(op, path))
        }
        _ => Ok(()),
    }
}

/// `GET /api/v1/groups?filter=`: `id`, `type` (eq), and the two timestamps.
fn group_filter(path: &str, op: Op) -> Result<(), Refusal> {
    match (path, op) {
        ("id" | "type", Op::Eq) => Ok(()),
        ("lastUpdated" | "lastMembershipUpdated", Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le) => {
            Ok(())
        }
        ("id" | "type" | "lastUpdated" | "lastMembershipUpdated", _) => Err(unsupported(op, path)),
        _ => Err(Refusal::UnknownField(path.to_owned())),
    }
}

/// `GET /api/v1/logs?filter=`: every operator, any attribute but `published`
/// (which conflicts with `since`/`until`).
fn log_filter(path: &str, op: Op) -> Result<(), Refusal> {
    if path == "published" {
        Err(unsupported(op, path))
    } else {
        Ok(())
    }
}

fn unsupported(op: Op, path: &str) -> Refusal {
    Refusal::Unsupported {
        op,
        path: path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(status: &str) -> Value {
        json!({"status": status, "lastUpdated": "2026-01-02T00:00:00.000Z",
               "profile": {"login": "Ann@X.test", "department": "Engineering", "costCenter": null}})
    }

    fn holds(text: &str, dialect: Dialect, object: &Value) -> bool {
        matches(&parse(text, dialect).unwrap(), object)
    }

    #[test]
    fn status_searches_a_client_sends() {
        let deprovisioned = user("DEPROVISIONED");
        assert!(holds(
            r#"status eq "DEPROVISIONED""#,
            USER_SEARCH,
            &deprovisioned
        ));
        assert!(!holds(r#"status eq "ACTIVE""#, USER_SEARCH, &deprovisioned));
        assert!(holds("status pr", USER_SEARCH, &deprovisioned));
        assert!(holds(
            r#"status eq "ACTIVE" or status eq "DEPROVISIONED""#,
            USER_SEARCH,
            &deprovisioned
        ));
        assert!(holds(
            r#"(status lt "STAGED" or status gt "STAGED")"#,
            USER_SEARCH,
            &deprovisioned
        ));
        assert!(!holds(
            r#"(status lt "STAGED" or status gt "STAGED")"#,
            USER_SEARCH,
            &user("STAGED")
        ));
    }

    #[test]
    fn values_are_case_insensitive_and_and_binds_tighter_than_or() {
        let active = user("ACTIVE");
        assert!(holds(
            r#"profile.login eq "ann@x.TEST""#,
            USER_SEARCH,
            &active
        ));
        assert!(holds(
            r#"status eq "SUSPENDED" and profile.department eq "x" or profile.department sw "eng""#,
            USER_SEARCH,
            &active
        ));
        assert!(!holds(r#"profile.costCenter pr"#, USER_SEARCH, &active));
    }

    #[test]
    fn timestamps_compare_as_instants() {
        let active = user("ACTIVE");
        assert!(holds(
            r#"lastUpdated gt "2026-01-01T00:00:00Z""#,
            USER_FILTER,
            &active
        ));
        assert!(!holds(
            r#"lastUpdated gt "2026-01-02T00:00:00.000Z""#,
            USER_FILTER,
            &active
        ));
    }

    #[test]
    fn dialects_refuse_what_okta_refuses() {
        assert!(parse(r#"status ne "ACTIVE""#, USER_SEARCH).is_err());
        assert!(parse(r#"profile.department co "Eng""#, USER_SEARCH).is_err());
        assert!(parse(r#"status gt "A""#, USER_FILTER).is_err());
        assert!(parse(r#"profile.department eq "Eng""#, USER_FILTER).is_err());
        assert!(parse(r#"published gt "2026-01-01T00:00:00Z""#, LOG_FILTER).is_err());
        assert!(parse(r#"status eq"#, USER_SEARCH).is_err());
        assert!(parse(r#"(status eq "A""#, USER_SEARCH).is_err());
        assert!(parse(r#"not (status eq "ACTIVE")"#, USER_SEARCH).is_err());
        assert!(parse(r#"not (type eq "OKTA_GROUP")"#, GROUP_FILTER).is_err());
    }

    #[test]
    fn arrays_match_any_element() {
        let event = json!({"eventType": "group.user_membership.add",
                           "target": [{"id": "00u1", "type": "User"}, {"id": "00g1", "type": "UserGroup"}]});
        assert!(holds(r#"target.id eq "00g1""#, LOG_FILTER, &event));
        assert!(holds(
            r#"eventType sw "group." and not (target.id eq "00u9")"#,
            LOG_FILTER,
            &event
        ));
        assert!(holds(
            r#"eventType ne "user.lifecycle.create""#,
            LOG_FILTER,
            &event
        ));
    }
}
