//! The JSON format: an array of sites, for CI and scripts.

use serde::Serialize;

use super::{FixState, Located};

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct ByteRange {
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    /// The text that replaces the range (empty: a deletion).
    content: &'a str,
    location: Position,
    end_location: Position,
    range: ByteRange,
}

#[derive(Serialize)]
struct JsonSite<'a> {
    path: &'a str,
    code: &'a str,
    name: &'a str,
    message: &'a str,
    location: Position,
    end_location: Position,
    /// `safe`, `unsafe` or null.
    fix: Option<&'static str>,
    no_fix_reason: Option<&'a str>,
    /// The site's bytes in the file, end exclusive.
    range: ByteRange,
    /// The fix's edits in file order, whether or not it is applied by default.
    edits: Vec<JsonEdit<'a>>,
}

pub fn render(sites: &[Located]) -> String {
    let items: Vec<JsonSite<'_>> = sites
        .iter()
        .map(|site| JsonSite {
            path: &site.path,
            code: &site.code,
            name: &site.name,
            message: &site.message,
            location: Position { line: site.line, column: site.column },
            end_location: Position { line: site.end_line, column: site.end_column },
            fix: match site.fix {
                FixState::Safe => Some("safe"),
                FixState::Unsafe => Some("unsafe"),
                FixState::None(_) => None,
            },
            no_fix_reason: match &site.fix {
                FixState::None(reason) => Some(reason),
                _ => None,
            },
            range: ByteRange { start: site.range.start, end: site.range.end },
            edits: site
                .edits
                .iter()
                .map(|edit| JsonEdit {
                    content: &edit.content,
                    location: Position { line: edit.start.0, column: edit.start.1 },
                    end_location: Position { line: edit.end.0, column: edit.end.1 },
                    range: ByteRange { start: edit.range.start, end: edit.range.end },
                })
                .collect(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}
