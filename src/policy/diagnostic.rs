//! Diagnostics: every problem okta365 finds in policies (and in the plan they
//! produce) is a [`Diagnostic`] with a source position and a hint, printed as
//! `path:line:col: error: message`.

use serde::{Deserialize, Serialize};

/// A position in a policy file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file, as given on the command line or in the config.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the run.
    Error,
    /// Worth reading; does not stop the run.
    Warning,
}

/// One problem, with where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where; `None` for problems that are not in a policy file.
    pub location: Option<Location>,
    /// What is wrong: lowercase, no final period, user input in backticks.
    pub message: String,
    /// What to do, when there is something to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            location,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `location`.
    pub fn warning(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            location,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this stops the run.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col: error: message` and, on the next line, `  hint: …`.
    pub fn render_plain(&self) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = match &self.location {
            Some(at) => format!("{at}: {level}: {}", self.message),
            None => format!("{level}: {}", self.message),
        };
        if let Some(hint) = &self.hint {
            out.push_str("\n  hint: ");
            out.push_str(hint);
        }
        out
    }

    /// A GitHub Actions workflow command (`::error file=…,line=…,col=…::message`).
    pub fn render_github(&self) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut text = self.message.clone();
        if let Some(hint) = &self.hint {
            text.push_str(" (hint: ");
            text.push_str(hint);
            text.push(')');
        }
        let text = escape_github_data(&text);
        match &self.location {
            Some(at) => format!(
                "::{level} file={},line={},col={}::{text}",
                escape_github_property(&at.file),
                at.line,
                at.col
            ),
            None => format!("::{level}::{text}"),
        }
    }
}

fn escape_github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_github_property(s: &str) -> String {
    escape_github_data(s)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// `text` cut to at most `max` characters, saying how much was left out:
/// errors never echo a hostile value whole.
pub fn truncate(text: &str, max: usize) -> String {
    // Already cut (by an earlier call): keep it as it is.
    if let Some((head, tail)) = text.rsplit_once("… (")
        && tail.ends_with(" more characters)")
        && !tail.contains('`')
        && head.chars().count() <= max
    {
        return text.to_owned();
    }
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let rest = text[end..].chars().count();
            format!("{}… ({rest} more characters)", &text[..end])
        }
    }
}

/// The longest quoted value (between backticks) a message shows.
const MAX_QUOTED: usize = 80;
/// The longest message or hint.
const MAX_TEXT: usize = 400;

/// `d` with every quoted value (`` `…` ``) cut to [`MAX_QUOTED`] characters
/// and its message and hint to [`MAX_TEXT`]: a hostile value (a 50 MB
/// group name) is never echoed whole, and the words around it stay.
pub fn clip(mut d: Diagnostic) -> Diagnostic {
    d.message = shorten(&d.message);
    d.hint = d.hint.as_deref().map(shorten);
    d
}

/// Quoted values cut to [`MAX_QUOTED`], the whole to [`MAX_TEXT`].
fn shorten(text: &str) -> String {
    let quoted_cut: String = text
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                truncate(part, MAX_QUOTED)
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("`");
    truncate(&quoted_cut, MAX_TEXT)
}

/// Sorts diagnostics by file, line, column (those without a location last).
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.location.is_none(), &a.location, &a.message).cmp(&(
            b.location.is_none(),
            &b.location,
            &b.message,
        ))
    });
}

/// The closest candidate to `word` (edit distance ≤ a third of its length), for "did you mean".
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // No name is this long: a hostile value gets no suggestion (and no
    // work in proportion to its length times the candidates').
    const LONGEST: usize = 200;
    let length = word.chars().count();
    if length > LONGEST {
        return None;
    }
    let limit = (length / 3).max(1);
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| c.chars().count().abs_diff(length) <= limit)
        .map(|c| (levenshtein(&word, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal
/// string alignment), in three rows of memory.
fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    last[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_github_forms() {
        let d = Diagnostic::error(
            Some(Location {
                file: "policies/a.yaml".into(),
                line: 3,
                col: 7,
            }),
            "unknown field `nmae`",
        )
        .with_hint("did you mean `name`?");
        assert_eq!(
            d.render_plain(),
            "policies/a.yaml:3:7: error: unknown field `nmae`\n  hint: did you mean `name`?"
        );
        assert_eq!(
            d.render_github(),
            "::error file=policies/a.yaml,line=3,col=7::unknown field `nmae` (hint: did you mean `name`?)"
        );
    }

    #[test]
    fn edit_distances_and_long_words() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("nmae", "name"), 1);
        assert_eq!(levenshtein("ca", "abc"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        // A 5 MB value gets no suggestion, at once.
        let huge = "A".repeat(5_000_000);
        assert_eq!(did_you_mean(&huge, ["unified", "security"]), None);
        let cut = truncate(&huge, 10);
        assert_eq!(cut, "AAAAAAAAAA… (4999990 more characters)");
        assert_eq!(truncate(&cut, 10), cut, "cutting twice changes nothing");
    }

    #[test]
    fn suggestions_are_close_or_absent() {
        assert_eq!(
            did_you_mean("nmae", ["name", "when", "groups"]),
            Some("name")
        );
        assert_eq!(did_you_mean("xyzzy", ["name", "when"]), None);
    }
}
