//! Imports the fixes left unused: a name imported at module level that the
//! original text used and the fixed text no longer does (`sync_to_async`
//! after every wrapper became a native twin, `authenticate` after its call
//! became `aauthenticate`). Only those are removed: an import that was
//! unused before stays, as does any name still spelled anywhere outside an
//! import (counting a shadowing local as a use keeps the import).

use std::collections::HashMap;
use std::ops::Range;

use tree_sitter::{Node, Tree};

use crate::parse::FIELD;

/// The edits (range of `fixed`, replacement) that remove the imports the
/// fixes left unused; empty when there is none.
pub fn removals(original: &str, original_tree: &Tree, fixed: &str, fixed_tree: &Tree) -> Vec<(Range<usize>, String)> {
    let used_before = uses(original, original_tree);
    let used_after = uses(fixed, fixed_tree);
    let mut edits = Vec::new();
    let root = fixed_tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let names = imported_names(statement, fixed);
        if names.is_empty() {
            continue;
        }
        let unused: Vec<bool> = names
            .iter()
            .map(|(local, _)| used_before.get(local).copied().unwrap_or(0) > 0 && !used_after.contains_key(local))
            .collect();
        if !unused.contains(&true) {
            continue;
        }
        if unused.iter().all(|&unused| unused) {
            edits.push((whole_lines(statement, fixed), String::new()));
            continue;
        }
        // Each run of unused names goes with the separator after it, or,
        // at the end, with the one before it.
        let mut at = 0;
        while at < names.len() {
            if !unused[at] {
                at += 1;
                continue;
            }
            let start = at;
            while at < names.len() && unused[at] {
                at += 1;
            }
            let range = match names.get(at) {
                Some((_, next)) => names[start].1.start..next.start,
                None => names[start - 1].1.end..names[at - 1].1.end,
            };
            edits.push((range, String::new()));
        }
    }
    edits
}

/// `from m import a, b as c` / `import x as y`: each local name and the
/// range of its clause. `import a.b` binds `a`, which other imports may
/// share: left alone, as are `*` imports and `__future__`.
fn imported_names(statement: Node<'_>, text: &str) -> Vec<(String, Range<usize>)> {
    let module = statement.child_by_field_id(FIELD.module_name);
    let names_from = match statement.kind() {
        "import_from_statement" => {
            if module.is_some_and(|module| &text[module.byte_range()] == "__future__") {
                return Vec::new();
            }
            true
        }
        "import_statement" => false,
        _ => return Vec::new(),
    };
    let mut found = Vec::new();
    let mut cursor = statement.walk();
    for child in statement.children_by_field_name("name", &mut cursor) {
        let local = match child.kind() {
            "aliased_import" => child.child_by_field_id(FIELD.alias).map(|alias| &text[alias.byte_range()]),
            "dotted_name" if names_from || child.named_child_count() == 1 => Some(&text[child.byte_range()]),
            _ => None,
        };
        match local {
            Some(local) => found.push((local.to_owned(), child.byte_range())),
            // A name this cannot remove alone: keep the statement as it is.
            None => return Vec::new(),
        }
    }
    found
}

/// How often each identifier is spelled outside import statements.
fn uses(text: &str, tree: &Tree) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "import_statement" | "import_from_statement" | "future_import_statement" => continue,
            "identifier" => *counts.entry(text[node.byte_range()].to_owned()).or_insert(0) += 1,
            // A name in `__all__` or a string annotation is a use too.
            "string" => {
                for word in text[node.byte_range()].split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                    if !word.is_empty() {
                        *counts.entry(word.to_owned()).or_insert(0) += 1;
                    }
                }
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    counts
}

/// The statement with its line break, when it stands alone on its lines.
fn whole_lines(statement: Node<'_>, text: &str) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut start = statement.start_byte();
    while start > 0 && matches!(bytes[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    let mut end = statement.end_byte();
    while end < bytes.len() && matches!(bytes[end], b' ' | b'\t') {
        end += 1;
    }
    let alone =
        (start == 0 || bytes[start - 1] == b'\n') && (end == bytes.len() || matches!(bytes[end], b'\r' | b'\n'));
    if !alone {
        return statement.byte_range();
    }
    if bytes.get(end) == Some(&b'\r') {
        end += 1;
    }
    if bytes.get(end) == Some(&b'\n') {
        end += 1;
    }
    start..end
}
