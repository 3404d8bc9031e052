//! The example plan as text, JSON and Markdown, pinned with insta.

use crate::common::{NOW, Scratch};

fn plan(format: &str) -> String {
    let (code, stdout, stderr) = Scratch::new().run(&["plan", "--now", NOW, "--format", format]);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

#[test]
fn text_plan() {
    insta::assert_snapshot!(plan("text"));
}

#[test]
fn json_plan() {
    insta::assert_snapshot!(plan("json"));
}

#[test]
fn markdown_plan() {
    insta::assert_snapshot!(plan("markdown"));
}
