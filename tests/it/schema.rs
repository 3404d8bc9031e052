//! The committed JSON Schemas match the Rust types.

use crate::common::{Scratch, repo};

#[test]
fn committed_schemas_are_up_to_date() {
    let scratch = Scratch::new();
    for which in ["policy", "config"] {
        let (code, stdout, _) = scratch.run(&["schema", which]);
        assert_eq!(code, 0);
        let committed =
            std::fs::read_to_string(repo().join(format!("schemas/{which}.schema.json"))).unwrap();
        assert_eq!(
            stdout.trim(),
            committed.trim(),
            "schemas/{which}.schema.json is stale: run `cargo run -- schema {which} > schemas/{which}.schema.json`"
        );
    }
}

#[test]
fn policy_files_name_their_schema() {
    for entry in std::fs::read_dir(repo().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("# yaml-language-server: $schema=../schemas/policy.schema.json"),
            "{}",
            path.display()
        );
    }
    let config = std::fs::read_to_string(repo().join("okta365.yaml")).unwrap();
    assert!(config.starts_with("# yaml-language-server: $schema=schemas/config.schema.json"));
}
