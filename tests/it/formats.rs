//! `check --output-format concise` and `sarif` on the built binary: the
//! exact output, and the SARIF document against the published 2.1.0 schema
//! (vendored in `tests/sarif/`).

use super::support::{Project, run_binary};

/// Three sites: an unsafe fix (`app/items.py`), none (`app/taken.py`:
/// `sync_to_async` is taken) and a safe fix (`app/views.py`).
fn three_sites() -> Project {
    let project = Project::new();
    project.write(
        "app/views.py",
        "from django.core.cache import cache\n\n\nasync def view(key):\n    return cache.get(key)\n",
    );
    project.write(
        "app/items.py",
        "class ItemView:\n    model = None\n\n    async def get_object(self, pk):\n        return self.model.objects.get(pk=pk)\n",
    );
    project.write(
        "app/taken.py",
        "from django.core.cache import cache\n\n\ndef sync_to_async(value):\n    return value\n\n\n\
         async def view(key):\n    return cache.get(key)\n",
    );
    project
}

#[test]
fn concise_prints_one_line_per_site_without_marks_or_closing_line() {
    let project = three_sites();

    let output = run_binary(&project.full(""), &["check", ".", "--output-format", "concise"]);
    let clean = run_binary(&project.full(""), &["check", ".", "--output-format", "concise", "--select", "DJ002"]);

    let expected = "\
app/items.py:5:16: DJ001 `self.model.objects.get(...)` runs a database query synchronously inside `async def`
app/taken.py:9:12: DJ003 `cache.get(...)` talks to the cache backend synchronously inside `async def`
app/views.py:5:12: DJ003 `cache.get(...)` talks to the cache backend synchronously inside `async def`
";
    assert_eq!((output.code, output.stdout.as_str(), output.stderr.as_str()), (1, expected, ""));
    assert_eq!((clean.code, clean.stdout.as_str(), clean.stderr.as_str()), (0, "", ""));
}

/// The vendored OASIS schema, compiled. The published file's `language`
/// pattern (of `run` and `toolComponent`) is not a valid regular
/// expression (`...-[a-zA-Z]{2}]?$`, a stray `]`), which the validator's
/// meta-schema check rejects; it is replaced in memory by the pattern it
/// means (`xx` or `xx-XX`). asyncfix never writes `language`.
fn sarif_schema() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sarif/sarif-schema-2.1.0.json");
    let mut schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for owner in ["run", "toolComponent"] {
        let language = &mut schema["definitions"][owner]["properties"]["language"]["pattern"];
        assert_eq!(language, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *language = serde_json::json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
    }
    jsonschema::validator_for(&schema).unwrap()
}

/// The schema's complaints about a document, one per line.
fn schema_errors(validator: &jsonschema::Validator, document: &serde_json::Value) -> Vec<String> {
    validator.iter_errors(document).map(|error| format!("{}: {error}", error.instance_path())).collect()
}

fn insertion(text: &str, (line, column): (usize, usize)) -> serde_json::Value {
    serde_json::json!({
        "deletedRegion": { "startLine": line, "startColumn": column, "endLine": line, "endColumn": column },
        "insertedContent": { "text": text },
    })
}

fn location(uri: &str, (line, column): (usize, usize), end_column: usize) -> serde_json::Value {
    serde_json::json!([{ "physicalLocation": {
        "artifactLocation": { "uri": uri },
        "region": { "startLine": line, "startColumn": column, "endLine": line, "endColumn": end_column },
    } }])
}

#[test]
fn sarif_carries_rules_results_and_fixes_and_validates_against_the_schema() {
    let project = three_sites();

    let output = run_binary(&project.full(""), &["check", ".", "--output-format", "sarif"]);

    assert_eq!((output.code, output.stderr.as_str()), (1, ""));
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(schema_errors(&sarif_schema(), &document), Vec::<String>::new());
    let rules = asyncfix::recipe::RuleSet::load(&[]).unwrap();
    let descriptor = |code: &str| {
        let rule = rules.by_code(code).unwrap();
        serde_json::json!({
            "id": code,
            "name": rule.name,
            "shortDescription": { "text": rule.summary },
            "fullDescription": { "text": rule.doc },
        })
    };
    let cache_message = "`cache.get(...)` talks to the cache backend synchronously inside `async def`";
    let expected = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "asyncfix",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": [descriptor("DJ001"), descriptor("DJ003")],
            } },
            "columnKind": "unicodeCodePoints",
            "results": [
                {
                    "ruleId": "DJ001",
                    "ruleIndex": 0,
                    "level": "error",
                    "message": { "text": "`self.model.objects.get(...)` runs a database query synchronously inside `async def`" },
                    "locations": location("app/items.py", (5, 16), 45),
                    "fixes": [{
                        "description": { "text": "Apply the fix (`asyncfix fix --unsafe-fixes`): it rests on a guess" },
                        "artifactChanges": [{
                            "artifactLocation": { "uri": "app/items.py" },
                            "replacements": [
                                insertion("from asgiref.sync import sync_to_async\n", (1, 1)),
                                insertion("await sync_to_async(", (5, 16)),
                                insertion(")", (5, 38)),
                            ],
                        }],
                    }],
                },
                {
                    "ruleId": "DJ003",
                    "ruleIndex": 1,
                    "level": "error",
                    "message": { "text": cache_message },
                    "locations": location("app/taken.py", (9, 12), 26),
                },
                {
                    "ruleId": "DJ003",
                    "ruleIndex": 1,
                    "level": "error",
                    "message": { "text": cache_message },
                    "locations": location("app/views.py", (5, 12), 26),
                    "fixes": [{
                        "description": { "text": "Apply the fix (`asyncfix fix`)" },
                        "artifactChanges": [{
                            "artifactLocation": { "uri": "app/views.py" },
                            "replacements": [
                                insertion("from asgiref.sync import sync_to_async\n", (2, 1)),
                                insertion("await sync_to_async(", (5, 12)),
                                insertion(")", (5, 21)),
                            ],
                        }],
                    }],
                },
            ],
        }],
    });
    assert_eq!(document, expected);
}

#[test]
fn sarif_for_a_clean_tree_has_no_results_and_still_validates() {
    let project = Project::new();
    project.write("views.py", "async def view():\n    return 1\n");

    let output = run_binary(&project.full(""), &["check", ".", "--output-format", "sarif"]);

    assert_eq!((output.code, output.stderr.as_str()), (0, ""));
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(document["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(document["runs"][0]["tool"]["driver"]["rules"], serde_json::json!([]));
    let validator = sarif_schema();
    assert_eq!(schema_errors(&validator, &document), Vec::<String>::new());
    // The schema does catch a broken document: a region starting at column 0.
    let mut broken = document.clone();
    broken["runs"][0]["results"] = serde_json::json!([{
        "message": { "text": "x" },
        "locations": location("views.py", (1, 0), 1),
    }]);
    assert_eq!(schema_errors(&validator, &broken).len(), 1, "{:?}", schema_errors(&validator, &broken));
}

/// `--quiet`: the sites and the reasons they are left, no closing line (and
/// no progress bar, which is never drawn off a terminal anyway).
#[test]
fn quiet_drops_the_closing_lines() {
    let project = three_sites();
    let root = project.full("");

    let check = run_binary(&root, &["check", ".", "--quiet"]);
    let diff = run_binary(&root, &["diff", "app/taken.py", "-q"]);
    let clean = run_binary(&root, &["check", ".", "-q", "--select", "DJ002"]);
    let fix = run_binary(&root, &["fix", "app/views.py", "-q"]);

    let expected = "\
app/items.py:5:16: DJ001 [?] `self.model.objects.get(...)` runs a database query synchronously inside `async def`
app/taken.py:9:12: DJ003 `cache.get(...)` talks to the cache backend synchronously inside `async def`
app/views.py:5:12: DJ003 [*] `cache.get(...)` talks to the cache backend synchronously inside `async def`
";
    assert_eq!((check.code, check.stdout.as_str(), check.stderr.as_str()), (1, expected, ""));
    let left = "app/taken.py:9:12: DJ003 `cache.get(...)` talks to the cache backend synchronously inside `async def` \
                (not fixed: `sync_to_async` is bound to something else in this module)\n";
    assert_eq!((diff.code, diff.stdout.as_str(), diff.stderr.as_str()), (1, "", left));
    assert_eq!((clean.code, clean.stdout.as_str(), clean.stderr.as_str()), (0, "", ""));
    assert_eq!((fix.code, fix.stdout.as_str(), fix.stderr.as_str()), (0, "", ""));
    assert!(project.read_text("app/views.py").contains("await sync_to_async(cache.get)(key)"));
}
