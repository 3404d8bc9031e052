//! Install and first run: shell completions and manual pages for every
//! command, and a quiet terminal (phase timings only with `-v`).

use crate::common::Scratch;

#[test]
fn completions_cover_every_command_and_bash_accepts_the_script() {
    let scratch = Scratch::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, stdout, stderr) = scratch.run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for command in ["plan", "apply", "test", "report", "completions"] {
            assert!(
                stdout.contains(command),
                "{shell} completions lack `{command}`"
            );
        }
        assert!(stdout.contains("detailed-exitcode"), "{shell}");
    }
    let (_, script, _) = scratch.run(&["completions", "bash"]);
    scratch.write("okta365.bash", &script);
    let syntax = std::process::Command::new("bash")
        .args(["-n", "okta365.bash"])
        .current_dir(scratch.dir.path())
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let (code, _, stderr) = scratch.run(&["completions", "tcsh"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("powershell"), "{stderr}");
}

#[test]
fn manual_pages_are_written_for_every_command() {
    let scratch = Scratch::new();
    let (code, page, _) = scratch.run(&["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH okta365 1"), "{page}");
    assert!(page.contains("Keep Office 365 in line with Okta"));
    let (code, _, stderr) = scratch.run(&["man", "--out-dir", "man"]);
    assert_eq!(code, 0, "{stderr}");
    for page in [
        "okta365.1",
        "okta365-plan.1",
        "okta365-test.1",
        "okta365-report-licenses.1",
    ] {
        let text = scratch.read(&format!("man/{page}"));
        let name = page.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {name} 1")), "{page}: {text}");
    }
    assert!(
        !scratch.path("man/okta365-generate.1").exists(),
        "hidden commands get no page"
    );
}

#[test]
fn phase_timings_appear_only_with_verbose() {
    let scratch = Scratch::new();
    let now = ["--now", "2026-11-20T00:00:00Z"];
    let (code, _, quiet) = scratch.run(&["plan", now[0], now[1]]);
    assert_eq!(code, 0);
    assert!(!quiet.contains("time.busy"), "{quiet}");
    let (code, _, verbose) = scratch.run(&["-v", "plan", now[0], now[1]]);
    assert_eq!(code, 0);
    for phase in ["phase=\"read\"", "phase=\"compile\"", "phase=\"render\""] {
        assert!(
            verbose
                .lines()
                .any(|l| l.contains(phase) && l.contains("time.busy")),
            "{phase}: {verbose}"
        );
    }
    let (_, _, json) = scratch.run(&["--log-format", "json", "plan", now[0], now[1]]);
    assert!(json.lines().any(|l| l.contains("\"time.busy\"")), "{json}");
}
