//! SARIF 2.1.0 (the OASIS Static Analysis Results Interchange Format), for
//! code scanning dashboards: one run, the rules that have results, and each
//! site with its location and its fix as text replacements. Columns count
//! Unicode code points, as everywhere in asyncfix (`columnKind`).

use std::fmt::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::{FixState, Located, LocatedEdit, path_bytes};
use crate::recipe::RuleSet;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// `path` gives the real path of a shown one, where it is known.
pub fn render<'p>(sites: &[Located], rules: &RuleSet, path: impl Fn(&str) -> Option<&'p Path>) -> String {
    let mut codes: Vec<&str> = sites.iter().map(|site| site.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let descriptors: Vec<Value> = codes
        .iter()
        .map(|code| {
            rules.by_code(code).map_or_else(
                // Not a recipe's rule: AF100, an unused suppression comment.
                || {
                    let name = sites.iter().find(|site| site.code == *code).map_or("", |site| site.name.as_str());
                    json!({ "id": code, "name": name, "shortDescription": { "text": name } })
                },
                |rule| {
                    json!({
                        "id": code,
                        "name": rule.name,
                        "shortDescription": { "text": rule.summary },
                        "fullDescription": { "text": rule.doc },
                    })
                },
            )
        })
        .collect();
    let results: Vec<Value> = sites
        .iter()
        .map(|site| {
            let index = codes.binary_search(&site.code.as_str()).unwrap_or_default();
            let bytes = path(&site.path).map_or_else(|| site.path.as_bytes().to_vec(), path_bytes);
            result(site, index, &bytes)
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "asyncfix",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn result(site: &Located, rule_index: usize, path: &[u8]) -> Value {
    let artifact = json!({ "uri": uri(path) });
    let mut result = json!({
        "ruleId": site.code,
        "ruleIndex": rule_index,
        "level": "error",
        "message": { "text": site.message },
        "locations": [{ "physicalLocation": {
            "artifactLocation": artifact,
            "region": region((site.line, site.column), (site.end_line, site.end_column)),
        } }],
    });
    let description = match site.fix {
        FixState::Safe => "Apply the fix (`asyncfix fix`)",
        FixState::Unsafe => "Apply the fix (`asyncfix fix --unsafe-fixes`): it rests on a guess",
        FixState::None(_) => return result,
    };
    result["fixes"] = json!([{
        "description": { "text": description },
        "artifactChanges": [{
            "artifactLocation": artifact,
            "replacements": site.edits.iter().map(replacement).collect::<Vec<_>>(),
        }],
    }]);
    result
}

/// A region from its 1-based start and end; equal ends make an insertion point.
fn region(start: (usize, usize), end: (usize, usize)) -> Value {
    json!({ "startLine": start.0, "startColumn": start.1, "endLine": end.0, "endColumn": end.1 })
}

fn replacement(edit: &LocatedEdit) -> Value {
    json!({ "deletedRegion": region(edit.start, edit.end), "insertedContent": { "text": edit.content } })
}

/// A path as a URI reference: relative paths stay relative (to the folder
/// asyncfix ran in), absolute ones become `file://` URIs; characters a URI
/// cannot hold are percent-encoded, and so are bytes that are not UTF-8.
fn uri(path: &[u8]) -> String {
    let mut encoded = String::new();
    for &byte in path {
        if byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    if path.starts_with(b"/") { format!("file://{encoded}") } else { encoded }
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri(b"app/views.py"), "app/views.py");
        assert_eq!(uri(b"my app/100%.py"), "my%20app/100%25.py");
        assert_eq!(uri(b"/srv/app/#1.py"), "file:///srv/app/%231.py");
        assert_eq!(uri("app/café.py".as_bytes()), "app/caf%C3%A9.py");
        // Latin-1 `café.py`: the byte itself, not the `\xe9` a report shows.
        assert_eq!(uri(b"app/caf\xe9.py"), "app/caf%E9.py");
    }
}
