//! Route tables: every `METHOD /path` an emulator serves, written as
//! templates (`GET /v1.0/users/{id}`), and the matcher both emulators' front
//! doors use. A request that matches no template is refused before any
//! handler runs, so the table is the whole surface: a route added to a
//! router without a table entry is unreachable, and the conformance suite
//! (`tests/it/conformance`) checks that every entry has a documented case.
//!
//! Template segments: a literal (compared without regard to case), `{name}`
//! (any one segment), `{cast}` (an OData cast, `microsoft.graph.*`) and a
//! final `**` (any number of further segments). The method `ANY` matches
//! every method.

/// The template in `table` that `method` and `segments` match, the most
/// specific one (most literal segments) when several do.
pub fn find(table: &[&'static str], method: &str, segments: &[&str]) -> Option<&'static str> {
    table
        .iter()
        .filter(|route| {
            let (m, path) = split(route);
            (m == "ANY" || m.eq_ignore_ascii_case(method)) && matches(path, segments)
        })
        .max_by_key(|route| literal_segments(split(route).1))
        .copied()
}

/// Whether some template in `table` matches `segments` under any method
/// (then a miss on the method is a 405, not an unknown path).
pub fn path_known(table: &[&'static str], segments: &[&str]) -> bool {
    table.iter().any(|route| matches(split(route).1, segments))
}

/// The segments of a request path (empty ones dropped, query string cut).
pub fn segments_of(path: &str) -> Vec<&str> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn split(route: &str) -> (&str, &str) {
    route.split_once(' ').unwrap_or(("ANY", route))
}

fn literal_segments(template: &str) -> usize {
    segments_of(template)
        .iter()
        .filter(|s| !s.starts_with('{') && **s != "**")
        .count()
}

fn matches(template: &str, segments: &[&str]) -> bool {
    let pattern = segments_of(template);
    let mut at = 0;
    for (i, part) in pattern.iter().enumerate() {
        if *part == "**" {
            return i == pattern.len() - 1;
        }
        let Some(segment) = segments.get(at) else {
            return false;
        };
        let fits = match *part {
            "{cast}" => segment.starts_with("microsoft.graph."),
            p if p.starts_with('{') && p.ends_with('}') => !segment.is_empty(),
            literal => literal.eq_ignore_ascii_case(segment),
        };
        if !fits {
            return false;
        }
        at += 1;
    }
    at == segments.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[&str] = &[
        "GET /v1.0/users/{id}",
        "GET /v1.0/users/delta",
        "DELETE /v1.0/users/{id}",
        "GET /v1.0/groups/{id}/members/{cast}",
        "DELETE /v1.0/groups/{id}/members/{id}",
        "ANY /v1.0/me/**",
    ];

    #[test]
    fn the_most_literal_template_wins() {
        let delta = segments_of("/v1.0/users/delta?$select=id");
        assert_eq!(find(TABLE, "GET", &delta), Some("GET /v1.0/users/delta"));
        let user = segments_of("/v1.0/users/abc");
        assert_eq!(find(TABLE, "GET", &user), Some("GET /v1.0/users/{id}"));
        assert_eq!(
            find(TABLE, "delete", &user),
            Some("DELETE /v1.0/users/{id}")
        );
    }

    #[test]
    fn casts_and_wildcards_match_what_they_say() {
        let cast = segments_of("/v1.0/groups/g/members/microsoft.graph.user");
        assert_eq!(
            find(TABLE, "GET", &cast),
            Some("GET /v1.0/groups/{id}/members/{cast}")
        );
        let member = segments_of("/v1.0/groups/g/members/u1");
        assert_eq!(find(TABLE, "GET", &member), None);
        assert!(path_known(TABLE, &member), "DELETE serves it: a 405");
        for me in ["/v1.0/me", "/v1.0/me/manager", "/v1.0/ME/messages/1"] {
            assert_eq!(
                find(TABLE, "POST", &segments_of(me)),
                Some("ANY /v1.0/me/**")
            );
        }
    }

    #[test]
    fn unknown_paths_match_nothing() {
        for path in ["/v1.0/users/a/b", "/v1.0", "/v1.0/teams"] {
            assert_eq!(find(TABLE, "GET", &segments_of(path)), None, "{path}");
            assert!(!path_known(TABLE, &segments_of(path)), "{path}");
        }
    }
}
