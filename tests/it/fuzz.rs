//! A fuzz harness for the policy loader and the config loader, on stable
//! Rust (no nightly toolchain, so no libFuzzer instrumentation): seeded
//! random inputs built by mutating a corpus (the bundled policies, the bad
//! policy fixtures, the scenario policies, config files) with YAML-aware
//! edits, plus generated policy-shaped documents. Every input goes through
//! what `okta365 validate` runs: UTF-8 decoding, the policy loader and the
//! static checks, and the config parser.
//!
//! Properties: nothing panics; every error carries a position (file, line,
//! column); no message is longer than [`MAX_MESSAGE`] (values are echoed
//! cut short). A failing input is written to `target/fuzz-findings/`.
//!
//! `cargo test` runs a smoke of [`SMOKE_CASES`] cases. A long run:
//! `OKTA365_FUZZ_CASES=1000000 OKTA365_FUZZ_SEED=7 cargo test --release --test it fuzz -- --nocapture`
//! (figures in docs/safety.md).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use okta365::config::Config;
use okta365::policy::{Diagnostic, PolicySource};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::repo;

/// Cases in a plain `cargo test` run (a few seconds).
const SMOKE_CASES: u64 = 3_000;

/// The longest message (or hint) any loading error may carry.
const MAX_MESSAGE: usize = 1_000;

/// YAML and policy fragments the mutator inserts.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "?",
    "? ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!!str ",
    "!!binary ",
    "!!map",
    "!custom ",
    "\"",
    "'",
    "\\",
    "\\x",
    "\\u00",
    "\t",
    "\n",
    "\r\n",
    "  ",
    "    ",
    "#",
    " # c",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! x\n",
    "|",
    "|-\n",
    ">",
    ">+\n",
    "<<: *a\n",
    "null",
    "~",
    "true",
    "yes",
    "0x1F",
    "1e999",
    "-.inf",
    ".nan",
    "2026-11-20",
    "=",
    "{{",
    "}}",
    "{{ profile.login }}",
    "{{ profile.x | lower | upper }}",
    "| lookup(t) ",
    "| default(",
    "rules:",
    "when:",
    "group:",
    "groups:",
    "attribute:",
    "attributes:",
    "all:",
    "any:",
    "not:",
    "equals:",
    "glob:",
    "regex:",
    "(?:",
    "[a-",
    "*",
    "name:",
    "kind: unified",
    "kind:",
    "team: true",
    "licenses:",
    "sku:",
    "lookups:",
    "mirrors:",
    "guests:",
    "lifecycle:",
    "protected:",
    "offboarding:",
    "disable_plans:",
    "role: owner",
    "upn:",
    "okta:",
    "m365:",
    "snapshot:",
    "org_url: http://x",
    "tenant_id:",
    "auth:",
    "safety:",
    "max_plan_age: 24h",
    "audit:",
    "ownership:",
    "okta_id_attribute: extensionAttribute99",
    "é",
    "\u{202e}",
    "\u{feff}",
    "𝔘",
    "\0",
    "\u{7f}",
];

#[test]
fn policy_and_config_loaders_hold_on_any_input() {
    let cases: u64 = std::env::var("OKTA365_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SMOKE_CASES);
    let seed: u64 = std::env::var("OKTA365_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let corpus = corpus();
    assert!(corpus.len() > 15, "{} corpus files", corpus.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let started = Instant::now();
    let mut findings: Vec<String> = Vec::new();
    let mut slowest = (Duration::ZERO, 0usize);
    let (mut loaded, mut refused) = (0u64, 0u64);
    // Panics are findings: keep the default hook from printing each one.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for case in 0..cases {
        let input = if rng.random_bool(0.25) {
            generated(&mut rng)
        } else {
            mutated(&mut rng, &corpus)
        };
        let one = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check_one(&input)));
        let took = one.elapsed();
        if took > slowest.0 {
            slowest = (took, input.len());
        }
        let problem = match outcome {
            Ok(Ok(true)) => {
                loaded += 1;
                None
            }
            Ok(Ok(false)) => {
                refused += 1;
                None
            }
            Ok(Err(problem)) => Some(problem),
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            )),
        };
        if let Some(problem) = problem {
            let path = save_finding(seed, case, &input);
            findings.push(format!("case {case} ({}): {problem}", path.display()));
            if findings.len() >= 20 {
                break;
            }
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "fuzz: {cases} cases (seed {seed}) in {:.1} s: {loaded} loaded, {refused} refused with errors, {} findings; slowest case {:.1} ms ({} bytes); peak memory {} MB",
        started.elapsed().as_secs_f64(),
        findings.len(),
        slowest.0.as_secs_f64() * 1e3,
        slowest.1,
        peak_mb().map_or("?".into(), |m| m.to_string())
    );
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

/// Runs one input through what `validate` runs. `Ok(true)`: it loaded;
/// `Ok(false)`: refused with positioned errors; `Err`: a property broke.
fn check_one(input: &[u8]) -> Result<bool, String> {
    let path = "policies/fuzz.yaml";
    let text = match okta365::policy::load::decode(path, input.to_vec()) {
        Ok(text) => text,
        Err(d) => return located(&[d]).map(|()| false),
    };
    let (policy, diagnostics) = okta365::policy::load(&[PolicySource {
        path: path.into(),
        text: text.clone(),
    }]);
    located(&diagnostics)?;
    let mut policy_ok = false;
    if let Some(policy) = policy {
        let (checked, more) = okta365::policy::check::check(policy);
        located(&more)?;
        policy_ok = checked.is_some() && !more.iter().any(Diagnostic::is_error);
    }
    match Config::parse(Path::new("okta365.yaml"), &text) {
        Ok(_) => {}
        Err(diagnostics) => located(&diagnostics)?,
    }
    Ok(policy_ok)
}

/// Every error has a position; no message or hint is overly long.
fn located(diagnostics: &[Diagnostic]) -> Result<(), String> {
    for d in diagnostics {
        if d.is_error() && d.location.is_none() {
            return Err(format!("an error without a position: {}", d.message));
        }
        let longest = d.message.len().max(d.hint.as_deref().map_or(0, str::len));
        if longest > MAX_MESSAGE {
            return Err(format!(
                "a message of {longest} bytes: {}…",
                &d.message[..d.message.floor_char_boundary(120)]
            ));
        }
    }
    Ok(())
}

fn corpus() -> Vec<Vec<u8>> {
    let root = repo();
    let mut files = Vec::new();
    let mut add_dir = |dir: &Path| {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(std::fs::read(&p).unwrap());
            }
        }
    };
    add_dir(&root.join("policies"));
    add_dir(&root.join("tests/fixtures/bad-policies"));
    add_dir(&root);
    for entry in std::fs::read_dir(root.join("tests/scenarios"))
        .unwrap()
        .flatten()
    {
        add_dir(&entry.path().join("policies"));
    }
    files
}

/// A corpus file with one to eight edits.
fn mutated(rng: &mut ChaCha8Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = corpus[rng.random_range(0..corpus.len())].clone();
    // One edit half of the time, so that many inputs still load and reach
    // the static checks; up to eight otherwise.
    let edits = if rng.random_bool(0.5) {
        1
    } else {
        rng.random_range(2..=8)
    };
    for _ in 0..edits {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..9) {
            0 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            1 | 2 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
            3 if !bytes.is_empty() => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            4 if !bytes.is_empty() => {
                let start = rng.random_range(0..bytes.len());
                let end = (start + rng.random_range(1..256)).min(bytes.len());
                let piece = bytes[start..end].to_vec();
                bytes.splice(at..at, piece);
            }
            5 => {
                // A line from another file.
                let other = &corpus[rng.random_range(0..corpus.len())];
                let lines: Vec<&[u8]> = other.split(|&b| b == b'\n').collect();
                let line = lines[rng.random_range(0..lines.len())];
                let mut piece = line.to_vec();
                piece.push(b'\n');
                bytes.splice(at..at, piece);
            }
            6 => {
                let n = rng.random_range(1..8);
                let random: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                bytes.splice(at..at, random);
            }
            7 => {
                // A long value.
                let n = rng.random_range(100..20_000);
                let c = [b'A', b'-', b'[', b'{', b' ', b':', b'&'][rng.random_range(0..7)];
                bytes.splice(at..at, std::iter::repeat_n(c, n));
            }
            _ => {
                // Indentation: a line start gets more or fewer spaces, or a tab.
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let (end, with): (usize, &[u8]) = match rng.random_range(0..3) {
                    0 => (start, b"  "),
                    1 => (start, b"\t"),
                    _ => ((start + 2).min(bytes.len()), b""),
                };
                bytes.splice(start..end, with.iter().copied());
            }
        }
    }
    bytes.truncate(256 * 1024);
    bytes
}

/// A policy-shaped document from the policy's vocabulary.
fn generated(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = String::new();
    let sections = [
        "rules",
        "groups",
        "lookups",
        "mirrors",
        "guests",
        "lifecycle",
        "licensing",
        "protected",
        "okta",
        "m365",
        "safety",
    ];
    for _ in 0..rng.random_range(1..4) {
        out.push_str(sections[rng.random_range(0..sections.len())]);
        out.push_str(":\n");
        node(rng, &mut out, 1, 4);
    }
    out.into_bytes()
}

fn node(rng: &mut ChaCha8Rng, out: &mut String, depth: usize, max: usize) {
    const KEYS: &[&str] = &[
        "name",
        "when",
        "group",
        "groups",
        "attribute",
        "attributes",
        "all",
        "any",
        "not",
        "equals",
        "glob",
        "regex",
        "in",
        "exists",
        "licenses",
        "sku",
        "disable_plans",
        "kind",
        "team",
        "role",
        "upn",
        "template",
        "lookup",
        "default",
        "snapshot",
        "org_url",
        "max_plan_age",
        "account",
        "display_name",
        "mail_nickname",
        "upns",
        "object_ids",
        "pattern",
    ];
    const SCALARS: &[&str] = &[
        "x",
        "eng-*",
        "'{{ profile.login | lower }}'",
        "\"{{ profile.department | lookup(depts) }}\"",
        "unified",
        "security",
        "owner",
        "member",
        "SPE_E3",
        "true",
        "42",
        "''",
        "[]",
        "{}",
        "~",
        "disabled",
        "24h",
        "extensionAttribute15",
        "'(?i)^a.*$'",
        "'[unclosed'",
        "\"{{\"",
        "'{{ nope | nope }}'",
        "Security-Incident-Respons",
    ];
    let indent = "  ".repeat(depth);
    let count = rng.random_range(1..4);
    for _ in 0..count {
        let key = KEYS[rng.random_range(0..KEYS.len())];
        let list = rng.random_bool(0.4);
        out.push_str(&indent);
        if list {
            out.push_str("- ");
        }
        out.push_str(key);
        if depth < max && rng.random_bool(0.5) {
            out.push_str(":\n");
            node(rng, out, depth + 1 + usize::from(list), max);
        } else {
            out.push_str(": ");
            out.push_str(SCALARS[rng.random_range(0..SCALARS.len())]);
            out.push('\n');
        }
    }
}

fn save_finding(seed: u64, case: u64, input: &[u8]) -> PathBuf {
    let dir = repo().join("target/fuzz-findings");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("seed{seed}-case{case}.yaml"));
    let _ = std::fs::write(&path, input);
    path
}

/// The process's peak resident memory (Linux `VmHWM`), in MB.
fn peak_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
