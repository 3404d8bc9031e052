//! Bad policies give precise `file:line:col` errors.

use crate::common::Scratch;

/// Each fixture's first line says where its error is: `# expect: LINE:COL fragment`.
#[test]
fn each_bad_policy_fixture_points_at_its_mistake() {
    let dir = crate::common::repo().join("tests/fixtures/bad-policies");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let header = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("# expect: ")
            .expect("fixture has an expect line");
        let (position, fragment) = header.split_once(' ').unwrap();

        let scratch = Scratch::new();
        std::fs::remove_dir_all(scratch.path("policies")).unwrap();
        std::fs::create_dir(scratch.path("policies")).unwrap();
        scratch.write(&format!("policies/{name}"), &text);
        let (code, stdout, stderr) = scratch.run(&["validate"]);
        assert_eq!(code, 1, "{name}: {stderr}");
        assert!(
            stdout.is_empty(),
            "{name}: errors go to stderr, got {stdout}"
        );
        let expected = format!("policies/{name}:{position}: error: ");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&expected),
            "{name}: expected `{expected}`, got:\n{stderr}"
        );
        assert!(
            stderr.contains(fragment),
            "{name}: expected `{fragment}` in:\n{stderr}"
        );
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} fixtures");
}

#[test]
fn github_format_annotates_the_line() {
    let scratch = Scratch::new();
    let text = std::fs::read_to_string(
        crate::common::repo().join("tests/fixtures/bad-policies/unknown-field.yaml"),
    )
    .unwrap();
    scratch.write("policies/zz-typo.yaml", &text);
    let (code, _, stderr) = scratch.run(&["--error-format", "github", "validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("::error file=policies/zz-typo.yaml,line=6,col=5::unknown field `atributes` (hint: did you mean `attributes`?)"),
        "{stderr}"
    );
}

#[test]
fn the_bundled_policies_are_valid() {
    let (code, stdout, stderr) = Scratch::new().run(&["validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("policy files are valid"), "{stdout}");
}

#[test]
fn a_missing_config_says_what_to_do() {
    let scratch = Scratch::new();
    let (code, _, stderr) = scratch.run(&["--config", "nope.yaml", "plan"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot read the config file nope.yaml") && stderr.contains("--config"),
        "{stderr}"
    );
}

#[test]
fn malformed_snapshot_json_gives_file_and_position() {
    let scratch = Scratch::new();
    scratch.write(
        "examples/acme/okta/groups.json",
        "[\n  {\"id\": \"00g1\",\n  \"profile\": }\n]\n",
    );
    let (code, _, stderr) = scratch.run(&["plan"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("examples/acme/okta/groups.json:3:"),
        "{stderr}"
    );
}
