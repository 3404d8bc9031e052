//! The one module that knows YAML.
//!
//! Policy files are parsed with `serde-saphyr` (a maintained, panic-free
//! successor to the deprecated `serde_yaml` that keeps source positions) into
//! a plain JSON value plus a [`SpanIndex`] mapping every JSON pointer to the
//! line and column it came from. Everything after this module (schema
//! validation, typed deserialisation, semantic checks) works on JSON and asks
//! the index where a value was written.

use std::collections::HashMap;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

/// Where each value (and each mapping key) of a document was written.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    values: HashMap<String, (u32, u32)>,
    keys: HashMap<String, (u32, u32)>,
}

impl SpanIndex {
    /// Line and column of the value at `pointer` (RFC 6901), or of its
    /// nearest ancestor that was written in the file.
    pub fn value(&self, pointer: &str) -> (u32, u32) {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    }

    /// Line and column of what was written at `pointer` (its key if it is
    /// a mapping value), or `None` when the file does not hold it.
    pub fn written(&self, pointer: &str) -> Option<(u32, u32)> {
        self.keys
            .get(pointer)
            .or_else(|| self.values.get(pointer))
            .copied()
    }

    /// Line and column of the mapping key whose value is at `pointer`
    /// (falls back to the value's position).
    pub fn key(&self, pointer: &str) -> (u32, u32) {
        self.keys
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.value(pointer))
    }
}

/// A YAML syntax error, with its position, in okta365's words.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    /// 1-based line (1 when unknown).
    pub line: u32,
    /// 1-based column (1 when unknown).
    pub col: u32,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: &'static str,
}

/// Parses one YAML document into JSON and the positions of its values.
/// An empty document is an empty mapping. Work and memory grow with the
/// text, not beyond: aliases, anchors, nodes and nesting are bounded
/// ([`budget`]), so a small file cannot expand into a large value.
pub fn parse(text: &str) -> Result<(Value, SpanIndex), SyntaxError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok((Value::Object(Map::new()), SpanIndex::default()));
    }
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget(text.len()));
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((1, 1));
        let (message, hint) = reword(&first_line(&e.to_string()));
        SyntaxError {
            line: line.max(1),
            col: col.max(1),
            message,
            hint,
        }
    })?;
    let mut index = SpanIndex::default();
    let value = flatten(root, String::new(), &mut index);
    Ok((value, index))
}

/// The parser's limits for a text of `len` bytes: nodes and events in
/// proportion to the text (every node takes at least a byte of it), few
/// aliases and anchors (policies hardly need them; each alias copies what
/// it names), and a nesting depth far beyond any policy's.
fn budget(len: usize) -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_events = b.max_events.min(10_000 + 2 * len);
    b.max_nodes = b.max_nodes.min(10_000 + len);
    b.max_aliases = 1_000;
    b.max_anchors = 1_000;
    b.max_recorded_anchor_events = 10_000;
    b.max_recorded_anchor_bytes = (1 << 20).max(len);
    b.max_documents = 1;
    b
}

/// The parser's message in okta365's terms, and what to do about it.
fn reword(message: &str) -> (String, &'static str) {
    const INDENT: &str =
        "check the indentation: items of one list or mapping start in the same column, with spaces";
    let m = message.to_lowercase();
    let said = |words: &str| m.contains(words);
    let (text, hint): (String, &'static str) = if said("budget breached") {
        if said("alias") || said("anchor") || said("recorded") {
            (
                "the document repeats too much through aliases (`*name`)".into(),
                "write the values out instead of repeating them with aliases (`&name`, `*name`)",
            )
        } else if said("depth") {
            (
                "the document nests too deep".into(),
                "policies are a few levels deep: check the brackets and indentation",
            )
        } else if said("documents") {
            (
                "more than one YAML document (`---`) in one file".into(),
                "keep one document a file",
            )
        } else {
            (
                "the file holds more values than okta365 reads in one policy file".into(),
                "split it into several files, or check that it is the file you meant",
            )
        }
    } else if said("tabs ") || said("tab character") {
        ("a tab in the indentation".into(), "indent with spaces only")
    } else if said("duplicate mapping key") {
        let key = message
            .split_once("duplicate mapping key: ")
            .map(|(_, k)| k.split(',').next().unwrap_or(k).trim().to_owned())
            .unwrap_or_default();
        (
            format!(
                "`{}` is set twice in the same mapping",
                crate::policy::diagnostic::truncate(&key, 60)
            ),
            "keep one of them",
        )
    } else if said("mapping values are not allowed") {
        (
            "a `: ` inside a value starts a key where none can be".into(),
            "quote the value (`\"a: b\"`), or put the key on a line of its own",
        )
    } else if said("did not find expected '-'")
        || said("did not find expected key")
        || said("block") && said("indent")
    {
        (
            "this line does not line up with the list or mapping it belongs to".into(),
            INDENT,
        )
    } else if said("unclosed bracket") || said("did not find expected ',' or ']'") {
        (
            "a `[` is never closed".into(),
            "close the list with `]`, or quote the text",
        )
    } else if said("unclosed brace") || said("did not find expected ',' or '}'") {
        (
            "a `{` is never closed".into(),
            "close the mapping with `}`, or quote the text",
        )
    } else if said("unclosed quote") || said("found unexpected end of stream") && said("quoted") {
        (
            "a quote is never closed".into(),
            "end the text with the same quote it starts with",
        )
    } else if said("hexadecimal") || said("escape") {
        (
            "an unknown escape in a double-quoted text".into(),
            "use single quotes for text with backslashes, or escape them as `\\\\`",
        )
    } else if said("recursive") || said("recursion") || said("depth") || said("nesting") {
        (
            "the document nests too deep, or an alias refers to itself".into(),
            "policies are a few levels deep: check the brackets and the aliases (`*name`)",
        )
    } else if said("alias") || said("anchor") || said("budget") || said("events") || said("nodes") {
        (
            "the document expands beyond okta365's limits (aliases, anchors or nodes)".into(),
            "write the values out instead of repeating them with aliases (`&name`, `*name`)",
        )
    } else if said("binary") || said("tag") {
        (
            "a YAML tag (`!!…`) okta365 does not read".into(),
            "remove the tag; policies take plain text, numbers, true/false, lists and mappings",
        )
    } else if said("multiple documents") || said("documents") {
        (
            "more than one YAML document (`---`) in one file".into(),
            "keep one document a file",
        )
    } else {
        // Keep the parser's own words, without its "while parsing …" preamble.
        let text = message
            .split_once(", ")
            .filter(|(head, _)| head.starts_with("while "))
            .map_or(message, |(_, rest)| rest);
        (text.to_owned(), INDENT)
    };
    (crate::policy::diagnostic::truncate(&text, 200), hint)
}

/// The first line of a parser message, without the `error: line L column C:`
/// prefix (the diagnostic shows the position already).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or(s);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => {
            rest.to_owned()
        }
        _ => line.to_owned(),
    }
}

fn flatten(node: Spanned<Node>, pointer: String, index: &mut SpanIndex) -> Value {
    let at = (
        node.referenced.line() as u32,
        node.referenced.column() as u32,
    );
    index.values.insert(pointer.clone(), at);
    match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::from(i),
        Node::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| flatten(item, format!("{pointer}/{i}"), index))
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let child = format!("{pointer}/{}", escape(&key.value));
                index.keys.insert(
                    child.clone(),
                    (key.referenced.line() as u32, key.referenced.column() as u32),
                );
                let v = flatten(value, child, index);
                map.insert(key.value, v);
            }
            Value::Object(map)
        }
    }
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A YAML node with the position of each child, as serde-saphyr delivers it.
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_keys_keep_their_positions() {
        let text = "# comment\nrules:\n  - name: eng\n    when: { group: 'eng-*' }\n";
        let (value, spans) = parse(text).unwrap();
        assert_eq!(value["rules"][0]["when"]["group"], "eng-*");
        assert_eq!(spans.value("/rules/0/name"), (3, 11));
        assert_eq!(spans.key("/rules/0/name"), (3, 5));
        assert_eq!(spans.value("/rules/0/when/group"), (4, 20));
        // An unknown pointer falls back to its nearest written ancestor.
        assert_eq!(spans.value("/rules/0/when/missing"), (4, 11));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("rules:\n  - name: [unclosed\n  other: 1\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn syntax_errors_are_worded_for_policy_authors() {
        for (text, said) in [
            (
                "groups:\n  - name: x\n   kind: unified\n",
                "does not line up",
            ),
            ("groups: [\n", "a `[` is never closed"),
            ("a: b: c\n", "a `: ` inside a value"),
            ("groups:\n\t- name: x\n", "a tab in the indentation"),
            ("k: 1\nk: 2\n", "`k` is set twice"),
            ("x: \"\\xZZ\"\n", "an unknown escape"),
            ("\"unterminated\n", "a quote is never closed"),
            ("x: !!binary AAA\n", "YAML tag"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.message.contains(said), "{text:?}: {err:?}");
            assert!(!err.message.contains("DuplicateKeyPolicy"), "{err:?}");
        }
    }

    #[test]
    fn aliases_cannot_expand_a_small_file_into_a_large_value() {
        // A "billion laughs": ten levels of ten aliases each.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("through aliases"), "{err:?}");
        assert!(err.line <= 4, "stopped early: {err:?}");
    }

    #[test]
    fn comment_only_file_is_empty() {
        let (value, _) = parse("# yaml-language-server: $schema=x\n\n").unwrap();
        assert_eq!(value, Value::Object(Map::new()));
    }
}
