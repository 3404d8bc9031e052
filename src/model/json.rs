//! `Json`: a JSON value for the vendor properties okta365 keeps but seldom reads.
//!
//! `serde_json::Value` (with `preserve_order`) is 72 bytes, gives every string
//! its own allocation and every nested object its own hash table. At hundreds
//! of thousands of users, each with a few dozen such properties on both sides,
//! that was most of a plan's memory. `Json` is 24 bytes, keeps strings of up
//! to 24 bytes inline, and holds arrays and objects as boxed slices (objects in
//! the order they arrived). It reads and writes exactly the JSON a `Value`
//! does, so snapshots written back and plan fingerprints are unchanged.

use std::fmt;

use compact_str::CompactString;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

/// A JSON value, compact.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json holds it.
    Number(Number),
    /// A string.
    String(CompactString),
    /// An array.
    Array(Box<[Json]>),
    /// An object, its members in the order they were read. Equality compares
    /// them in that order.
    Object(Box<[(CompactString, Json)]>),
}

impl Json {
    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, when this is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The member `key` of an object (`None` for anything else).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Self::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar as text: strings as they are, numbers and booleans as JSON
    /// writes them; `None` for null, arrays and objects.
    pub fn scalar_string(&self) -> Option<String> {
        match self {
            Self::String(s) => Some(s.to_string()),
            Self::Number(n) => Some(n.to_string()),
            Self::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Self::String(s.into())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Self {
        Self::String(s.into())
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(n) => Self::Number(n),
            Value::String(s) => Self::String(s.into()),
            Value::Array(items) => Self::Array(items.into_iter().map(Json::from).collect()),
            Value::Object(members) => Self::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.into(), Json::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&Json> for Value {
    fn from(json: &Json) -> Self {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

/// Compact JSON text, as `Value` prints it.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Number(n) => n.serialize(serializer),
            Self::String(s) => serializer.serialize_str(s),
            Self::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k.as_str(), v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
        // As `Value` does: a float JSON cannot hold becomes null.
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.into()))
    }

    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s.into()))
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(access.size_hint().unwrap_or(0));
        while let Some(item) = access.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items.into_boxed_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Json, A::Error> {
        let mut members: Vec<(CompactString, Json)> =
            Vec::with_capacity(access.size_hint().unwrap_or(0));
        while let Some(key) = access.next_key_seed(super::fields::KeySeed)? {
            let value: Json = access.next_value()?;
            // A repeated key keeps its first position and its last value, as
            // `Value` (an ordered map) does.
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(Json::Object(members.into_boxed_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"b":[1,-2,3.5,1e300,"x",null,true],"a":{"z":"a string longer than twenty-four bytes","y":{}},"b2":[],"a":7}"#;

    #[test]
    fn reads_and_writes_the_same_json_as_value() {
        let json: Json = serde_json::from_str(SAMPLE).unwrap();
        let value: Value = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(
            serde_json::to_string_pretty(&json).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(json.to_string(), value.to_string());
        assert_eq!(Json::from(value.clone()), json);
        assert_eq!(Value::from(&json), value);
    }

    #[test]
    fn accessors() {
        let json: Json = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(json.get("a"), Some(&Json::Number(7.into())));
        assert_eq!(
            json.get("b").and_then(Json::as_array).map(<[_]>::len),
            Some(7)
        );
        assert_eq!(Json::from("x").as_str(), Some("x"));
        assert_eq!(Json::Number(3.into()).scalar_string().as_deref(), Some("3"));
        assert_eq!(Json::Bool(true).scalar_string().as_deref(), Some("true"));
        assert_eq!(Json::Null.scalar_string(), None);
        assert!(Json::Null.is_null());
    }

    #[test]
    fn is_a_third_of_a_value() {
        let (json, value) = (std::mem::size_of::<Json>(), std::mem::size_of::<Value>());
        assert!(
            json <= 24 && 3 * json <= value,
            "Json {json} bytes, Value {value}"
        );
    }
}
