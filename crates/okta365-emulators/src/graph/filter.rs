//! OData `$filter`: a parser and evaluator for the expressions directory
//! clients send (`eq`, `ne`, `in`, `startswith`, `endswith`, `ge`/`le`,
//! `and`/`or`/`not`, `any(x:x/… eq …)`, nested paths). It says which
//! clauses need Graph's "advanced query" opt-in.

use serde_json::Value;

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(String, Op, Literal),
    In(String, Vec<Literal>),
    StartsWith(String, String),
    EndsWith(String, String),
    /// `path/any(var: body)`.
    Any(String, String, Box<Expr>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Bool(bool),
    Null,
    Number(f64),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
    Colon,
}

/// Parses a `$filter` value; the error is Graph's message text.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let tokens = lex(text)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!(
            "Invalid filter clause: syntax error at position {} in '{text}'.",
            parser.at
        ));
    }
    Ok(expr)
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            ':' => {
                out.push(Token::Colon);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(format!(
                                "Invalid filter clause: unterminated string literal in '{text}'."
                            ));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | ':' | '\'')
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, token: Token) -> Result<(), String> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            other => Err(format!(
                "Invalid filter clause: expected {token:?}, found {other:?}."
            )),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Open) => {
                let e = self.or()?;
                self.expect(Token::Close)?;
                Ok(e)
            }
            Some(Token::Word(word)) => {
                let lower = word.to_ascii_lowercase();
                if (lower == "startswith" || lower == "endswith")
                    && self.tokens.get(self.at) == Some(&Token::Open)
                {
                    self.at += 1;
                    let Some(Token::Word(path)) = self.next() else {
                        return Err("Invalid filter clause: a property name was expected.".into());
                    };
                    self.expect(Token::Comma)?;
                    let Some(Token::Str(prefix)) = self.next() else {
                        return Err("Invalid filter clause: a string literal was expected.".into());
                    };
                    self.expect(Token::Close)?;
                    return Ok(if lower == "startswith" {
                        Expr::StartsWith(path, prefix)
                    } else {
                        Expr::EndsWith(path, prefix)
                    });
                }
                if let Some(path) = lower
                    .strip_suffix("/any")
                    .map(|_| word[..word.len() - 4].to_owned())
                {
                    self.expect(Token::Open)?;
                    let Some(Token::Word(var)) = self.next() else {
                        return Err("Invalid filter clause: a lambda variable was expected.".into());
                    };
                    self.expect(Token::Colon)?;
                    let body = self.or()?;
                    self.expect(Token::Close)?;
                    return Ok(Expr::Any(path, var, Box::new(body)));
                }
                self.comparison(word)
            }
            other => Err(format!("Invalid filter clause: unexpected {other:?}.")),
        }
    }

    fn comparison(&mut self, path: String) -> Result<Expr, String> {
        let Some(Token::Word(op)) = self.next() else {
            return Err(format!(
                "Invalid filter clause: an operator was expected after '{path}'."
            ));
        };
        let op = match op.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "ge" => Op::Ge,
            "le" => Op::Le,
            "gt" => Op::Gt,
            "lt" => Op::Lt,
            "in" => {
                self.expect(Token::Open)?;
                let mut values = vec![self.literal()?];
                while self.tokens.get(self.at) == Some(&Token::Comma) {
                    self.at += 1;
                    values.push(self.literal()?);
                }
                self.expect(Token::Close)?;
                return Ok(Expr::In(path, values));
            }
            other => {
                return Err(format!(
                    "Invalid filter clause: unknown operator '{other}'."
                ));
            }
        };
        Ok(Expr::Compare(path, op, self.literal()?))
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::Str(s)),
            Some(Token::Word(w)) => Ok(match w.to_ascii_lowercase().as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ => match w.parse::<f64>() {
                    Ok(n) => Literal::Number(n),
                    // Bare GUIDs (`skuId eq 84a6…`) compare as strings.
                    Err(_) => Literal::Str(w),
                },
            }),
            other => Err(format!(
                "Invalid filter clause: a literal was expected, found {other:?}."
            )),
        }
    }
}

impl Expr {
    /// Whether Graph needs `ConsistencyLevel: eventual` + `$count=true` for it.
    pub fn needs_advanced_query(&self) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.needs_advanced_query() || b.needs_advanced_query()
            }
            Expr::Not(_) | Expr::EndsWith(..) => true,
            Expr::Compare(path, op, _) => *op == Op::Ne || path.ends_with("/$count"),
            Expr::Any(_, _, body) => body.needs_advanced_query(),
            Expr::In(..) | Expr::StartsWith(..) => false,
        }
    }

    /// Evaluates the filter against an object.
    pub fn matches(&self, object: &Value) -> bool {
        self.eval(object, None)
    }

    fn eval(&self, object: &Value, var: Option<(&str, &Value)>) -> bool {
        match self {
            Expr::And(a, b) => a.eval(object, var) && b.eval(object, var),
            Expr::Or(a, b) => a.eval(object, var) || b.eval(object, var),
            Expr::Not(a) => !a.eval(object, var),
            Expr::Compare(path, op, lit) => match path.strip_suffix("/$count") {
                // `assignedLicenses/$count eq 0`: the collection's length.
                Some(collection) => {
                    let n = resolve(object, collection, var)
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    compare(Some(&Value::from(n)), *op, lit)
                }
                None => compare(resolve(object, path, var), *op, lit),
            },
            Expr::In(path, lits) => {
                let v = resolve(object, path, var);
                lits.iter().any(|l| compare(v, Op::Eq, l))
            }
            Expr::StartsWith(path, prefix) => resolve(object, path, var)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().starts_with(&prefix.to_lowercase())),
            Expr::EndsWith(path, suffix) => resolve(object, path, var)
                .and_then(Value::as_str)
                .is_some_and(|s| s.to_lowercase().ends_with(&suffix.to_lowercase())),
            Expr::Any(path, name, body) => resolve(object, path, var)
                .and_then(Value::as_array)
                .is_some_and(|items| {
                    items
                        .iter()
                        .any(|item| body.eval(object, Some((name, item))))
                }),
        }
    }
}

fn resolve<'a>(object: &'a Value, path: &str, var: Option<(&str, &'a Value)>) -> Option<&'a Value> {
    let mut parts = path.split('/');
    let first = parts.next()?;
    let mut at = match var {
        Some((name, value)) if name == first => value,
        _ => object.get(first)?,
    };
    for part in parts {
        at = at.get(part)?;
    }
    Some(at)
}

fn compare(value: Option<&Value>, op: Op, lit: &Literal) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (value, lit) {
        (None | Some(Value::Null), Literal::Null) => Some(Ordering::Equal),
        (_, Literal::Null) => None,
        (Some(Value::String(s)), Literal::Str(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Some(Value::Bool(b)), Literal::Bool(l)) => Some(b.cmp(l)),
        (Some(Value::Number(n)), Literal::Number(l)) => n.as_f64().and_then(|n| n.partial_cmp(l)),
        _ => None,
    };
    match op {
        Op::Eq => ordering == Some(Ordering::Equal),
        Op::Ne => ordering != Some(Ordering::Equal),
        Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => ordering == Some(Ordering::Greater),
        Op::Lt => ordering == Some(Ordering::Less),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"id": "a1", "userPrincipalName": "Ann@Acme.example", "accountEnabled": true,
            "onPremisesExtensionAttributes": {"extensionAttribute15": "00u1"},
            "assignedLicenses": [{"skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965", "disabledPlans": []}],
            "proxyAddresses": ["SMTP:ann@acme.example"], "mail": null})
    }

    #[test]
    fn eq_is_case_insensitive_and_in_lists_match() {
        assert!(
            parse("userPrincipalName eq 'ann@acme.example'")
                .unwrap()
                .matches(&user())
        );
        assert!(parse("id in ('x', 'a1')").unwrap().matches(&user()));
        assert!(!parse("id in ('x','y')").unwrap().matches(&user()));
    }

    #[test]
    fn nested_paths_lambdas_and_null() {
        let u = user();
        assert!(
            parse("onPremisesExtensionAttributes/extensionAttribute15 eq '00u1'")
                .unwrap()
                .matches(&u)
        );
        assert!(
            parse("assignedLicenses/any(x:x/skuId eq 05e9a617-0261-4cee-bb44-138d3ef5d965)")
                .unwrap()
                .matches(&u)
        );
        assert!(
            parse("proxyAddresses/any(p:startswith(p, 'smtp:ann'))")
                .unwrap()
                .matches(&u)
        );
        assert!(
            parse("mail eq null and accountEnabled eq true")
                .unwrap()
                .matches(&u)
        );
        assert!(
            !parse("accountEnabled eq false or startswith(displayName,'B')")
                .unwrap()
                .matches(&u)
        );
    }

    #[test]
    fn collection_counts_compare_lengths() {
        let u = user();
        let count = parse("assignedLicenses/$count eq 1").unwrap();
        assert!(count.matches(&u) && count.needs_advanced_query());
        assert!(
            parse("proxyAddresses/$count eq 0")
                .unwrap()
                .matches(&json!({"id": "x", "proxyAddresses": []}))
        );
    }

    #[test]
    fn advanced_clauses_are_flagged_and_garbage_is_refused() {
        assert!(parse("userType ne 'Guest'").unwrap().needs_advanced_query());
        assert!(
            parse("endswith(mail,'@acme.example')")
                .unwrap()
                .needs_advanced_query()
        );
        assert!(
            !parse("mail eq 'a' or id in ('b')")
                .unwrap()
                .needs_advanced_query()
        );
        assert!(parse("mail eq").is_err());
        assert!(parse("mail eq 'unterminated").is_err());
        assert!(parse("mail like 'a'").is_err());
    }
}
