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

    /// Line and column of the mapping key whose value is at `pointer`
    /// (falls back to the value's position).
    pub fn key(&self, pointer: &str) -> (u32, u32) {
        self.keys
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.value(pointer))
    }
}

/// A YAML syntax error, with its position.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    /// 1-based line (1 when unknown).
    pub line: u32,
    /// 1-based column (1 when unknown).
    pub col: u32,
    /// What the parser said.
    pub message: String,
}

/// Parses one YAML document into JSON and the positions of its values.
/// An empty document is an empty mapping.
pub fn parse(text: &str) -> Result<(Value, SpanIndex), SyntaxError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok((Value::Object(Map::new()), SpanIndex::default()));
    }
    let root: Spanned<Node> = serde_saphyr::from_str(text).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((1, 1));
        SyntaxError {
            line: line.max(1),
            col: col.max(1),
            message: first_line(&e.to_string()),
        }
    })?;
    let mut index = SpanIndex::default();
    let value = flatten(root, String::new(), &mut index);
    Ok((value, index))
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
    fn comment_only_file_is_empty() {
        let (value, _) = parse("# yaml-language-server: $schema=x\n\n").unwrap();
        assert_eq!(value, Value::Object(Map::new()));
    }
}
