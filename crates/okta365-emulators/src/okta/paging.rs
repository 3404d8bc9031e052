//! Cursor paging the way Okta does it: `limit` and an opaque `after`
//! cursor, announced in `Link: <…>; rel="self"` and `Link: <…>; rel="next"`
//! headers (two headers, `next` last). The end of a list is a page without
//! a `next` link.

use std::ops::Bound;

use axum::http::{HeaderMap, HeaderValue, header};

use super::errors::ApiError;

/// The query string as ordered `(name, value)` pairs.
pub type Params = Vec<(String, String)>;

/// The first value of `name` in `params`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Reads `limit`: `default` when absent, at most `max`, at least `min`.
pub fn limit(
    params: &[(String, String)],
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match param(params, "limit") {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if n >= min => Ok(n.min(max)),
            _ => Err(ApiError::new("E0000001")
                .summary("Api validation failed: limit")
                .cause(format!("limit: `{raw}` is not a number of at least {min}"))),
        },
    }
}

/// The org URL the client used, from its `Host` header.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `self` and (when there is more) `next` links for a page of `path`.
/// The `next` link keeps every parameter but `after` (and those in `drop`).
pub fn link_headers(
    base: &str,
    path: &str,
    params: &[(String, String)],
    next_after: Option<&str>,
    drop: &[&str],
) -> Vec<HeaderValue> {
    let mut links = vec![format!("<{}>; rel=\"self\"", url(base, path, params))];
    if let Some(after) = next_after {
        let mut next: Params = params
            .iter()
            .filter(|(key, _)| key != "after" && !drop.contains(&key.as_str()))
            .cloned()
            .collect();
        next.push(("after".into(), after.into()));
        links.push(format!("<{}>; rel=\"next\"", url(base, path, &next)));
    }
    links
        .into_iter()
        .filter_map(|link| HeaderValue::from_str(&link).ok())
        .collect()
}

fn url(base: &str, path: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return format!("{base}{path}");
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{base}{path}?{query}")
}

/// The range of ids after the cursor, to start a walk there instead of at the start.
pub fn after_bound(after: Option<&str>) -> (Bound<&str>, Bound<&str>) {
    match after {
        Some(after) => (Bound::Excluded(after), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

/// One page of `items` (already in paging order, each with an id) after the
/// cursor `after`: the page and the cursor of the next page, if any. With
/// `full_page_next`, a full last page still links to a (empty) next page.
pub fn page_after<'a, T>(
    items: impl IntoIterator<Item = (&'a str, T)>,
    after: Option<&str>,
    limit: usize,
    full_page_next: bool,
) -> (Vec<T>, Option<String>) {
    let mut page = Vec::new();
    let mut last = None;
    let mut rest = items
        .into_iter()
        .filter(|(id, _)| after.is_none_or(|a| *id > a))
        .peekable();
    while page.len() < limit {
        match rest.next() {
            Some((id, item)) => {
                last = Some(id);
                page.push(item);
            }
            None => break,
        }
    }
    let more = rest.peek().is_some() || (full_page_next && page.len() == limit);
    let next = last.filter(|_| more).map(str::to_owned);
    (page, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_each_item_once() {
        let ids = ["a", "b", "c", "d", "e"];
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let (page, next) =
                page_after(ids.iter().map(|id| (*id, *id)), after.as_deref(), 2, false);
            seen.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, ids);
    }

    #[test]
    fn an_exact_last_page_has_no_next() {
        let (page, next) = page_after([("a", 1), ("b", 2)], None, 2, false);
        assert_eq!(page, [1, 2]);
        assert_eq!(next, None);
        let (_, next) = page_after([("a", 1), ("b", 2)], None, 2, true);
        assert_eq!(
            next.as_deref(),
            Some("b"),
            "a full page links on when asked"
        );
        let (page, next) = page_after([("a", 1), ("b", 2)], Some("b"), 2, true);
        assert!(page.is_empty() && next.is_none(), "the empty page ends it");
    }

    #[test]
    fn next_link_keeps_parameters_and_replaces_after() {
        let params: Params = vec![
            ("search".into(), "status eq \"ACTIVE\"".into()),
            ("after".into(), "x".into()),
            ("limit".into(), "2".into()),
        ];
        let links = link_headers(
            "http://127.0.0.1:1",
            "/api/v1/users",
            &params,
            Some("00u2"),
            &[],
        );
        assert_eq!(links.len(), 2);
        assert_eq!(
            links[1].to_str().unwrap(),
            "<http://127.0.0.1:1/api/v1/users?search=status+eq+%22ACTIVE%22&limit=2&after=00u2>; rel=\"next\""
        );
        assert!(
            links[0]
                .to_str()
                .unwrap()
                .ends_with("after=x&limit=2>; rel=\"self\"")
        );
    }

    #[test]
    fn limit_is_bounded_and_validated() {
        let p = |v: &str| vec![("limit".to_string(), v.to_string())];
        assert_eq!(limit(&[], 200, 1, 200).unwrap(), 200);
        assert_eq!(limit(&p("500"), 200, 1, 200).unwrap(), 200);
        assert_eq!(limit(&p("7"), 200, 1, 200).unwrap(), 7);
        assert!(limit(&p("0"), 200, 1, 200).is_err());
        assert!(limit(&p("x"), 200, 1, 200).is_err());
    }
}
