//! Output: plain aligned tables for people, JSON for programs, CSV for spreadsheets.
//!
//! Okta profile strings are anyone's input: in tables every control character is shown
//! escaped (an ESC from a user's `lastName` must not reach the terminal), in CSV cells that a
//! spreadsheet would run as a formula get a leading `'` (OWASP's advice), and JSON stays exact.

use crate::cli::OutputFormat;
use anyhow::Result;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};

/// Widest a table cell gets before it is cut with an ellipsis, so one long value (a description,
/// a raw profile field) does not push every other column off the screen.
const MAX_CELL_CHARS: usize = 48;

/// A table of text cells.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Rows, not counting the header.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn render(&self) -> String {
        let cut = |s: &str| -> String {
            let one_line = printable(&s.replace(['\n', '\r', '\t'], " ")).into_owned();
            if one_line.chars().count() > MAX_CELL_CHARS {
                let mut t: String = one_line.chars().take(MAX_CELL_CHARS - 1).collect();
                t.push('…');
                t
            } else {
                one_line
            }
        };
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| cut(c)).collect())
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if i + 1 < cells.len() {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(
            &self
                .headers
                .iter()
                .map(|h| h.to_uppercase())
                .collect::<Vec<_>>(),
        );
        for row in &rows {
            line(row);
        }
        out
    }

    pub fn print(&self) -> Result<()> {
        write_stdout(&self.render())
    }

    /// The table as CSV: a header row, then every cell whole (not cut), RFC 4180 quoting,
    /// formula-like cells neutralised unless `raw`.
    pub fn to_csv(&self, raw: bool) -> String {
        let mut out = String::new();
        out.push_str(&csv_line(
            self.headers.iter().map(|h| Some(h.as_str())),
            raw,
        ));
        for row in &self.rows {
            out.push_str(&csv_line(row.iter().map(|c| Some(c.as_str())), raw));
        }
        out
    }
}

/// Prints a list: `value` as JSON, or `table` as a table (with "N noun" on stderr) or CSV.
pub fn print_list<T: Serialize + ?Sized>(
    format: OutputFormat,
    value: &T,
    table: &Table,
    noun: &str,
) -> Result<()> {
    match format {
        OutputFormat::Json => print_json(value),
        OutputFormat::Csv => write_stdout(&table.to_csv(false)),
        OutputFormat::Table => {
            table.print()?;
            eprintln!("{} {noun}", table.rows.len());
            Ok(())
        }
    }
}

/// `text` with every control character shown as an escape (`\u{1b}`), for a terminal.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// `text` with control characters escaped on every line; the line breaks stay.
pub fn printable_lines(text: &str) -> String {
    text.lines()
        .map(|l| format!("{}\n", printable(l)))
        .collect()
}

/// Cells a spreadsheet reads as a formula (or as a cell break): OWASP's list.
fn looks_like_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One RFC 4180 line: fields with a comma, quote or line break are quoted, quotes doubled;
/// unless `raw`, a cell that starts like a formula gets a leading `'`.
pub fn csv_line<'a>(cells: impl Iterator<Item = Option<&'a str>>, raw: bool) -> String {
    let mut line = String::new();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            line.push(',');
        }
        let cell = cell.unwrap_or("");
        let cell: Cow<str> = if !raw && looks_like_formula(cell) {
            Cow::Owned(format!("'{cell}"))
        } else {
            Cow::Borrowed(cell)
        };
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&cell);
        }
    }
    line.push_str("\r\n");
    line
}

/// Writes to stdout, treating a closed pipe (`oktasync users | head`) as success.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints one value as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_stdout(&text)
}

/// `Some(x)` as text, `None` as "-".
pub fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_long_cells_are_cut() {
        let mut t = Table::new(&["id", "name"]);
        t.row(vec!["1".into(), "Zoë".into()]);
        t.row(vec!["22".into(), "x".repeat(100)]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID  NAME");
        assert_eq!(lines[1], "1   Zoë");
        assert!(lines[2].ends_with('…'));
        assert_eq!(lines[2].chars().count(), 4 + MAX_CELL_CHARS);
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut t = Table::new(&["name"]);
        t.row(vec!["Evil\u{1b}]0;pwned\u{7}\u{1b}[2J".into()]);
        let text = t.render();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("Evil\\u{1b}]0;pwned\\u{7}"), "{text}");
        assert_eq!(printable("Zoë"), "Zoë");
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_neutralises_formulas() {
        let line = csv_line(
            [Some("a"), None, Some("b,c"), Some("say \"hi\"")].into_iter(),
            false,
        );
        assert_eq!(line, "a,,\"b,c\",\"say \"\"hi\"\"\"\r\n");
        for (cell, safe) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("+SUM(1+1)", "'+SUM(1+1)"),
            ("-cmd", "'-cmd"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("plain", "plain"),
        ] {
            assert_eq!(
                csv_line([Some(cell)].into_iter(), false),
                format!("{safe}\r\n")
            );
        }
        assert_eq!(csv_line([Some("=1+1")].into_iter(), true), "=1+1\r\n");
    }
}
