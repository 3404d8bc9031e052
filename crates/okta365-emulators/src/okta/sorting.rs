//! `sortBy` and `sortOrder` on `search` queries: results ordered by an
//! attribute, ties by id, paged by a cursor holding the last item's sort
//! key and id (so a change between pages skips or repeats nothing that
//! stayed put).

use std::cmp::Ordering;

use serde_json::Value;

use super::errors::ApiError;
use super::paging::param;

/// A requested order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// Dotted attribute path, e.g. `profile.lastName`.
    pub path: String,
    /// `sortOrder=desc`.
    pub descending: bool,
}

/// Reads `sortBy` and `sortOrder`; sorting needs a `search`, as in Okta.
pub fn sort_param(params: &[(String, String)], has_search: bool) -> Result<Option<Sort>, ApiError> {
    let Some(path) = param(params, "sortBy") else {
        return Ok(None);
    };
    if !has_search {
        return Err(ApiError::new("E0000031").cause("sortBy: only search queries can be sorted"));
    }
    let descending = match param(params, "sortOrder")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(
                ApiError::new("E0000001").cause(format!("sortOrder: `{other}` is not asc or desc"))
            );
        }
    };
    Ok(Some(Sort {
        path: path.to_owned(),
        descending,
    }))
}

fn key_of(object: &Value, path: &str) -> Value {
    path.split('.')
        .try_fold(object, |value, name| value.get(name))
        .cloned()
        .unwrap_or(Value::Null)
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) | Value::Object(_) => 4,
    }
}

fn compare_keys(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            a.partial_cmp(&b).unwrap_or(Ordering::Equal)
        }
        (Value::String(a), Value::String(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// One page of `items` (id-ordered, from the cursor): sorted by `sort` when
/// given, else in id order after `after`.
pub fn page<'a>(
    items: impl Iterator<Item = (&'a str, &'a Value)>,
    sort: Option<&Sort>,
    after: Option<&str>,
    limit: usize,
    full_page_next: bool,
) -> Result<(Vec<&'a Value>, Option<String>), ApiError> {
    match sort {
        Some(sort) => page_sorted(items.collect(), sort, after, limit, full_page_next),
        None => Ok(super::paging::page_after(
            items,
            after,
            limit,
            full_page_next,
        )),
    }
}

/// One sorted page of `items` after `after`, and the next cursor if more remain.
pub fn page_sorted<'a>(
    items: Vec<(&'a str, &'a Value)>,
    sort: &Sort,
    after: Option<&str>,
    limit: usize,
    full_page_next: bool,
) -> Result<(Vec<&'a Value>, Option<String>), ApiError> {
    let order = |(ka, ia): (&Value, &str), (kb, ib): (&Value, &str)| {
        let by_key = compare_keys(ka, kb);
        let by_key = if sort.descending {
            by_key.reverse()
        } else {
            by_key
        };
        by_key.then_with(|| ia.cmp(ib))
    };
    let mut keyed: Vec<(Value, &str, &Value)> = items
        .into_iter()
        .map(|(id, item)| (key_of(item, &sort.path), id, item))
        .collect();
    keyed.sort_by(|a, b| order((&a.0, a.1), (&b.0, b.1)));
    let start = match after {
        None => 0,
        Some(cursor) => {
            let (key, id): (Value, String) = serde_json::from_str(cursor).map_err(|_| {
                ApiError::new("E0000001")
                    .cause(format!("after: `{cursor}` is not a cursor this org issued"))
            })?;
            keyed.partition_point(|(k, i, _)| order((k, i), (&key, &id)) != Ordering::Greater)
        }
    };
    let page: Vec<_> = keyed.iter().skip(start).take(limit).collect();
    let next = match page.last() {
        Some((key, id, _))
            if start + page.len() < keyed.len() || (full_page_next && page.len() == limit) =>
        {
            Some(serde_json::json!([key, id]).to_string())
        }
        _ => None,
    };
    Ok((page.into_iter().map(|(_, _, item)| *item).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_pages_cover_everything_once_in_order_with_ties_by_id() {
        let users = [
            ("00u1", json!({"profile": {"lastName": "Beta"}})),
            ("00u2", json!({"profile": {"lastName": "alpha"}})),
            ("00u3", json!({"profile": {"lastName": "Beta"}})),
            ("00u4", json!({"profile": {}})),
        ];
        let sort = Sort {
            path: "profile.lastName".into(),
            descending: true,
        };
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let items = users.iter().map(|(id, u)| (*id, u)).collect();
            let (page, next) = page_sorted(items, &sort, after.as_deref(), 1, false).unwrap();
            seen.extend(page.iter().map(|u| u["profile"]["lastName"].clone()));
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(
            seen,
            [json!("Beta"), json!("Beta"), json!("alpha"), Value::Null]
        );
    }

    #[test]
    fn sort_needs_a_search_and_a_known_order() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(sort_param(&p(&[("sortBy", "id")]), false).is_err());
        assert!(sort_param(&p(&[("sortBy", "id"), ("sortOrder", "up")]), true).is_err());
        assert_eq!(
            sort_param(&p(&[("sortBy", "id"), ("sortOrder", "DESC")]), true).unwrap(),
            Some(Sort {
                path: "id".into(),
                descending: true
            })
        );
    }
}
