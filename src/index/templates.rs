//! The project's Django templates, for what a render reads: the variables a
//! template uses, with those of the templates it extends and includes.
//!
//! Found by name under every `templates` folder of the project (app
//! folders, `APP_DIRS`, and a top-level one in `DIRS`), the way Django's
//! loaders search. The folders are walked once, on the first question, and
//! each template is read at most once.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::infer::facts::TemplateUses;

/// The templates under one project folder.
#[derive(Debug, Default)]
pub struct Templates {
    folders: Vec<PathBuf>,
    /// Relative name -> file, walked once.
    files: OnceLock<HashMap<String, PathBuf>>,
    uses: Mutex<HashMap<String, Option<Arc<TemplateUses>>>>,
}

/// Deepest chain of `extends` and `include` followed.
const MAX_DEPTH: usize = 24;

impl Templates {
    /// The templates under `folders` (an import root, and its parent when
    /// the root is a `src` folder).
    pub fn new(folders: Vec<PathBuf>) -> Self {
        Self { folders, files: OnceLock::new(), uses: Mutex::new(HashMap::new()) }
    }

    /// What the template `name` reads, with its parents and includes;
    /// `None` when no `templates` folder holds it.
    pub fn uses(&self, name: &str) -> Option<Arc<TemplateUses>> {
        if let Some(known) = self.uses.lock().ok()?.get(name) {
            return known.clone();
        }
        let mut uses = TemplateUses::default();
        let mut seen = BTreeSet::new();
        let found = self.collect(name, &mut uses, &mut seen, 0);
        let result = found.then(|| Arc::new(uses));
        self.uses.lock().ok()?.insert(name.to_owned(), result.clone());
        result
    }

    fn collect(&self, name: &str, uses: &mut TemplateUses, seen: &mut BTreeSet<String>, depth: usize) -> bool {
        if !seen.insert(name.to_owned()) {
            return true;
        }
        let Some(text) = self.file(name).and_then(|path| std::fs::read_to_string(path).ok()) else {
            return false;
        };
        let scanned = scan(&text);
        uses.variables.extend(scanned.variables);
        uses.incomplete |= scanned.dynamic_parent;
        for parent in scanned.templates {
            if depth >= MAX_DEPTH || !self.collect(&parent, uses, seen, depth + 1) {
                uses.incomplete = true;
            }
        }
        true
    }

    fn file(&self, name: &str) -> Option<&PathBuf> {
        self.files.get_or_init(|| walk(&self.folders)).get(name.trim_start_matches('/'))
    }
}

/// Every file under a `templates` folder below `folders`, by its path
/// relative to that folder; the first found wins, as with Django's loaders.
fn walk(folders: &[PathBuf]) -> HashMap<String, PathBuf> {
    let mut found = HashMap::new();
    for folder in folders {
        let walker = ignore::WalkBuilder::new(folder)
            .require_git(false)
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                entry.depth() == 0 || !(name.starts_with('.') || name == "node_modules" || name == "__pycache__")
            })
            .build();
        let mut files: Vec<PathBuf> = walker
            .flatten()
            .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_file()))
            .map(ignore::DirEntry::into_path)
            .collect();
        files.sort();
        for path in files {
            if let Some(name) = template_name(&path) {
                found.entry(name).or_insert(path);
            }
        }
    }
    found
}

/// `app/templates/shop/list.html` -> `shop/list.html` (the part below the
/// last `templates` folder).
fn template_name(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path.iter().filter_map(|part| part.to_str()).collect();
    let at = parts.iter().rposition(|part| *part == "templates")?;
    (at + 1 < parts.len()).then(|| parts[at + 1..].join("/"))
}

/// What one template's text says.
#[derive(Debug, Default)]
struct Scanned {
    variables: BTreeSet<String>,
    /// Templates named by `{% extends "..." %}` and `{% include "..." %}`.
    templates: Vec<String>,
    /// One of those names a variable.
    dynamic_parent: bool,
}

/// Reads the tags and variables of a Django template: `{{ ... }}`,
/// `{% ... %}`; comments (`{# #}`, `{% comment %}`) and `{% verbatim %}`
/// blocks are skipped.
fn scan(text: &str) -> Scanned {
    let mut scanned = Scanned::default();
    let mut rest = text;
    let mut skipping: Option<&str> = None;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let close = match after.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                rest = &rest[start + 1..];
                continue;
            }
        };
        let Some(end) = after[2..].find(close) else { break };
        let inner = after[2..2 + end].trim();
        rest = &after[2 + end + 2..];
        if close == "#}" {
            continue;
        }
        let mut words = inner.split_whitespace();
        let tag = if close == "%}" { words.next().unwrap_or("") } else { "" };
        if let Some(until) = skipping {
            if tag == until {
                skipping = None;
            }
            continue;
        }
        match tag {
            "comment" => skipping = Some("endcomment"),
            "verbatim" => skipping = Some("endverbatim"),
            "extends" | "include" => match words.next().and_then(quoted) {
                Some(name) => scanned.templates.push(name.to_owned()),
                None => scanned.dynamic_parent = true,
            },
            _ => {}
        }
        let expression = if tag.is_empty() { inner } else { inner.get(tag.len()..).unwrap_or("") };
        variables(expression, &mut scanned.variables);
    }
    scanned
}

/// The text of a quoted literal: `"base.html"` -> `base.html`.
fn quoted(word: &str) -> Option<&str> {
    let quote = word.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    word.strip_prefix(quote)?.strip_suffix(quote)
}

/// The dotted names of an expression and their prefixes, outside string
/// literals; a filter's name (`|date`) is not a variable, its argument is.
fn variables(expression: &str, into: &mut BTreeSet<String>) {
    let bytes = expression.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'"' || byte == b'\'' {
            at += expression[at + 1..].find(byte as char).map_or(bytes.len(), |end| end + 2);
            continue;
        }
        let starts_name = byte.is_ascii_alphabetic() || byte == b'_';
        let after_filter = at > 0 && bytes[..at].iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'|');
        if !starts_name || (at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_')) {
            at += 1;
            continue;
        }
        let end = bytes[at..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'))
            .map_or(bytes.len(), |length| at + length);
        let name = expression[at..end].trim_end_matches('.');
        if !after_filter {
            let mut prefix = String::new();
            for part in name.split('.') {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                into.insert(prefix.clone());
            }
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_parents() {
        let scanned = scan(
            "{% extends 'base.html' %}{# user #}{% comment %}{{ perms }}{% endcomment %}\
             {% block body %}{% for book in books %}{{ book.title|default:'user' }}{% endfor %}\
             {% if request.user.is_authenticated %}{% include \"nav.html\" with x=y %}{% endif %}\
             {{ value|date:fmt }}{% include template_name %}{% endblock %}",
        );
        assert_eq!(scanned.templates, ["base.html", "nav.html"]);
        assert!(scanned.dynamic_parent);
        for variable in ["books", "book.title", "request", "request.user", "request.user.is_authenticated", "fmt", "y"]
        {
            assert!(scanned.variables.contains(variable), "{variable} missing from {:?}", scanned.variables);
        }
        for absent in ["user", "perms", "default", "date", "base.html"] {
            assert!(!scanned.variables.contains(absent), "{absent} in {:?}", scanned.variables);
        }
    }

    #[test]
    fn names_below_the_last_templates_folder() {
        assert_eq!(template_name(Path::new("/p/shop/templates/shop/list.html")).as_deref(), Some("shop/list.html"));
        assert_eq!(template_name(Path::new("/p/shop/views.py")), None);
    }
}
