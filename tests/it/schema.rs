//! The committed JSON Schemas match the Rust types.

use crate::common::{Scratch, repo};

#[test]
fn committed_schemas_are_up_to_date() {
    let scratch = Scratch::new();
    for (which, file) in [
        ("policy", "policy"),
        ("config", "config"),
        ("test", "policy-test"),
    ] {
        let (code, stdout, _) = scratch.run(&["schema", which]);
        assert_eq!(code, 0);
        let committed =
            std::fs::read_to_string(repo().join(format!("schemas/{file}.schema.json"))).unwrap();
        assert_eq!(
            stdout.trim(),
            committed.trim(),
            "schemas/{file}.schema.json is stale: run `cargo run -- schema {which} > schemas/{file}.schema.json`"
        );
    }
}

#[test]
fn policy_files_name_their_schema() {
    let files = |dir: &str| {
        std::fs::read_dir(repo().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect::<Vec<_>>()
    };
    let named = [
        (
            "policies",
            "# yaml-language-server: $schema=../schemas/policy.schema.json",
        ),
        (
            "policies/tests",
            "# yaml-language-server: $schema=../../schemas/policy-test.schema.json",
        ),
    ];
    for (dir, first_line) in named {
        let paths = files(dir);
        assert!(!paths.is_empty(), "no files in {dir}");
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().next(), Some(first_line), "{}", path.display());
        }
    }
    let config = std::fs::read_to_string(repo().join("okta365.yaml")).unwrap();
    assert!(config.starts_with("# yaml-language-server: $schema=schemas/config.schema.json"));
}
