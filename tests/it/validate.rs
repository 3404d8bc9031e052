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

/// A scratch whose only policy file holds `bytes`.
fn one_policy(bytes: &[u8]) -> Scratch {
    let scratch = Scratch::new();
    std::fs::remove_dir_all(scratch.path("policies")).unwrap();
    std::fs::create_dir(scratch.path("policies")).unwrap();
    std::fs::write(scratch.path("policies/p.yaml"), bytes).unwrap();
    scratch
}

#[test]
fn a_huge_invalid_value_is_reported_short_with_its_position() {
    // 5 MB for `kind:` (BENCHMARKS.md has the 50 MB figures).
    let value = "A".repeat(5_000_000);
    let scratch = one_policy(
        format!("groups:\n  - name: x\n    display_name: X\n    kind: \"{value}\"\n").as_bytes(),
    );
    let (code, stdout, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.starts_with("policies/p.yaml:4:11: error: `AAAA"),
        "{}",
        &stderr[..stderr.len().min(300)]
    );
    assert!(stderr.contains("… (4999920 more characters)` is not allowed here"));
    assert!(
        stderr.contains("expected one of `unified`, `security`"),
        "{stderr}"
    );
    assert!(stderr.len() < 1_000, "{} bytes of errors", stderr.len());
}

#[test]
fn invalid_utf8_is_an_error_at_its_line_and_column() {
    let scratch = one_policy(b"groups:\n  - name: ok\n    display_name: Caf\xe9\n");
    let (code, _, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with(
            "policies/p.yaml:3:22: error: not UTF-8 text: byte 0xe9 cannot be read here\n  hint: save the file as UTF-8"
        ),
        "{stderr}"
    );
    // The config file too.
    let scratch = Scratch::new();
    std::fs::write(
        scratch.path("okta365.yaml"),
        b"policies: policies\n# \xff\nokta: {snapshot: examples/acme}\n",
    )
    .unwrap();
    let (code, _, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("okta365.yaml:2:3: error: not UTF-8 text"),
        "{stderr}"
    );
}

#[test]
fn yaml_errors_speak_of_the_policy_not_the_parser() {
    for (text, said, hint) in [
        (
            "groups:\n  - name: a\n    kind: unified\n    kind: security\n",
            "4:5: error: invalid YAML: `kind` is set twice in the same mapping",
            "keep one of them",
        ),
        (
            "groups:\n\t- name: a\n",
            "2:2: error: invalid YAML: a tab in the indentation",
            "indent with spaces only",
        ),
        (
            "rules:\n  - name: a: b\n",
            "error: invalid YAML: a `: ` inside a value",
            "quote the value",
        ),
    ] {
        let scratch = one_policy(text.as_bytes());
        let (code, _, stderr) = scratch.run(&["validate"]);
        assert_eq!(code, 1);
        assert!(stderr.contains(said), "{text:?}: {stderr}");
        assert!(stderr.contains(hint), "{text:?}: {stderr}");
        assert!(
            !stderr.contains("DuplicateKeyPolicy") && !stderr.contains("while parsing"),
            "{stderr}"
        );
    }
}

#[test]
fn aliases_cannot_blow_a_small_file_up() {
    let mut text = String::from(
        "lookups:\n  a0: &a0 {x: y, z: w, q: r, s: t, u: v, m: n, o: p, k: l, i: j, g: h}\n",
    );
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let scratch = one_policy(text.as_bytes());
    let (code, _, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("repeats too much through aliases"),
        "{stderr}"
    );
}
