//! Where event mode gets Okta System Log events from: a file or standard
//! input holding one `LogEvent` JSON object per line (what
//! `okta365 okta logs --follow` prints, or a System Log export), read as it
//! grows.

use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};

use super::ReadError;
use crate::events::LogEvent;

/// A stream of System Log events, one line at a time.
pub struct LineFeed {
    lines: Lines<BufReader<Box<dyn AsyncRead + Send + Unpin>>>,
    name: String,
    line: usize,
}

impl LineFeed {
    /// Reads events from `path`, or from standard input when it is `-`.
    pub async fn open(path: &PathBuf) -> Result<Self, ReadError> {
        let (reader, name): (Box<dyn AsyncRead + Send + Unpin>, String) = if path.as_os_str() == "-"
        {
            (Box::new(tokio::io::stdin()), "standard input".to_owned())
        } else {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|source| ReadError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
            (Box::new(file), path.display().to_string())
        };
        Ok(Self {
            lines: BufReader::new(reader).lines(),
            name,
            line: 0,
        })
    }

    /// The next non-blank line and its number, or `None` at the end of the input.
    pub async fn next_line(&mut self) -> Result<Option<(usize, String)>, ReadError> {
        loop {
            let Some(text) = self
                .lines
                .next_line()
                .await
                .map_err(|source| ReadError::Io {
                    path: self.name.clone(),
                    source,
                })?
            else {
                return Ok(None);
            };
            self.line += 1;
            if !text.trim().is_empty() {
                return Ok(Some((self.line, text)));
            }
        }
    }

    /// Where the lines come from, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next event, or `None` at the end of the input. Blank lines are
    /// skipped; a line that is not a `LogEvent` is an error naming the line.
    pub async fn next(&mut self) -> Result<Option<LogEvent>, ReadError> {
        loop {
            let Some(text) = self
                .lines
                .next_line()
                .await
                .map_err(|source| ReadError::Io {
                    path: self.name.clone(),
                    source,
                })?
            else {
                return Ok(None);
            };
            self.line += 1;
            if text.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ReadError::Json {
                    path: self.name.clone(),
                    line: self.line,
                    column: e.column(),
                    message: format!("not an Okta System Log event: {e}"),
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_events_line_by_line_and_names_a_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(
            &path,
            "{\"uuid\":\"1\",\"eventType\":\"user.lifecycle.suspend\"}\n\n{\"uuid\":\"2\",\"eventType\":\"x\"}\nnot json\n",
        )
        .unwrap();
        let mut feed = LineFeed::open(&path).await.unwrap();
        assert_eq!(feed.next().await.unwrap().unwrap().uuid, "1");
        assert_eq!(feed.next().await.unwrap().unwrap().uuid, "2");
        let err = feed.next().await.unwrap_err().to_string();
        assert!(err.contains("events.jsonl:4:"), "{err}");
    }
}
