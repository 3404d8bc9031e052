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
//! | `join('sep')` | a list as one string, its values separated by `sep` |
//! | `optional` | an attribute no Okta user has yet: empty instead of an error |
//!
//! A variable can be a list (an Okta array attribute such as `string[]`).
//! Filters act on each value of a list; `lookup` looks each value up and
//! joins the entries; `join` makes it one string. A list stands alone in its
//! template (then it is several values, like a list-valued lookup entry) or
//! is joined: a list inside longer text is an error naming the variable.
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
    Join(String),
    Optional,
}

const FILTERS: [&str; 11] = [
    "lower", "upper", "trim", "replace", "default", "lookup", "truncate", "first", "slug", "join",
    "optional",
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

/// A value: most templates and variables give one string; a lookup whose
/// entry is a list, or an Okta array attribute, gives several.
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

/// A lookup table entry: its key and its values.
pub type LookupEntry = (String, Vec<String>);

/// What rendering needs: variable values and lookup tables.
pub trait Context {
    /// The value of a variable path (`["profile", "department"]`), if set:
    /// one string, or several for an array attribute (never an empty list).
    fn variable(&self, path: &[String]) -> Option<Rendered>;
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
    /// A list value was used inside longer text, where one string was needed.
    ListInText(ListSource),
}

/// Where a list came from, for the error when it is used as one string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListSource {
    /// A variable that is a list (an Okta array attribute), by its path.
    Variable(String),
    /// A lookup table whose entry is a list.
    Lookup(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(v) => write!(f, "`{v}` is not set"),
            Self::NoLookupEntry { table, key } => {
                write!(f, "lookup table `{table}` has no entry `{key}`")
            }
            Self::ListInText(ListSource::Variable(v)) => {
                write!(
                    f,
                    "`{v}` is a list (an Okta array attribute) inside longer text"
                )
            }
            Self::ListInText(ListSource::Lookup(t)) => write!(
                f,
                "lookup table `{t}` gives a list, which can only stand alone in its template"
            ),
        }
    }
}

impl RenderError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Missing(_) | Self::NoLookupEntry { .. } => {
                "add `| default('…')` to the template, or fix the data in Okta".to_owned()
            }
            Self::ListInText(ListSource::Variable(v)) => format!(
                "join it into one string (`{v} | join(', ')`), or let it stand alone in its template to use it as several values"
            ),
            Self::ListInText(ListSource::Lookup(_)) => {
                "let the lookup stand alone in its template, or make the entry one value".to_owned()
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

    /// The `profile.<attribute>` variables used: the attribute, the
    /// character offset of the variable, and whether an `optional` filter
    /// says no Okta user may have it yet.
    pub fn profile_attributes(&self) -> Vec<(String, usize, bool)> {
        self.exprs()
            .filter_map(|e| match &e.source {
                Source::Variable(path, at) if path.len() == 2 && path[0] == "profile" => Some((
                    path[1].clone(),
                    *at,
                    e.filters.iter().any(|f| matches!(f, Filter::Optional)),
                )),
                _ => None,
            })
            .collect()
    }

    /// The literal text of a template with no `{{ }}`.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(_) => return None,
            }
        }
        Some(out)
    }

    /// Every value a template can give when it is one expression that ends
    /// in values it knows: through a lookup table (each entry of `table`,
    /// through the filters after the lookup) or a `default`. `entries`
    /// gives a table's entries as (key, values). `None` when the values come
    /// from Okta data directly. Each value comes with the key of the entry
    /// it came from (`None` for a default).
    pub fn known_values(
        &self,
        entries: &dyn Fn(&str) -> Vec<LookupEntry>,
    ) -> Option<Vec<(String, Option<String>)>> {
        let [Part::Expr(e)] = self.parts.as_slice() else {
            return None;
        };
        let at = e
            .filters
            .iter()
            .rposition(|f| matches!(f, Filter::Lookup(..)))?;
        let Filter::Lookup(table, _) = &e.filters[at] else {
            return None;
        };
        let mut values: Vec<(String, Option<String>)> = entries(table)
            .into_iter()
            .flat_map(|(key, values)| values.into_iter().map(move |v| (v, Some(key.clone()))))
            .collect();
        for filter in &e.filters[at + 1..] {
            match filter {
                Filter::Default(d) => values.push((d.clone(), None)),
                Filter::Optional => {}
                f => {
                    for (v, _) in &mut values {
                        *v = apply(f, std::mem::take(v));
                    }
                }
            }
        }
        Some(values)
    }

    /// A glob every rendering of the template matches: its text, with `*`
    /// for each expression (special characters escaped with a backslash).
    pub fn pattern(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => {
                    for c in t.chars() {
                        if "*?[]{}\\".contains(c) {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                }
                Part::Expr(_) => out.push('*'),
            }
        }
        out
    }

    /// When the template is the variable `var` alone with at most `lower`,
    /// `upper`, `trim` and `slug` filters (the value, up to case and
    /// spacing): whether `slug` is among them.
    pub fn is_variable_up_to_case(&self, var: &str) -> Option<bool> {
        let [Part::Expr(e)] = self.parts.as_slice() else {
            return None;
        };
        let Source::Variable(path, _) = &e.source else {
            return None;
        };
        if path.join(".") != var {
            return None;
        }
        let mut slugged = false;
        for f in &e.filters {
            match f {
                Filter::Lower | Filter::Upper | Filter::Trim => {}
                Filter::Slug => slugged = true,
                _ => return None,
            }
        }
        Some(slugged)
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

    /// Renders the template. A template that is one expression may give a
    /// list; in longer text every expression must give one string.
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
                    Rendered::Many(_) => return Err(RenderError::ListInText(list_source(e, ctx))),
                },
            }
        }
        Ok(Rendered::One(out))
    }
}

/// Where the list an expression gave came from: its variable when that is a
/// list, otherwise the lookup table that made one.
fn list_source(e: &Expr, ctx: &dyn Context) -> ListSource {
    if let Source::Variable(path, _) = &e.source
        && let Some(Rendered::Many(_)) = ctx.variable(path)
    {
        return ListSource::Variable(path.join("."));
    }
    let table = e.filters.iter().rev().find_map(|f| match f {
        Filter::Lookup(t, _) => Some(t.clone()),
        _ => None,
    });
    match (table, &e.source) {
        (Some(t), _) => ListSource::Lookup(t),
        (None, Source::Variable(path, _)) => ListSource::Variable(path.join(".")),
        (None, Source::Literal(s)) => ListSource::Variable(format!("'{s}'")),
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
        Source::Variable(path, _) => ctx.variable(path),
        Source::Literal(s) => Some(Rendered::One(s.clone())),
    };
    let defaulted = e.filters.iter().any(|f| matches!(f, Filter::Default(_)));
    for filter in &e.filters {
        value = match (filter, value) {
            (Filter::Default(d), None) => Some(Rendered::One(d.clone())),
            (Filter::Default(d), Some(v)) if is_blank(&v) => Some(Rendered::One(d.clone())),
            (Filter::Optional, None) => Some(Rendered::One(String::new())),
            (_, None) => None,
            (Filter::Lookup(table, _), Some(Rendered::One(key))) => match ctx.lookup(table, &key) {
                Some(v) => Some(v),
                None if defaulted => None,
                None => {
                    return Err(RenderError::NoLookupEntry {
                        table: table.clone(),
                        key,
                    });
                }
            },
            (Filter::Lookup(table, _), Some(Rendered::Many(keys))) => {
                lookup_each(ctx, table, keys, defaulted)?
            }
            (Filter::Join(sep), Some(Rendered::Many(v))) => Some(Rendered::One(v.join(sep))),
            (f, Some(Rendered::One(s))) => Some(Rendered::One(apply(f, s))),
            (f, Some(Rendered::Many(v))) => {
                Some(Rendered::Many(v.into_iter().map(|s| apply(f, s)).collect()))
            }
        };
    }
    Ok(value)
}

/// Whether a value is empty: blank text, or a list of blank values.
fn is_blank(v: &Rendered) -> bool {
    match v {
        Rendered::One(s) => s.trim().is_empty(),
        Rendered::Many(v) => v.iter().all(|s| s.trim().is_empty()),
    }
}

/// `lookup` over a list: each value's entry, the entries' values in order.
/// A value with no entry is an error, unless a `default` follows (then it
/// is skipped, and a list with no entry at all is missing).
fn lookup_each(
    ctx: &dyn Context,
    table: &str,
    keys: Vec<String>,
    defaulted: bool,
) -> Result<Option<Rendered>, RenderError> {
    let mut found = false;
    let mut out = Vec::new();
    for key in keys {
        match ctx.lookup(table, &key) {
            Some(v) => {
                found = true;
                out.extend(v.into_vec());
            }
            None if defaulted => {}
            None => {
                return Err(RenderError::NoLookupEntry {
                    table: table.to_owned(),
                    key,
                });
            }
        }
    }
    Ok(found.then_some(Rendered::Many(out)))
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
        Filter::Default(_) | Filter::Lookup(..) | Filter::Join(_) | Filter::Optional => s,
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
        "optional" => arity(0).map(|_| Filter::Optional)?,
        "join" => arity(1).map(|_| Filter::Join(args[0].clone()))?,
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
        BTreeMap<String, Rendered>,
        BTreeMap<(String, String), Rendered>,
    );
    impl Context for Ctx {
        fn variable(&self, path: &[String]) -> Option<Rendered> {
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
        lookups.insert(
            ("teams".into(), "Blue".into()),
            Rendered::One("eng-blue".into()),
        );
        lookups.insert(
            ("teams".into(), "Red".into()),
            Rendered::Many(vec!["eng-red".into(), "on-call".into()]),
        );
        let mut vars: BTreeMap<String, Rendered> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), Rendered::One(v.to_string())))
            .collect();
        vars.insert(
            "profile.squads".into(),
            Rendered::Many(vec![" Blue".into(), "Red ".into()]),
        );
        Ctx(vars, lookups)
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
            Err(RenderError::ListInText(ListSource::Lookup("bundle".into())))
        );
    }

    #[test]
    fn array_variables_are_lists_filtered_value_by_value() {
        let many = |v: &[&str]| Rendered::Many(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            render("{{ profile.squads }}").unwrap(),
            many(&[" Blue", "Red "])
        );
        assert_eq!(
            render("{{ profile.squads | trim | lower }}").unwrap(),
            many(&["blue", "red"])
        );
        assert_eq!(
            render("{{ profile.squads | trim | replace('e', '3') | upper }}").unwrap(),
            many(&["BLU3", "R3D"])
        );
        assert_eq!(
            render("{{ profile.squads | slug | truncate(2) }}").unwrap(),
            many(&["bl", "re"])
        );
        assert_eq!(
            render("{{ profile.squads | first }}").unwrap(),
            many(&[" ", "R"])
        );
        // A lookup looks up each value and joins the entries, lists included.
        assert_eq!(
            render("{{ profile.squads | trim | lookup('teams') }}").unwrap(),
            many(&["eng-blue", "eng-red", "on-call"])
        );
    }

    #[test]
    fn join_makes_one_string_and_a_bare_list_in_text_is_an_error() {
        assert_eq!(
            render("Squads: {{ profile.squads | trim | join(', ') }}.").unwrap(),
            Rendered::One("Squads: Blue, Red.".into())
        );
        assert_eq!(
            render("{{ profile.firstName | join('+') }}").unwrap(),
            Rendered::One("Zoë".into()),
            "join leaves one value as it is"
        );
        let err = render("Squads: {{ profile.squads | lower }}").unwrap_err();
        assert_eq!(
            err,
            RenderError::ListInText(ListSource::Variable("profile.squads".into()))
        );
        assert!(
            err.hint().contains("profile.squads | join(', ')"),
            "{}",
            err.hint()
        );
    }

    #[test]
    fn lookups_over_lists_skip_missing_keys_only_with_a_default() {
        assert_eq!(
            render("{{ profile.squads | lookup('teams') }}"),
            Err(RenderError::NoLookupEntry {
                table: "teams".into(),
                key: " Blue".into()
            })
        );
        assert_eq!(
            render("{{ profile.squads | lookup('teams') | default('none') }}").unwrap(),
            Rendered::One("none".into()),
            "no value has an entry: the default"
        );
        assert_eq!(
            render("{{ profile.squads | trim | lookup('usage') | default('none') }}").unwrap(),
            Rendered::One("none".into())
        );
    }

    #[test]
    fn optional_makes_a_missing_value_empty() {
        assert_eq!(
            render("{{ profile.costCenter | optional }}").unwrap(),
            Rendered::One(String::new())
        );
        assert_eq!(
            render("{{ profile.costCenter | optional | default('CC-1') }}").unwrap(),
            Rendered::One("CC-1".into())
        );
        let t =
            Template::parse("{{ profile.a | optional }} {{ profile.b }} {{ user.id }}").unwrap();
        assert_eq!(
            t.profile_attributes(),
            vec![("a".into(), 3, true), ("b".into(), 30, false)]
        );
    }

    #[test]
    fn patterns_cover_every_rendering() {
        let t = Template::parse("squad-{{ group.name | slug }}*[x]").unwrap();
        assert_eq!(t.pattern(), "squad-*\\*\\[x\\]");
        assert_eq!(
            Template::parse("{{ group.name | slug | lower }}")
                .unwrap()
                .is_variable_up_to_case("group.name"),
            Some(true)
        );
        assert_eq!(
            Template::parse("{{ group.name | trim }}")
                .unwrap()
                .is_variable_up_to_case("group.name"),
            Some(false)
        );
        for other in [
            "x-{{ group.name }}",
            "{{ group.name | replace('a', 'b') }}",
            "{{ group.id }}",
        ] {
            assert_eq!(
                Template::parse(other)
                    .unwrap()
                    .is_variable_up_to_case("group.name"),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn known_values_follow_a_lookup_through_its_filters() {
        let entries = |t: &str| -> Vec<LookupEntry> {
            assert_eq!(t, "dept");
            vec![
                ("Sales".into(), vec!["Sales-Team".into()]),
                ("Eng".into(), vec!["Eng".into(), "On Call".into()]),
            ]
        };
        let t = Template::parse("{{ profile.department | lookup('dept') | slug | default('x') }}")
            .unwrap();
        assert_eq!(
            t.known_values(&entries).unwrap(),
            vec![
                ("sales-team".into(), Some("Sales".into())),
                ("eng".into(), Some("Eng".into())),
                ("on-call".into(), Some("Eng".into())),
                ("x".into(), None),
            ]
        );
        assert_eq!(
            Template::parse("{{ profile.department }}")
                .unwrap()
                .known_values(&entries),
            None
        );
        assert_eq!(
            Template::parse("g-{{ 'a' | lookup('dept') }}")
                .unwrap()
                .known_values(&entries),
            None
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
