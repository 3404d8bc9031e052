//! Loading: YAML text → schema-checked, typed policy files merged into one
//! [`Policy`] whose every item remembers the file and JSON pointer it came
//! from. No I/O: the caller hands in the texts.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::diagnostic::{Diagnostic, Location, did_you_mean};
use super::types::{GroupDef, GuestRule, Lifecycle, LookupValue, Mirror, PolicyFile, Protected, Rule};
use super::yaml::{self, SpanIndex};

/// A policy file's path and text.
#[derive(Clone, Debug)]
pub struct PolicySource {
    /// Path as the user should see it (relative to the working directory when possible).
    pub path: String,
    /// The YAML text.
    pub text: String,
}

/// Something from a policy file, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Item<T> {
    /// The value.
    pub value: T,
    /// Index into [`Policy::files`].
    pub file: usize,
    /// JSON pointer of the value inside its file (`/rules/3`).
    pub pointer: String,
}

/// A parsed policy file's path and positions.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    /// Path as given.
    pub path: String,
    /// Positions of every value.
    pub spans: SpanIndex,
    /// The text, to place columns inside quoted strings.
    pub text: String,
}

/// All policy files, merged.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The files, in the order given.
    pub files: Vec<LoadedFile>,
    /// Lookup tables by name.
    pub lookups: BTreeMap<String, Item<BTreeMap<String, LookupValue>>>,
    /// Groups okta365 owns.
    pub groups: Vec<Item<GroupDef>>,
    /// Mirroring rules.
    pub mirrors: Vec<Item<Mirror>>,
    /// Provisioning rules.
    pub rules: Vec<Item<Rule>>,
    /// Guest rules.
    pub guests: Vec<Item<GuestRule>>,
    /// Joiner and leaver behaviour (defaults when no file sets it).
    pub lifecycle: Option<Item<Lifecycle>>,
    /// Protected accounts, merged across files.
    pub protected: Protected,
}

impl Policy {
    /// Where the value at `pointer` in file `file` was written.
    pub fn location(&self, file: usize, pointer: &str) -> Location {
        let f = &self.files[file];
        let (line, col) = f.spans.value(pointer);
        Location { file: f.path.clone(), line, col }
    }

    /// Where character `offset` of the string at `pointer` was written
    /// (steps over an opening quote).
    pub fn location_in_string(&self, file: usize, pointer: &str, offset: usize) -> Location {
        let mut at = self.location(file, pointer);
        let line = self.files[file].text.lines().nth(at.line as usize - 1).unwrap_or_default();
        let quoted = matches!(line.chars().nth(at.col as usize - 1), Some('"' | '\''));
        at.col += offset as u32 + u32::from(quoted);
        at
    }

    /// Where an item was written.
    pub fn item_location<T>(&self, item: &Item<T>) -> Location {
        self.location(item.file, &item.pointer)
    }

    /// Where the key of the value at `pointer` was written.
    pub fn key_location(&self, file: usize, pointer: &str) -> Location {
        let f = &self.files[file];
        let (line, col) = f.spans.key(pointer);
        Location { file: f.path.clone(), line, col }
    }

    /// The lifecycle settings in force.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.as_ref().map(|l| l.value.clone()).unwrap_or_default()
    }
}

/// The JSON Schema of a policy file, generated from the Rust types.
pub fn policy_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(PolicyFile)).expect("schema serialises")
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::validator_for(&policy_schema()).expect("generated schema is valid"))
}

/// Parses, schema-checks and merges policy files. Returns the policy when no
/// file had an error, and every diagnostic found (all files, all errors).
pub fn load(sources: &[PolicySource]) -> (Option<Policy>, Vec<Diagnostic>) {
    let mut policy = Policy::default();
    let mut diagnostics = Vec::new();
    for source in sources {
        let at = |line, col| Some(Location { file: source.path.clone(), line, col });
        let (value, spans) = match yaml::parse(&source.text) {
            Ok(parsed) => parsed,
            Err(e) => {
                diagnostics.push(
                    Diagnostic::error(at(e.line, e.col), format!("invalid YAML: {}", e.message))
                        .with_hint("check indentation and quoting near this position"),
                );
                continue;
            }
        };
        let schema_errors: Vec<Diagnostic> = validator()
            .iter_errors(&value)
            .map(|error| schema_diagnostic(&source.path, &spans, &value, &error))
            .collect();
        if !schema_errors.is_empty() {
            diagnostics.extend(drop_echoes(schema_errors));
            continue;
        }
        let file: PolicyFile = match serde_path_to_error::deserialize(&value) {
            Ok(file) => file,
            Err(e) => {
                let pointer = path_to_pointer(&e.path().to_string());
                let (line, col) = spans.value(&pointer);
                diagnostics.push(Diagnostic::error(at(line, col), e.into_inner().to_string()));
                continue;
            }
        };
        let index = policy.files.len();
        policy.files.push(LoadedFile { path: source.path.clone(), spans, text: source.text.clone() });
        merge(&mut policy, index, file, &mut diagnostics);
    }
    let ok = !diagnostics.iter().any(Diagnostic::is_error);
    (ok.then_some(policy), diagnostics)
}

fn item<T>(value: T, file: usize, pointer: String) -> Item<T> {
    Item { value, file, pointer }
}

fn merge(policy: &mut Policy, file: usize, parsed: PolicyFile, diagnostics: &mut Vec<Diagnostic>) {
    for (name, table) in parsed.lookups {
        let pointer = format!("/lookups/{}", yaml::escape(&name));
        if let Some(first) = policy.lookups.get(&name) {
            let first_at = policy.item_location(first);
            diagnostics.push(
                Diagnostic::error(Some(policy.key_location(file, &pointer)), format!("lookup table `{name}` is defined twice"))
                    .with_hint(format!("the first definition is at {first_at}; rename or merge them")),
            );
            continue;
        }
        policy.lookups.insert(name, item(table, file, pointer));
    }
    for (i, g) in parsed.groups.into_iter().enumerate() {
        policy.groups.push(item(g, file, format!("/groups/{i}")));
    }
    for (i, m) in parsed.mirrors.into_iter().enumerate() {
        policy.mirrors.push(item(m, file, format!("/mirrors/{i}")));
    }
    for (i, r) in parsed.rules.into_iter().enumerate() {
        policy.rules.push(item(r, file, format!("/rules/{i}")));
    }
    for (i, g) in parsed.guests.into_iter().enumerate() {
        policy.guests.push(item(g, file, format!("/guests/{i}")));
    }
    if let Some(lifecycle) = parsed.lifecycle {
        let pointer = "/lifecycle".to_owned();
        match &policy.lifecycle {
            Some(first) => diagnostics.push(
                Diagnostic::error(Some(policy.key_location(file, &pointer)), "`lifecycle` is set in two files")
                    .with_hint(format!("keep one; the other is at {}", policy.item_location(first))),
            ),
            None => policy.lifecycle = Some(item(lifecycle, file, pointer)),
        }
    }
    if let Some(p) = parsed.protected {
        policy.protected.upns.extend(p.upns);
        policy.protected.object_ids.extend(p.object_ids);
        policy.protected.groups.extend(p.groups);
    }
}

/// A misspelt field shows up twice: as an unknown field (with "did you mean
/// `name`?") and as the missing field `name`. Keep the first, which points at
/// the typo.
fn drop_echoes(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let suggested: Vec<String> = diagnostics
        .iter()
        .filter_map(|d| d.hint.as_deref()?.strip_prefix("did you mean ").map(|s| s.trim_end_matches('?').to_owned()))
        .collect();
    diagnostics
        .into_iter()
        .filter(|d| !d.message.strip_prefix("missing field ").is_some_and(|f| suggested.iter().any(|s| s == f)))
        .collect()
}

/// `rules[0].when.group` (serde_path_to_error) → `/rules/0/when/group`.
fn path_to_pointer(path: &str) -> String {
    let mut out = String::new();
    for segment in path.split('.').filter(|s| !s.is_empty() && *s != "?") {
        let mut rest = segment;
        if let Some(i) = rest.find('[') {
            out.push('/');
            out.push_str(&yaml::escape(&rest[..i]));
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                out.push('/');
                out.push_str(&rest[1..end]);
                rest = &rest[end + 1..];
            }
        } else {
            out.push('/');
            out.push_str(&yaml::escape(rest));
        }
    }
    out
}

fn schema_diagnostic(path: &str, spans: &SpanIndex, instance: &Value, error: &jsonschema::ValidationError) -> Diagnostic {
    let pointer = error.instance_path().to_string();
    let at = |(line, col): (u32, u32)| Some(Location { file: path.to_owned(), line, col });
    let here = instance.pointer(&pointer);
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            let child = format!("{pointer}/{}", yaml::escape(&name));
            let known = known_fields(&pointer, instance);
            let mut d = Diagnostic::error(at(spans.key(&child)), format!("unknown field `{name}`"));
            d.hint = Some(match did_you_mean(&name, known.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None if !known.is_empty() => format!("expected one of {}", backticked(&known)),
                None => "remove it".to_owned(),
            });
            d
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            // Externally tagged enums (selectors): one key naming the variant.
            let variants: Vec<String> = context
                .iter()
                .flat_map(|branch| branch.iter())
                .filter_map(|e| match e.kind() {
                    ValidationErrorKind::Required { property } if e.instance_path().to_string() == pointer => {
                        property.as_str().map(str::to_owned)
                    }
                    _ => None,
                })
                .collect();
            // Unit enums with documented variants are `oneOf` a list of `const`s.
            let constants: Vec<String> = context
                .iter()
                .flat_map(|branch| branch.iter())
                .filter_map(|e| match e.kind() {
                    ValidationErrorKind::Constant { expected_value } => expected_value.as_str().map(str::to_owned),
                    _ => None,
                })
                .collect();
            if !constants.is_empty() && context.iter().all(|b| b.len() == 1) {
                return enum_diagnostic(at(spans.value(&pointer)), here, &constants);
            }
            if let Some(Value::Object(map)) = here
                && map.len() == 1
                && !variants.is_empty()
            {
                let key = map.keys().next().expect("one key");
                if !variants.contains(key) {
                    let child = format!("{pointer}/{}", yaml::escape(key));
                    let mut d = Diagnostic::error(at(spans.key(&child)), format!("unknown selector `{key}`"));
                    d.hint = Some(match did_you_mean(key, variants.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("expected one of {}", backticked(&variants)),
                    });
                    return d;
                }
                // The right variant with a wrong body: report that variant's deepest error.
                if let Some(branch) = context.iter().find(|b| {
                    !b.iter().any(|e| matches!(e.kind(), ValidationErrorKind::Required { property } if property.as_str() == Some(key)))
                }) && let Some(inner) = branch.iter().max_by_key(|e| e.instance_path().to_string().len())
                {
                    return schema_diagnostic(path, spans, instance, inner);
                }
            }
            Diagnostic::error(at(spans.value(&pointer)), "value does not match any allowed form")
                .with_hint("see docs/policy.md for the shapes this field takes")
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            enum_diagnostic(at(spans.value(&pointer)), here, &opts)
        }
        ValidationErrorKind::Required { property } => Diagnostic::error(
            at(spans.value(&pointer)),
            format!("missing field `{}`", property.as_str().unwrap_or_default()),
        )
        .with_hint("add it; see docs/policy.md"),
        ValidationErrorKind::Type { kind } => {
            let expected = format!("{kind:?}").to_lowercase().replace("single(", "").replace(['(', ')'], "");
            Diagnostic::error(at(spans.value(&pointer)), format!("expected {expected}, found {}", type_name(here)))
        }
        _ => Diagnostic::error(at(spans.value(&pointer)), error.to_string()),
    }
}

/// Field names the schema allows on the object at `pointer`, found by walking
/// the schema along the instance path.
fn known_fields(pointer: &str, instance: &Value) -> Vec<String> {
    let root = policy_schema();
    let mut schema = &root;
    let mut value = instance;
    let segments: Vec<String> = pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
    for segment in &segments {
        schema = resolve(&root, schema, value);
        let next = if let Some(props) = schema.get("properties").and_then(|p| p.get(segment.as_str())) {
            Some(props)
        } else if let Some(items) = schema.get("items") {
            Some(items)
        } else {
            schema.get("additionalProperties").filter(|a| a.is_object())
        };
        match (next, value.get(segment.as_str()).or_else(|| segment.parse::<usize>().ok().and_then(|i| value.get(i)))) {
            (Some(s), Some(v)) => {
                schema = s;
                value = v;
            }
            _ => return Vec::new(),
        }
    }
    schema = resolve(&root, schema, value);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follows `$ref`s, and for `oneOf`/`anyOf` picks the branch whose required key is present.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value, value: &Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            match root.pointer(r.trim_start_matches('#')) {
                Some(s) => schema = s,
                None => return schema,
            }
            continue;
        }
        let branches = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array);
        if let Some(branches) = branches {
            let pick = branches.iter().find(|b| {
                let b = resolve(root, b, value);
                b.get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|req| req.iter().all(|k| k.as_str().is_some_and(|k| value.get(k).is_some())))
                    && b.get("properties").is_some()
            });
            match pick {
                Some(b) => schema = b,
                None => return schema,
            }
            continue;
        }
        return schema;
    }
    schema
}

fn enum_diagnostic(at: Option<Location>, here: Option<&Value>, options: &[String]) -> Diagnostic {
    let got = match here {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let mut d = Diagnostic::error(at, format!("`{got}` is not allowed here"));
    d.hint = Some(match did_you_mean(&got, options.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("expected one of {}", backticked(options)),
    });
    d
}

fn backticked(items: &[String]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        Some(Value::Null) | None => "nothing",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "a list",
        Some(Value::Object(_)) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
        load(&[PolicySource { path: "p.yaml".into(), text: text.into() }])
    }

    fn first_error(text: &str) -> String {
        let (_, d) = load_one(text);
        d.first().expect("an error").render_plain()
    }

    #[test]
    fn loads_a_small_policy_with_positions() {
        let (policy, diags) = load_one(
            "rules:\n  - name: staff\n    when: { group: Everyone }\n    attributes:\n      displayName: \"{{ profile.firstName }}\"\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let policy = policy.unwrap();
        assert_eq!(policy.rules[0].value.name, "staff");
        assert_eq!(policy.item_location(&policy.rules[0]).to_string(), "p.yaml:2:5");
    }

    #[test]
    fn unknown_field_points_at_the_key_with_a_suggestion() {
        assert_eq!(
            first_error("rules:\n  - nmae: staff\n    when: { everyone: true }\n"),
            "p.yaml:2:5: error: unknown field `nmae`\n  hint: did you mean `name`?"
        );
    }

    #[test]
    fn unknown_selector_is_named() {
        assert_eq!(
            first_error("rules:\n  - name: s\n    when:\n      grup: eng\n"),
            "p.yaml:4:7: error: unknown selector `grup`\n  hint: did you mean `group`?"
        );
    }

    #[test]
    fn bad_enum_value_suggests() {
        assert_eq!(
            first_error("groups:\n  - name: x\n    kind: unifed\n"),
            "p.yaml:3:11: error: `unifed` is not allowed here\n  hint: did you mean `unified`?"
        );
    }

    #[test]
    fn every_error_in_every_file_is_reported() {
        let (policy, diags) = load(&[
            PolicySource { path: "a.yaml".into(), text: "rules:\n  - nmae: a\n  - name: b\n    wen: {}\n".into() },
            PolicySource { path: "b.yaml".into(), text: "groups: [\n".into() },
        ]);
        assert!(policy.is_none());
        let files: Vec<_> = diags.iter().map(|d| d.location.as_ref().unwrap().file.as_str()).collect();
        assert!(diags.len() >= 3, "{diags:#?}");
        assert!(files.contains(&"a.yaml") && files.contains(&"b.yaml"));
    }

    #[test]
    fn pointer_from_serde_path() {
        assert_eq!(path_to_pointer("rules[0].when.group"), "/rules/0/when/group");
        assert_eq!(path_to_pointer("lookups.a/b"), "/lookups/a~1b");
    }
}
