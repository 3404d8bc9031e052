//! Helpers: a scratch copy of the repository's config, policies and example tenant.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary copy of `okta365.yaml`, `policies/` and `examples/acme/`.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(repo().join("okta365.yaml"), dir.path().join("okta365.yaml")).unwrap();
        copy_dir(&repo().join("policies"), &dir.path().join("policies"));
        copy_dir(
            &repo().join("examples/acme"),
            &dir.path().join("examples/acme"),
        );
        Self { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `okta365 ARGS` run in the scratch folder, stdin closed (not a
    /// terminal), its clock reading [`NOW`] (the example's time; see
    /// [`TEST_NOW_VAR`]).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("okta365").unwrap();
        c.current_dir(self.dir.path())
            .args(args)
            .env_remove("OKTA365_CONFIG")
            .env("NO_COLOR", "1")
            .env(TEST_NOW_VAR, NOW)
            .write_stdin("");
        c
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// Edits a JSON file in place.
    pub fn edit_json(&self, rel: &str, f: impl FnOnce(&mut serde_json::Value)) {
        let mut v: serde_json::Value = serde_json::from_str(&self.read(rel)).unwrap();
        f(&mut v);
        self.write(rel, &serde_json::to_string_pretty(&v).unwrap());
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The time the example tenant is planned at.
pub const NOW: &str = "2026-11-20T00:00:00Z";

/// In debug builds, the time the binary's clock reads at start (the example
/// tenant is dated around [`NOW`]; `apply` refuses a `--now` far from its
/// clock). Tests of the clock checks set it apart or remove it.
pub const TEST_NOW_VAR: &str = "OKTA365_TEST_NOW";
