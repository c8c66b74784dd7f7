//! Printers: one per output format. They receive finished results and only
//! format them.

pub mod concise;
pub mod diff;
pub mod github;
pub mod json;
pub mod progress;
pub mod sarif;
pub mod text;

use crate::diagnostic::Diagnostic;
use crate::fix::Applicability;
use crate::recipe::RuleSet;
use crate::rules::suppression::Unused;
use crate::source::Locator;

/// What a site's fix looks like to the user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FixState {
    Safe,
    Unsafe,
    None(String),
}

/// A diagnostic with its position in lines and columns.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Located {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub code: String,
    pub name: String,
    pub message: String,
    pub fix: FixState,
    /// The site's byte range in the file.
    pub range: std::ops::Range<usize>,
    /// The fix's edits, in file order: the range replaced, where it starts
    /// and ends (line, column), and the new text.
    pub edits: Vec<LocatedEdit>,
}

/// One edit of a fix, located.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LocatedEdit {
    pub range: std::ops::Range<usize>,
    pub start: (usize, usize),
    pub end: (usize, usize),
    pub content: String,
}

pub fn locate(path: &str, text: &str, diagnostics: &[Diagnostic], rules: &RuleSet) -> Vec<Located> {
    let locator = Locator::new(text);
    diagnostics
        .iter()
        .map(|diagnostic| {
            let (line, column) = locator.line_col(diagnostic.range.start);
            let (end_line, end_column) = locator.line_col(diagnostic.range.end);
            let rule = rules.rule(diagnostic.rule);
            let fix = match (&diagnostic.fix, &diagnostic.no_fix) {
                (Some(fix), _) if fix.applicability == Applicability::Safe => FixState::Safe,
                (Some(_), _) => FixState::Unsafe,
                (None, reason) => FixState::None(reason.as_ref().map(ToString::to_string).unwrap_or_default()),
            };
            let mut edits: Vec<LocatedEdit> = diagnostic
                .fix
                .iter()
                .flat_map(|fix| fix.edits.iter().chain(&fix.shared))
                .map(|edit| LocatedEdit {
                    range: edit.range.clone(),
                    start: locator.line_col(edit.range.start),
                    end: locator.line_col(edit.range.end),
                    content: edit.content.clone(),
                })
                .collect();
            edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
            Located {
                range: diagnostic.range.clone(),
                edits,
                path: path.to_owned(),
                line,
                column,
                end_line,
                end_column,
                code: rule.code.clone(),
                name: rule.name.clone(),
                message: diagnostic.message.clone(),
                fix,
            }
        })
        .collect()
}

/// The code and name of a suppression comment that suppresses nothing
/// (`check --report-unused-suppressions`).
pub const UNUSED_SUPPRESSION: (&str, &str) = ("AF100", "unused-suppression");

/// Suppression comments that suppress nothing, as sites of their own.
pub fn locate_unused(path: &str, text: &str, unused: &[Unused]) -> Vec<Located> {
    let locator = Locator::new(text);
    unused
        .iter()
        .map(|comment| {
            let (line, column) = locator.line_col(comment.comment.start);
            let (end_line, end_column) = locator.line_col(comment.comment.end);
            let message = if comment.codes.is_empty() {
                "`# asyncfix: ignore` suppresses nothing here".to_owned()
            } else {
                let codes: Vec<String> = comment.codes.iter().map(|code| format!("`{code}`")).collect();
                format!("unused suppression of {}: no such site here", codes.join(", "))
            };
            Located {
                path: path.to_owned(),
                line,
                column,
                end_line,
                end_column,
                code: UNUSED_SUPPRESSION.0.to_owned(),
                name: UNUSED_SUPPRESSION.1.to_owned(),
                message,
                fix: FixState::None("remove the comment, or the codes it names in vain".to_owned()),
                range: comment.comment.clone(),
                edits: Vec::new(),
            }
        })
        .collect()
}

/// ANSI colours, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    pub enabled: bool,
}

impl Painter {
    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// A path's bytes, for formats that spell a file name byte by byte (a diff
/// header, a SARIF URI): as the OS holds them on Unix; elsewhere its UTF-8
/// form with `/` separators.
#[cfg(unix)]
pub(crate) fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec()
}

#[cfg(not(unix))]
pub(crate) fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    path.to_string_lossy().replace('\\', "/").into_bytes()
}
