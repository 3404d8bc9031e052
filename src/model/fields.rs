//! `Fields`: a small map of named values kept as one sorted vector.
//!
//! Vendor objects carry a dozen or two properties okta365 keeps but does not
//! read. A `BTreeMap` spends a node of eleven slots on even one entry; at
//! hundreds of thousands of users that is most of the memory a plan needs.
//! `Fields` holds exactly its entries, sorted by key, and serialises like a
//! `BTreeMap` (same order, same JSON); a duplicate key keeps the last value,
//! as a `BTreeMap` would. Keys of up to 24 bytes (nearly all property names)
//! are stored inline, without an allocation of their own.

use std::fmt;
use std::marker::PhantomData;

use compact_str::CompactString;
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Key → value, sorted by key.
#[derive(Clone, PartialEq)]
pub struct Fields<V> {
    entries: Vec<(CompactString, V)>,
}

impl<V> Default for Fields<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> Fields<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        if self.entries.len() <= 32 {
            // A few dozen short keys: comparing lengths first beats a binary search.
            return self
                .entries
                .iter()
                .find(|(k, _)| k.len() == key.len() && k.as_str() == key)
                .map(|(_, v)| v);
        }
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`, returning the value it had.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key.into(), value));
                None
            }
        }
    }

    /// The value of `key`, inserting `make()` first when it is absent.
    pub fn get_or_insert_with(&mut self, key: String, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key.into(), make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// The values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sorts by key, keeping the last of equal keys, and trims the capacity.
    pub(crate) fn from_entries(mut entries: Vec<(CompactString, V)>) -> Self {
        // A stable sort keeps equal keys in arrival order; keep the last of each run.
        entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        let mut out: Vec<(CompactString, V)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        Self { entries: out }
    }
}

impl<V> FromIterator<(String, V)> for Fields<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        Self::from_entries(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl<V> From<std::collections::BTreeMap<String, V>> for Fields<V> {
    fn from(map: std::collections::BTreeMap<String, V>) -> Self {
        Self {
            entries: map.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

/// The iterator over `&Fields`: entries in key order.
pub type Iter<'a, V> = std::iter::Map<
    std::slice::Iter<'a, (CompactString, V)>,
    fn(&'a (CompactString, V)) -> (&'a str, &'a V),
>;

impl<'a, V> IntoIterator for &'a Fields<V> {
    type Item = (&'a str, &'a V);
    type IntoIter = Iter<'a, V>;
    fn into_iter(self) -> Self::IntoIter {
        fn pair<V>((k, v): &(CompactString, V)) -> (&str, &V) {
            (k.as_str(), v)
        }
        self.entries
            .iter()
            .map(pair as fn(&'a (CompactString, V)) -> (&'a str, &'a V))
    }
}

impl<V> std::ops::Index<&str> for Fields<V> {
    type Output = V;

    /// The value of `key`; panics when it is absent, as a `BTreeMap` does.
    fn index(&self, key: &str) -> &V {
        self.get(key)
            .unwrap_or_else(|| panic!("no field `{key}` in this map"))
    }
}

impl<V: fmt::Debug> fmt::Debug for Fields<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Serialize> Serialize for Fields<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k.as_str(), v)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Fields<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for FieldsVisitor<V> {
            type Value = Fields<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Fields<V>, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0));
                while let Some(key) = access.next_key_seed(KeySeed)? {
                    entries.push((key, access.next_value()?));
                }
                Ok(Fields::from_entries(entries))
            }
        }

        deserializer.deserialize_map(FieldsVisitor(PhantomData))
    }
}

/// Reads a key straight into a `CompactString` (no heap copy for short keys).
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = CompactString;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<CompactString, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = CompactString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<CompactString, E> {
        Ok(CompactString::new(key))
    }

    fn visit_string<E: serde::de::Error>(self, key: String) -> Result<CompactString, E> {
        Ok(key.into())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn same_json_and_semantics_as_a_btreemap() {
        let text = r#"{"b": 1, "a": {"x": [1]}, "c": null, "a": 2}"#;
        let fields: Fields<serde_json::Value> = serde_json::from_str(text).unwrap();
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&fields).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(fields.get("a"), Some(&serde_json::json!(2)));
        assert_eq!(fields.len(), 3);
        let mut f = fields.clone();
        assert_eq!(f.insert("0".into(), serde_json::json!(0)), None);
        assert_eq!(f.keys().next(), Some("0"));
        assert_eq!(f.remove("b"), Some(serde_json::json!(1)));
        assert!(!f.contains_key("b"));
    }
}
