//! Suppression comments, as Python linters spell them:
//!
//! - `# noqa` (every rule) or `# noqa: DJ001, DJ102` on a line the site
//!   starts or ends on, as Ruff and flake8 read them;
//! - `# asyncfix: ignore` or `# asyncfix: ignore[DJ001, DJ102]` on such a
//!   line, or alone on the line above it;
//! - `# asyncfix: skip-file` among the comments at the top of the file,
//!   before its first statement (a docstring may come first).
//!
//! A suppressed site is neither reported nor fixed. Codes match exactly,
//! ignoring case; a comment with codes suppresses only those.

use tree_sitter::Node;

use crate::diagnostic::Diagnostic;
use crate::recipe::RuleSet;
use crate::semantic::SemanticModel;
use crate::source::Locator;

/// Which codes a comment suppresses: all, or those listed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Codes {
    All,
    Listed(Vec<String>),
}

impl Codes {
    fn covers(&self, code: &str) -> bool {
        match self {
            Self::All => true,
            Self::Listed(codes) => codes.iter().any(|listed| listed.eq_ignore_ascii_case(code)),
        }
    }
}

/// A suppression comment and the lines (0-based) it covers.
struct Suppression {
    lines: std::ops::RangeInclusive<usize>,
    codes: Codes,
    /// The comment's bytes.
    comment: std::ops::Range<usize>,
    /// `# asyncfix: ignore`, not `# noqa` (which other tools read too).
    ours: bool,
}

impl Suppression {
    fn covers(&self, diagnostic: &Diagnostic, code: &str, locator: &Locator<'_>) -> bool {
        let first = locator.line_col(diagnostic.range.start).0 - 1;
        let last = locator.line_col(diagnostic.range.end.max(diagnostic.range.start + 1) - 1).0 - 1;
        (self.lines.contains(&first) || self.lines.contains(&last)) && self.codes.covers(code)
    }
}

/// Whether the text can hold a suppression comment at all.
pub fn mentioned(source: &str) -> bool {
    memchr::memmem::find(source.as_bytes(), b"noqa").is_some()
        || memchr::memmem::find(source.as_bytes(), b"asyncfix:").is_some()
}

/// Drops the diagnostics a comment suppresses; all of them under
/// `# asyncfix: skip-file`.
pub fn filter(model: &SemanticModel<'_>, rules: &RuleSet, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    // Most files have no suppression comment: no walk for them.
    if diagnostics.is_empty() || !mentioned(model.source) {
        return diagnostics;
    }
    let locator = Locator::new(model.source);
    let Some(suppressions) = collect(model, &locator) else { return Vec::new() };
    if suppressions.is_empty() {
        return diagnostics;
    }
    diagnostics
        .into_iter()
        .filter(|diagnostic| {
            let code = &rules.rule(diagnostic.rule).code;
            !suppressions.iter().any(|suppression| suppression.covers(diagnostic, code, &locator))
        })
        .collect()
}

/// A suppression comment that suppressed nothing: its bytes and the codes
/// it names in vain (none: a bare `# asyncfix: ignore`).
#[derive(Debug, PartialEq, Eq)]
pub struct Unused {
    pub comment: std::ops::Range<usize>,
    pub codes: Vec<String>,
}

/// The suppression comments that suppress none of `diagnostics` (the
/// file's sites before [`filter`]). Only what asyncfix can judge: codes of
/// rules it knows and runs (`enabled`), and a bare `# asyncfix: ignore`;
/// a bare `# noqa` and other tools' codes are left alone. Nothing under
/// `# asyncfix: skip-file`.
pub fn unused(model: &SemanticModel<'_>, rules: &RuleSet, enabled: &[bool], diagnostics: &[Diagnostic]) -> Vec<Unused> {
    if !mentioned(model.source) {
        return Vec::new();
    }
    let locator = Locator::new(model.source);
    let Some(suppressions) = collect(model, &locator) else { return Vec::new() };
    let used = |suppression: &Suppression, only: Option<&str>| {
        diagnostics.iter().any(|diagnostic| {
            let code = &rules.rule(diagnostic.rule).code;
            only.is_none_or(|only| only.eq_ignore_ascii_case(code)) && suppression.covers(diagnostic, code, &locator)
        })
    };
    let mut found = Vec::new();
    for suppression in &suppressions {
        let codes = match &suppression.codes {
            Codes::All if suppression.ours && !used(suppression, None) => Vec::new(),
            Codes::All => continue,
            Codes::Listed(codes) => {
                let vain: Vec<String> = codes
                    .iter()
                    .filter(|code| {
                        let rule = rules.rules.iter().position(|rule| rule.code.eq_ignore_ascii_case(code));
                        rule.is_some_and(|rule| enabled[rule])
                    })
                    .filter(|code| !used(suppression, Some(code)))
                    .cloned()
                    .collect();
                if vain.is_empty() {
                    continue;
                }
                vain
            }
        };
        found.push(Unused { comment: suppression.comment.clone(), codes });
    }
    found
}

/// Every suppression comment of the file; `None` under `# asyncfix: skip-file`.
fn collect(model: &SemanticModel<'_>, locator: &Locator<'_>) -> Option<Vec<Suppression>> {
    let source = model.source;
    let mut suppressions = Vec::new();
    let root = model.tree.root_node();
    let first_statement = top_statements(root)
        .find(|node| node.kind() != "comment" && !is_docstring(*node))
        .map(|node| node.start_byte());
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.kind() == "comment" {
            let text = &source[node.byte_range()];
            let line = locator.line_col(node.start_byte()).0 - 1;
            if directive(text) == Some("skip-file") && first_statement.is_none_or(|first| node.start_byte() < first) {
                return None;
            }
            let comment = node.byte_range();
            if let Some(codes) = noqa(text) {
                suppressions.push(Suppression { lines: line..=line, codes, comment, ours: false });
            } else if let Some(codes) = ignore(text) {
                // Alone on its line, it covers the next line too.
                let alone = source[locator.line_start(node.start_byte())..node.start_byte()].trim().is_empty();
                suppressions.push(Suppression { lines: line..=line + usize::from(alone), codes, comment, ours: true });
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    Some(suppressions)
}

fn top_statements(root: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    (0..root.child_count()).filter_map(move |index| root.child(index))
}

fn is_docstring(node: Node<'_>) -> bool {
    node.kind() == "expression_statement" && node.named_child(0).is_some_and(|child| child.kind() == "string")
}

/// `# noqa`, `# noqa: A1, B2` (also after other text in the comment, as in
/// `# type: ignore  # noqa: DJ001`).
fn noqa(comment: &str) -> Option<Codes> {
    let lower = comment.to_ascii_lowercase();
    let at = lower.find("noqa")?;
    // A word of its own, right after a `#`.
    if !lower[..at].trim_end().ends_with('#') {
        return None;
    }
    let rest = comment[at + 4..].trim_start();
    match rest.strip_prefix(':') {
        Some(codes) => Some(listed(codes)),
        None if rest.is_empty() || rest.starts_with('#') => Some(Codes::All),
        None => None,
    }
}

/// `# asyncfix: ignore` or `# asyncfix: ignore[A1, B2]`.
fn ignore(comment: &str) -> Option<Codes> {
    let rest = directive(comment)?.strip_prefix("ignore")?.trim();
    if rest.is_empty() {
        return Some(Codes::All);
    }
    let codes = rest.strip_prefix('[')?.split_once(']')?.0;
    Some(listed(codes))
}

/// The directive of an `# asyncfix: ...` comment.
fn directive(comment: &str) -> Option<&str> {
    let body = comment.trim_start_matches('#').trim_start();
    Some(body.strip_prefix("asyncfix:")?.trim())
}

fn listed(codes: &str) -> Codes {
    let codes: Vec<String> = codes
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .take_while(|code| !code.starts_with('#'))
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect();
    if codes.is_empty() { Codes::All } else { Codes::Listed(codes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps, reason = "compared with the parsers' Option results")]
    fn codes(list: &[&str]) -> Option<Codes> {
        Some(Codes::Listed(list.iter().map(|code| (*code).to_owned()).collect()))
    }

    #[test]
    fn noqa_forms() {
        assert_eq!(noqa("# noqa"), Some(Codes::All));
        assert_eq!(noqa("# NOQA:DJ001"), codes(&["DJ001"]));
        assert_eq!(noqa("# noqa: DJ001, DJ102  # why"), codes(&["DJ001", "DJ102"]));
        assert_eq!(noqa("# type: ignore  # noqa: DJ003"), codes(&["DJ003"]));
        assert_eq!(noqa("# this is noqa-free"), None);
        assert_eq!(noqa("# noqabc"), None);
    }

    #[test]
    fn asyncfix_directives() {
        assert_eq!(ignore("# asyncfix: ignore"), Some(Codes::All));
        assert_eq!(ignore("# asyncfix: ignore[DJ001,DJ103]"), codes(&["DJ001", "DJ103"]));
        assert_eq!(ignore("# asyncfix: skip-file"), None);
        assert_eq!(directive("# asyncfix: skip-file"), Some("skip-file"));
        assert_eq!(ignore("# ignore"), None);
    }
}
