//! Templates: `{{ profile.firstName | lower }}` and friends.
//!
//! A template is literal text with `{{ expression }}` holes. An expression is a
//! variable (`profile.<attr>`, `user.id`, `user.login`, `user.status`,
//! `group.name`, `group.id`) or a quoted string, followed by filters:
//!
//! | filter | does |
//! |---|---|
//! | `lower`, `upper`, `trim` | case and whitespace |
//! | `replace('a', 'b')` | replaces every `a` with `b` |
//! | `default('x')` | `x` when the value is missing or empty |
//! | `lookup('table')` | the value's entry in a lookup table (missing if none) |
//! | `truncate(n)` | at most `n` characters |
//! | `first` | the first character |
//! | `slug` | lowercase, spaces to `-`, only `a-z 0-9 . - _` kept |
//!
//! Policies are expressions, not programs, so this is a small parser of our
//! own rather than a general template engine: every variable, filter and
//! lookup table is known before any user is rendered, which lets `validate`
//! report mistakes at their exact column.

use std::fmt;

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Expr(Expr),
}

/// One `{{ … }}` hole.
#[derive(Clone, Debug, PartialEq)]
struct Expr {
    source: Source,
    filters: Vec<Filter>,
}

#[derive(Clone, Debug, PartialEq)]
enum Source {
    Variable(Vec<String>, usize),
    Literal(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Filter {
    Lower,
    Upper,
    Trim,
    Replace(String, String),
    Default(String),
    Lookup(String, usize),
    Truncate(usize),
    First,
    Slug,
}

const FILTERS: [&str; 9] = [
    "lower", "upper", "trim", "replace", "default", "lookup", "truncate", "first", "slug",
];

/// A mistake in a template, at a character offset inside it.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateError {
    /// 0-based character offset into the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

/// A rendered value: most templates give one string; a lookup whose entry is a
/// list gives several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rendered {
    /// One value.
    One(String),
    /// Several values (from a list-valued lookup).
    Many(Vec<String>),
}

impl Rendered {
    /// The values as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

/// What rendering needs: variable values and lookup tables.
pub trait Context {
    /// The value of a variable path (`["profile", "department"]`), if set.
    fn variable(&self, path: &[String]) -> Option<String>;
    /// The entry of `table` for `key`, if any.
    fn lookup(&self, table: &str, key: &str) -> Option<Rendered>;
}

/// Why a template could not be rendered for one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// A variable was not set and no `default` followed.
    Missing(String),
    /// A lookup had no entry for the key and no `default` followed.
    NoLookupEntry {
        /// The table.
        table: String,
        /// The key looked up.
        key: String,
    },
    /// A list value was used where one string was needed.
    ListInText,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(v) => write!(f, "`{v}` is not set"),
            Self::NoLookupEntry { table, key } => {
                write!(f, "lookup table `{table}` has no entry `{key}`")
            }
            Self::ListInText => {
                f.write_str("a list-valued lookup can only stand alone in its template")
            }
        }
    }
}

impl Template {
    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '{' && chars.get(i + 1) == Some(&'{') {
                let close = find_close(&chars, i + 2).ok_or_else(|| TemplateError {
                    offset: i,
                    message: "`{{` is never closed".into(),
                    hint: Some("close the expression with `}}`".into()),
                })?;
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Expr(parse_expr(&chars, i + 2, close)?));
                i = close + 2;
            } else {
                literal.push(chars[i]);
                i += 1;
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// Variables used, with the character offset of each.
    pub fn variables(&self) -> Vec<(Vec<String>, usize)> {
        self.exprs()
            .filter_map(|e| match &e.source {
                Source::Variable(path, at) => Some((path.clone(), *at)),
                Source::Literal(_) => None,
            })
            .collect()
    }

    /// Lookup tables used, with the character offset of each.
    pub fn lookups(&self) -> Vec<(String, usize)> {
        self.exprs()
            .flat_map(|e| e.filters.iter())
            .filter_map(|f| match f {
                Filter::Lookup(t, at) => Some((t.clone(), *at)),
                _ => None,
            })
            .collect()
    }

    /// Whether the template has no `{{ }}` at all.
    pub fn is_literal(&self) -> bool {
        self.exprs().next().is_none()
    }

    fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// Every value this template can give, when that is known without a
    /// user: a literal, or an expression whose value comes from a lookup
    /// table (all its values) or a `default`. `None` when a value read from
    /// the user can pass through. `table` gives a lookup table's values.
    /// Empty values (which mean "none") are left out.
    pub fn possible_values(
        &self,
        table: &dyn Fn(&str) -> Option<Vec<String>>,
    ) -> Option<std::collections::BTreeSet<String>> {
        let mut values: Option<std::collections::BTreeSet<String>> = match self.parts.as_slice() {
            [] => Some(Default::default()),
            [Part::Text(t)] => Some([t.clone()].into()),
            [Part::Expr(e)] => {
                let mut values: Option<std::collections::BTreeSet<String>> = match &e.source {
                    Source::Variable(..) => None,
                    Source::Literal(s) => Some([s.clone()].into()),
                };
                for filter in &e.filters {
                    values = match (filter, values) {
                        (Filter::Lookup(t, _), _) => Some(table(t)?.into_iter().collect()),
                        (Filter::Default(d), Some(mut v)) => {
                            v.insert(d.clone());
                            Some(v)
                        }
                        (_, None) => None,
                        (f, Some(v)) => Some(v.into_iter().map(|s| apply(f, s)).collect()),
                    };
                }
                values
            }
            _ => None,
        };
        if let Some(v) = &mut values {
            v.retain(|s| !s.trim().is_empty());
        }
        values
    }

    /// Renders the template.
    pub fn render(&self, ctx: &dyn Context) -> Result<Rendered, RenderError> {
        if let [Part::Expr(e)] = self.parts.as_slice() {
            return eval(e, ctx)?.ok_or_else(|| missing(e));
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => match eval(e, ctx)?.ok_or_else(|| missing(e))? {
                    Rendered::One(s) => out.push_str(&s),
                    Rendered::Many(_) => return Err(RenderError::ListInText),
                },
            }
        }
        Ok(Rendered::One(out))
    }
}

fn missing(e: &Expr) -> RenderError {
    match &e.source {
        Source::Variable(path, _) => RenderError::Missing(path.join(".")),
        Source::Literal(s) => RenderError::Missing(format!("'{s}'")),
    }
}

fn eval(e: &Expr, ctx: &dyn Context) -> Result<Option<Rendered>, RenderError> {
    let mut value = match &e.source {
        Source::Variable(path, _) => ctx.variable(path).map(Rendered::One),
        Source::Literal(s) => Some(Rendered::One(s.clone())),
    };
    for filter in &e.filters {
        value = match (filter, value) {
            (Filter::Default(d), None) => Some(Rendered::One(d.clone())),
            (Filter::Default(d), Some(Rendered::One(s))) if s.trim().is_empty() => {
                Some(Rendered::One(d.clone()))
            }
            (_, None) => None,
            (Filter::Lookup(table, _), Some(Rendered::One(key))) => match ctx.lookup(table, &key) {
                Some(v) => Some(v),
                None if e.filters.iter().any(|f| matches!(f, Filter::Default(_))) => None,
                None => {
                    return Err(RenderError::NoLookupEntry {
                        table: table.clone(),
                        key,
                    });
                }
            },
            (f, Some(Rendered::One(s))) => Some(Rendered::One(apply(f, s))),
            (f, Some(Rendered::Many(v))) => {
                Some(Rendered::Many(v.into_iter().map(|s| apply(f, s)).collect()))
            }
        };
    }
    Ok(value)
}

fn apply(filter: &Filter, s: String) -> String {
    match filter {
        Filter::Lower => s.to_lowercase(),
        Filter::Upper => s.to_uppercase(),
        Filter::Trim => s.trim().to_owned(),
        Filter::Replace(from, to) => s.replace(from.as_str(), to),
        Filter::Truncate(n) => s.chars().take(*n).collect(),
        Filter::First => s.chars().take(1).collect(),
        Filter::Slug => slug(&s),
        Filter::Default(_) | Filter::Lookup(..) => s,
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
            out.push(c);
        } else if c.is_whitespace() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out
}

fn find_close(chars: &[char], from: usize) -> Option<usize> {
    let mut quote = None;
    let mut i = from;
    while i + 1 < chars.len() {
        match (quote, chars[i]) {
            (None, '\'' | '"') => quote = Some(chars[i]),
            (Some(q), c) if c == q => quote = None,
            (None, '}') if chars[i + 1] == '}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

struct Cursor<'a> {
    chars: &'a [char],
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.end && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<char> {
        (self.pos < self.end).then(|| self.chars[self.pos])
    }
    fn error(&self, message: impl Into<String>) -> TemplateError {
        TemplateError {
            offset: self.pos,
            message: message.into(),
            hint: None,
        }
    }
    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        while self.pos < self.end
            && (self.chars[self.pos].is_alphanumeric() || self.chars[self.pos] == '_')
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }
    fn string(&mut self) -> Result<String, TemplateError> {
        let q = self.chars[self.pos];
        let start = self.pos;
        self.pos += 1;
        let mut s = String::new();
        while self.pos < self.end && self.chars[self.pos] != q {
            s.push(self.chars[self.pos]);
            self.pos += 1;
        }
        if self.pos >= self.end {
            self.pos = start;
            return Err(self.error("unterminated string"));
        }
        self.pos += 1;
        Ok(s)
    }
    fn arg(&mut self) -> Result<String, TemplateError> {
        self.skip_ws();
        match self.peek() {
            Some('\'' | '"') => self.string(),
            Some(c) if c.is_ascii_digit() => Ok(self.ident().unwrap_or_default()),
            _ => Err(self.error("expected a quoted string or a number")),
        }
    }
}

fn parse_expr(chars: &[char], start: usize, end: usize) -> Result<Expr, TemplateError> {
    let mut c = Cursor {
        chars,
        pos: start,
        end,
    };
    c.skip_ws();
    let source = match c.peek() {
        Some('\'' | '"') => Source::Literal(c.string()?),
        Some(_) => {
            let at = c.pos;
            let mut path = vec![
                c.ident()
                    .ok_or_else(|| c.error("expected a variable such as `profile.email`"))?,
            ];
            while c.peek() == Some('.') {
                c.pos += 1;
                path.push(
                    c.ident()
                        .ok_or_else(|| c.error("expected a name after `.`"))?,
                );
            }
            Source::Variable(path, at)
        }
        None => return Err(c.error("empty expression")),
    };
    let mut filters = Vec::new();
    loop {
        c.skip_ws();
        match c.peek() {
            None => break,
            Some('|') => c.pos += 1,
            Some(other) => {
                return Err(c.error(format!("unexpected `{other}`; filters follow a `|`")));
            }
        }
        c.skip_ws();
        let at = c.pos;
        let name = c
            .ident()
            .ok_or_else(|| c.error("expected a filter name after `|`"))?;
        c.skip_ws();
        let mut args = Vec::new();
        if c.peek() == Some('(') {
            c.pos += 1;
            loop {
                c.skip_ws();
                if c.peek() == Some(')') {
                    c.pos += 1;
                    break;
                }
                args.push(c.arg()?);
                c.skip_ws();
                match c.peek() {
                    Some(',') => c.pos += 1,
                    Some(')') => {}
                    _ => return Err(c.error("expected `,` or `)`")),
                }
            }
        }
        filters.push(make_filter(&name, args, at)?);
    }
    Ok(Expr { source, filters })
}

fn make_filter(name: &str, args: Vec<String>, at: usize) -> Result<Filter, TemplateError> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(TemplateError {
                offset: at,
                message: format!("filter `{name}` takes {n} argument(s), got {}", args.len()),
                hint: None,
            })
        }
    };
    Ok(match name {
        "lower" => arity(0).map(|_| Filter::Lower)?,
        "upper" => arity(0).map(|_| Filter::Upper)?,
        "trim" => arity(0).map(|_| Filter::Trim)?,
        "first" => arity(0).map(|_| Filter::First)?,
        "slug" => arity(0).map(|_| Filter::Slug)?,
        "replace" => arity(2).map(|_| Filter::Replace(args[0].clone(), args[1].clone()))?,
        "default" => arity(1).map(|_| Filter::Default(args[0].clone()))?,
        "lookup" => arity(1).map(|_| Filter::Lookup(args[0].clone(), at))?,
        "truncate" => {
            arity(1)?;
            let n = args[0].parse().map_err(|_| TemplateError {
                offset: at,
                message: "`truncate` takes a whole number".into(),
                hint: None,
            })?;
            Filter::Truncate(n)
        }
        other => {
            return Err(TemplateError {
                offset: at,
                message: format!("unknown filter `{other}`"),
                hint: Some(match super::diagnostic::did_you_mean(other, FILTERS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "filters are {}",
                        FILTERS.map(|f| format!("`{f}`")).join(", ")
                    ),
                }),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    struct Ctx(
        BTreeMap<String, String>,
        BTreeMap<(String, String), Rendered>,
    );
    impl Context for Ctx {
        fn variable(&self, path: &[String]) -> Option<String> {
            self.0.get(&path.join(".")).cloned()
        }
        fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
            self.1.get(&(table.to_owned(), key.to_owned())).cloned()
        }
    }

    fn ctx() -> Ctx {
        let vars = [
            ("profile.firstName", "Zoë"),
            ("profile.lastName", "De la Cruz"),
            ("profile.countryCode", "DE"),
        ];
        let mut lookups = BTreeMap::new();
        lookups.insert(("usage".into(), "DE".into()), Rendered::One("DE".into()));
        lookups.insert(
            ("bundle".into(), "DE".into()),
            Rendered::Many(vec!["SPE_E3".into(), "POWER_BI_PRO".into()]),
        );
        Ctx(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            lookups,
        )
    }

    fn render(t: &str) -> Result<Rendered, RenderError> {
        Template::parse(t).unwrap().render(&ctx())
    }

    #[test]
    fn renders_text_variables_and_filters() {
        assert_eq!(
            render("{{ profile.firstName | lower }}.{{ profile.lastName | slug }}@acme.example")
                .unwrap(),
            Rendered::One("zoë.de-la-cruz@acme.example".into())
        );
        assert_eq!(
            render("{{ profile.lastName | replace(' ', '') | upper }}").unwrap(),
            Rendered::One("DELACRUZ".into())
        );
        assert_eq!(
            render("{{ profile.firstName | first }}{{ profile.lastName | truncate(2) }}").unwrap(),
            Rendered::One("ZDe".into())
        );
    }

    #[test]
    fn default_covers_missing_values_and_lookups() {
        assert_eq!(
            render("{{ profile.title | default('Staff') }}").unwrap(),
            Rendered::One("Staff".into())
        );
        assert_eq!(
            render("{{ 'BR' | lookup('usage') | default('US') }}").unwrap(),
            Rendered::One("US".into())
        );
        assert_eq!(
            render("{{ profile.title }}"),
            Err(RenderError::Missing("profile.title".into()))
        );
        assert_eq!(
            render("{{ 'BR' | lookup('usage') }}"),
            Err(RenderError::NoLookupEntry {
                table: "usage".into(),
                key: "BR".into()
            })
        );
    }

    #[test]
    fn list_lookups_stand_alone() {
        assert_eq!(
            render("{{ profile.countryCode | lookup('bundle') }}").unwrap(),
            Rendered::Many(vec!["SPE_E3".into(), "POWER_BI_PRO".into()])
        );
        assert_eq!(
            render("x-{{ profile.countryCode | lookup('bundle') }}"),
            Err(RenderError::ListInText)
        );
    }

    #[test]
    fn parse_errors_point_at_the_mistake() {
        let err = Template::parse("{{ profile.email | lowr }}").unwrap_err();
        assert_eq!(err.offset, 19);
        assert_eq!(err.message, "unknown filter `lowr`");
        assert_eq!(err.hint.as_deref(), Some("did you mean `lower`?"));
        assert_eq!(Template::parse("a {{ profile.email").unwrap_err().offset, 2);
        assert!(Template::parse("{{ replace }}").is_ok());
        assert!(
            Template::parse("{{ x | replace('a') }}")
                .unwrap_err()
                .message
                .contains("takes 2")
        );
    }

    #[test]
    fn variables_and_lookups_are_listed_with_offsets() {
        let t = Template::parse("{{ profile.a }}-{{ user.id | lookup('t') }}").unwrap();
        assert_eq!(
            t.variables(),
            vec![
                (vec!["profile".into(), "a".into()], 3),
                (vec!["user".into(), "id".into()], 19)
            ]
        );
        assert_eq!(t.lookups(), vec![("t".into(), 29)]);
    }
}
