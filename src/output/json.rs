//! The JSON format: an array of sites, for CI and scripts.

use serde::Serialize;

use super::{FixState, Located};

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
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
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}
