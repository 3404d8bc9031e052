//! The core (policy, model, compile, plan, render) does no I/O and reads no
//! clock: those belong to the edge (providers, apply, cli).

use crate::common::repo;

const CORE: &[&str] = &[
    "src/policy",
    "src/model",
    "src/compile",
    "src/plan",
    "src/render",
    "src/generate",
    "src/report",
    "src/events",
    "src/testing",
    "src/config.rs",
];
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "tokio",
    "reqwest",
    "SystemTime",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "File::",
];

fn rust_files(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn the_core_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    for dir in CORE {
        rust_files(&repo().join(dir), &mut files);
    }
    assert!(files.len() >= 20, "core files not found: {files:?}");
    let mut hits = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may build fixtures however they like.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            for word in FORBIDDEN {
                if line.contains(word) {
                    hits.push(format!(
                        "{}:{}: {word}",
                        file.strip_prefix(repo()).unwrap().display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "I/O or clock in the core:\n{}",
        hits.join("\n")
    );
}
