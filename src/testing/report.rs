//! Test results for people (like `cargo test`: one line per case, then
//! each failure with its diff, then a summary) and for CI (JUnit XML).

use std::io::{self, Write};

use super::CaseResult;

/// The results of one test file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileResults {
    /// The file's path.
    pub path: String,
    /// Its cases that ran, in order.
    pub cases: Vec<CaseResult>,
}

/// Counts over every file: (passed, failed).
pub fn counts(files: &[FileResults]) -> (usize, usize) {
    let all = files.iter().flat_map(|f| &f.cases);
    let failed = all.clone().filter(|c| !c.passed()).count();
    (all.count() - failed, failed)
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Writes the results as `cargo test` does. `filtered` is the number of
/// cases a filter left out.
pub fn human(files: &[FileResults], filtered: usize, out: &mut dyn Write) -> io::Result<()> {
    let total: usize = files.iter().map(|f| f.cases.len()).sum();
    writeln!(
        out,
        "running {total} test{} from {} file{}",
        plural(total),
        files.len(),
        plural(files.len())
    )?;
    for f in files {
        for c in &f.cases {
            let verdict = if c.passed() { "ok" } else { "FAILED" };
            writeln!(out, "test {} › {} ... {verdict}", short(&f.path), c.name)?;
        }
    }
    let failed: Vec<(&FileResults, &CaseResult)> = files
        .iter()
        .flat_map(|f| f.cases.iter().map(move |c| (f, c)))
        .filter(|(_, c)| !c.passed())
        .collect();
    if !failed.is_empty() {
        writeln!(out, "\nfailures:")?;
        for (f, c) in &failed {
            writeln!(out, "\n---- {} › {} ----", short(&f.path), c.name)?;
            for failure in &c.failures {
                writeln!(out, "{}: {}", failure.location, failure.title)?;
                for line in failure.detail.lines() {
                    writeln!(out, "  {line}")?;
                }
            }
        }
        writeln!(out, "\nfailures:")?;
        for (f, c) in &failed {
            writeln!(out, "    {} › {}", short(&f.path), c.name)?;
        }
    }
    let (passed, failed) = counts(files);
    let seconds: f64 = files.iter().flat_map(|f| &f.cases).map(|c| c.seconds).sum();
    writeln!(
        out,
        "\ntest result: {}. {passed} passed; {failed} failed; {filtered} filtered out; finished in {seconds:.2}s",
        if failed == 0 { "ok" } else { "FAILED" }
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Writes the results as JUnit XML: one `testsuite` per file, one
/// `testcase` per case, a `failure` element with the details for each failed one.
pub fn junit(files: &[FileResults], out: &mut dyn Write) -> io::Result<()> {
    let (passed, failed) = counts(files);
    let seconds: f64 = files.iter().flat_map(|f| &f.cases).map(|c| c.seconds).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="okta365 policy tests" tests="{}" failures="{failed}" errors="0" time="{seconds:.3}">"#,
        passed + failed
    )?;
    for f in files {
        let failures = f.cases.iter().filter(|c| !c.passed()).count();
        let time: f64 = f.cases.iter().map(|c| c.seconds).sum();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0" time="{time:.3}">"#,
            xml(&f.path),
            f.cases.len()
        )?;
        for c in &f.cases {
            write!(
                out,
                r#"    <testcase name="{}" classname="{}" file="{}" line="{}" time="{:.3}""#,
                xml(&c.name),
                xml(&f.path),
                xml(&c.location.file),
                c.location.line,
                c.seconds
            )?;
            if c.passed() {
                writeln!(out, "/>")?;
                continue;
            }
            writeln!(out, ">")?;
            let message: Vec<String> = c.failures.iter().map(|x| x.title.clone()).collect();
            let detail: Vec<String> = c
                .failures
                .iter()
                .map(|x| format!("{}: {}\n{}", x.location, x.title, x.detail))
                .collect();
            writeln!(
                out,
                r#"      <failure type="assertion" message="{}">{}</failure>"#,
                xml(&message.join("; ")),
                xml(&detail.join("\n\n"))
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// Escapes text for XML attributes and content, dropping the control
/// characters XML 1.0 cannot hold.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
