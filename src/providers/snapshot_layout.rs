//! Writing a snapshot file back in the layout it had: objects keep their
//! keys in the file's order (new keys after them), keys the file had that the
//! model leaves out when empty stay (as `null` or `[]`), maps keep their
//! key order, and a Graph list saved as one API page stays a page.
//!
//! A fresh file (no earlier version) is written in the model's order:
//! typed properties first, the others sorted by name.

use serde_json::{Map, Value};

/// `new` (the state to write, as JSON) laid out like `original` (the file's
/// current content).
pub fn keep_layout(new: Value, original: Value) -> Value {
    match (new, original) {
        // A Graph list saved as one page (`{"@odata.context", "value": [...]}`).
        (Value::Array(items), Value::Object(mut page)) if page.contains_key("value") => {
            let before = page.remove("value").unwrap_or(Value::Null);
            page.insert("value".into(), keep_layout(Value::Array(items), before));
            Value::Object(page)
        }
        // Saved as several pages: written back as one list.
        (Value::Array(items), Value::Array(pages)) if is_pages(&pages) => {
            let before: Vec<Value> = pages
                .into_iter()
                .filter_map(|mut p| p.get_mut("value").map(Value::take))
                .flat_map(|v| match v {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                })
                .collect();
            keep_layout(Value::Array(items), Value::Array(before))
        }
        (Value::Array(items), Value::Array(before)) => {
            let by_id: std::collections::HashMap<String, Value> = before
                .into_iter()
                .filter_map(|o| Some((o.get("id")?.as_str()?.to_owned(), o)))
                .collect();
            let mut by_id = by_id;
            Value::Array(
                items
                    .into_iter()
                    .map(|item| {
                        let earlier = item
                            .get("id")
                            .and_then(Value::as_str)
                            .and_then(|id| by_id.remove(id));
                        match earlier {
                            Some(earlier) => keep_object_layout(item, earlier),
                            None => item,
                        }
                    })
                    .collect(),
            )
        }
        // `group-members.json`: the map's keys in the file's order.
        (Value::Object(new), Value::Object(before)) => {
            Value::Object(reorder(new, before.keys().map(String::as_str)))
        }
        (new, _) => new,
    }
}

fn is_pages(items: &[Value]) -> bool {
    items.first().is_some_and(|p| {
        p.get("value").is_some_and(Value::is_array)
            && p.as_object()
                .is_some_and(|o| o.keys().all(|k| k == "value" || k.starts_with("@odata.")))
    })
}

/// One object: the file's keys in its order, then new ones; a key the file
/// had and the model dropped comes back empty (`[]` if it was a list).
fn keep_object_layout(new: Value, earlier: Value) -> Value {
    let (Value::Object(mut new), Value::Object(earlier)) = (new, earlier) else {
        return Value::Null;
    };
    let mut out = Map::with_capacity(new.len().max(earlier.len()));
    for (key, before) in earlier {
        let value = match new.remove(&key) {
            Some(value) => match (value, before) {
                (v @ Value::Object(_), b @ Value::Object(_)) => keep_nested(v, b),
                (Value::Array(v), Value::Array(b)) if v.len() == b.len() => Value::Array(
                    v.into_iter()
                        .zip(b)
                        .map(|(v, b)| keep_nested(v, b))
                        .collect(),
                ),
                (v, _) => v,
            },
            None => match before {
                Value::Array(_) => Value::Array(Vec::new()),
                _ => Value::Null,
            },
        };
        out.insert(key, value);
    }
    out.extend(new);
    Value::Object(out)
}

/// Nested objects (`profile`, `onPremisesExtensionAttributes`, a licence
/// state) keep their key order too.
fn keep_nested(new: Value, before: Value) -> Value {
    match (new, before) {
        (Value::Object(new), Value::Object(before)) => {
            let order: Vec<String> = before.keys().cloned().collect();
            Value::Object(reorder(new, order.iter().map(String::as_str)))
        }
        (new, _) => new,
    }
}

fn reorder<'a>(
    mut new: Map<String, Value>,
    order: impl Iterator<Item = &'a str>,
) -> Map<String, Value> {
    let mut out = Map::with_capacity(new.len());
    for key in order {
        if let Some(v) = new.remove(key) {
            out.insert(key.to_owned(), v);
        }
    }
    out.extend(new);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_keep_the_files_key_order_and_dropped_keys() {
        let original = json!([{"id": "1", "displayName": "A", "userType": null,
            "licenseAssignmentStates": [], "accountEnabled": true}]);
        let new = json!([{"id": "1", "accountEnabled": false, "displayName": "A", "jobTitle": "X"},
                         {"id": "2", "displayName": "B"}]);
        let out = keep_layout(new, original);
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"[{"id":"1","displayName":"A","userType":null,"licenseAssignmentStates":[],"accountEnabled":false,"jobTitle":"X"},{"id":"2","displayName":"B"}]"#
        );
    }

    #[test]
    fn a_saved_page_stays_a_page_and_maps_keep_their_order() {
        let page = json!({"@odata.context": "c", "value": [{"id": "1", "b": 1, "a": 2}]});
        let out = keep_layout(json!([{"id": "1", "a": 3, "b": 1}]), page);
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"@odata.context":"c","value":[{"id":"1","b":1,"a":3}]}"#
        );
        let members = keep_layout(json!({"a": [], "b": ["x"]}), json!({"b": [], "a": []}));
        assert_eq!(
            serde_json::to_string(&members).unwrap(),
            r#"{"b":["x"],"a":[]}"#
        );
    }
}
