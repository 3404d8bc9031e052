//! `$search` on users and groups: `"property:term"` clauses joined by `AND`
//! / `OR` (`AND` binds tighter), matched the way the directory's search
//! index does: a word of the property's value starts with the term,
//! case-insensitively. Needs `ConsistencyLevel: eventual`.

use serde_json::Value;

/// A parsed `$search`: OR of ANDs of (property, term).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Search(Vec<Vec<(String, String)>>);

/// Parses a `$search` value; the error is Graph's message.
pub(crate) fn parse(raw: &str) -> Result<Search, String> {
    let mut any = Vec::new();
    let mut all = Vec::new();
    let mut rest = raw.trim();
    loop {
        let Some(body) = rest.strip_prefix('"') else {
            return Err(format!(
                "Syntax error: the $search clause `{rest}` must be a quoted \"property:term\"."
            ));
        };
        let Some(end) = body.find('"') else {
            return Err("Syntax error: unterminated quoted $search clause.".into());
        };
        let clause = &body[..end];
        let Some((property, term)) = clause.split_once(':') else {
            return Err(format!(
                "Syntax error: the $search clause \"{clause}\" needs a property, as \"displayName:{clause}\"."
            ));
        };
        all.push((property.trim().to_owned(), term.trim().to_lowercase()));
        rest = body[end + 1..].trim_start();
        if rest.is_empty() {
            any.push(all);
            return Ok(Search(any));
        }
        if let Some(r) = rest.strip_prefix("AND ") {
            rest = r.trim_start();
        } else if let Some(r) = rest.strip_prefix("OR ") {
            any.push(std::mem::take(&mut all));
            rest = r.trim_start();
        } else {
            return Err(format!("Syntax error: expected AND or OR before `{rest}`."));
        }
    }
}

impl Search {
    /// Whether `object` matches.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().any(|all| {
            all.iter().all(|(property, term)| {
                object
                    .get(property)
                    .and_then(Value::as_str)
                    .is_some_and(|value| {
                        let value = value.to_lowercase();
                        value.starts_with(term.as_str())
                            || value
                                .split(|c: char| !c.is_alphanumeric())
                                .any(|word| word.starts_with(term.as_str()))
                    })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words_match_by_prefix_and_clauses_combine() {
        let u = json!({"displayName": "Adam Kowalski", "mail": "adam.kowalski@acme.example"});
        assert!(parse("\"displayName:kowal\"").unwrap().matches(&u));
        assert!(
            parse("\"displayName:zed\" OR \"mail:adam\"")
                .unwrap()
                .matches(&u)
        );
        assert!(
            !parse("\"displayName:adam\" AND \"mail:bob\"")
                .unwrap()
                .matches(&u)
        );
        assert!(
            !parse("\"displayName:dam\"").unwrap().matches(&u),
            "terms match word starts"
        );
        assert!(parse("displayName:adam").is_err());
        assert!(parse("\"adam\"").is_err());
    }
}
