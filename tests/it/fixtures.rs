//! Every `fixtures/cases/**/NAME.py` is a case: `NAME.check` holds the
//! expected `check` output and `NAME.fixed.py` the expected `fix` output
//! (absent when the file must stay untouched). A first line
//! `# asyncfix-args: ...` passes extra arguments.
//!
//! Beyond the expected files, every case asserts the invariants: the output
//! compiles, a second `fix` changes nothing, nothing changed outside the
//! reported sites but the wrapper's import, and `check --full-parse` (no
//! function body skimmed) prints the same as `check`.
//!
//! `UPDATE_FIXTURES=1 cargo test` rewrites the expected files; review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use super::support::{as_refs, python_compiles, run};

fn cases(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cases(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "py") && !path.to_string_lossy().ends_with(".fixed.py") {
            found.push(path);
        }
    }
}

fn extra_args(input: &str) -> Vec<String> {
    input
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# asyncfix-args:"))
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[test]
fn fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases");
    let mut paths = Vec::new();
    cases(&root, &mut paths);
    paths.sort();
    assert!(paths.len() >= 10, "expected fixture cases under {}", root.display());
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut failures = Vec::new();
    for path in &paths {
        if let Err(message) = run_case(path, update) {
            failures.push(format!("{}:\n{message}", path.strip_prefix(&root).unwrap().display()));
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures failed:\n\n{}", failures.len(), paths.len(), failures.join("\n\n"));
}

fn run_case(path: &Path, update: bool) -> Result<(), String> {
    let input = fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let extra = extra_args(&input);
    let args = |command: &'static str| -> Vec<String> {
        let mut args = vec![
            command.to_owned(),
            "-".to_owned(),
            "--stdin-filename".to_owned(),
            name.clone(),
            "--color".to_owned(),
            "never".to_owned(),
        ];
        args.extend(extra.iter().cloned());
        args
    };

    let check = run(&as_refs(&args("check")), &input);
    if check.code == 2 {
        return Err(format!("check failed: {}", check.stderr));
    }
    // The skimmed parse (sync bodies nothing names left out) must find what
    // a parse of the whole file finds.
    let mut full_args = args("check");
    full_args.push("--full-parse".to_owned());
    let full = run(&as_refs(&full_args), &input);
    let skim_differs = (full.code, &full.stdout, &full.stderr) != (check.code, &check.stdout, &check.stderr);
    let fix = run(&as_refs(&args("fix")), &input);
    if fix.code == 2 {
        return Err(format!("fix failed: {}", fix.stderr));
    }
    let fixed = fix.stdout;
    let check_path = path.with_extension("check");
    let fixed_path = PathBuf::from(path.to_string_lossy().replace(".py", ".fixed.py"));
    if update {
        fs::write(&check_path, &check.stdout).unwrap();
        if fixed == input {
            let _ = fs::remove_file(&fixed_path);
        } else {
            fs::write(&fixed_path, &fixed).unwrap();
        }
    }
    let mut problems = Vec::new();
    if skim_differs {
        problems.push(format!("check --full-parse finds something else:\n{}{}", full.stdout, full.stderr));
    }
    let expected_check = fs::read_to_string(&check_path).unwrap_or_default();
    if check.stdout != expected_check {
        problems.push(format!(
            "check output differs from {}:\n{}",
            check_path.display(),
            line_diff(&expected_check, &check.stdout)
        ));
    }
    let expected_fixed = fs::read_to_string(&fixed_path).unwrap_or_else(|_| input.clone());
    if fixed != expected_fixed {
        problems.push(format!("fix output differs from the expected output:\n{}", line_diff(&expected_fixed, &fixed)));
    }
    if fixed != input
        && let Some(Err(error)) = python_compiles(&fixed)
    {
        problems.push(format!("fixed output does not compile:\n{error}"));
    }
    let again = run(&as_refs(&args("fix")), &fixed);
    if again.stdout != fixed {
        problems.push(format!("a second fix changed the output:\n{}", line_diff(&fixed, &again.stdout)));
    }
    if let Err(message) = changes_stay_in_sites(&input, &fixed, &as_refs(&args("check"))) {
        problems.push(message);
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// Every change lies inside a site `check` reported, or adds the wrapper's import.
fn changes_stay_in_sites(input: &str, fixed: &str, check_args: &[&str]) -> Result<(), String> {
    let mut json_args = check_args.to_vec();
    json_args.extend(["--output-format", "json"]);
    let report = run(&json_args, input);
    let sites: serde_json::Value = serde_json::from_str(&report.stdout).map_err(|err| format!("bad JSON: {err}"))?;
    let line_starts: Vec<usize> = std::iter::once(0).chain(input.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = |position: &serde_json::Value| -> usize {
        let line = position["line"].as_u64().unwrap() as usize;
        let column = position["column"].as_u64().unwrap() as usize;
        let start = line_starts[line - 1];
        start + input[start..].chars().take(column - 1).map(char::len_utf8).sum::<usize>()
    };
    // A site's own range, and the ranges its fix declares it edits (an
    // option added to the query that loaded an object, lines away).
    let ranges: Vec<(usize, usize)> = sites
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|site| {
            let edits = site["edits"].as_array().cloned().unwrap_or_default();
            std::iter::once((offset(&site["location"]), offset(&site["end_location"])))
                .chain(edits.iter().map(|edit| (offset(&edit["location"]), offset(&edit["end_location"]) + 1)))
                .collect::<Vec<_>>()
        })
        .collect();
    // Line by line: a changed line must overlap a site or be an import line.
    let old_lines: Vec<&str> = input.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = fixed.split_inclusive('\n').collect();
    let is_import_line = |line: &str| {
        let line = line.trim_start();
        // `from m import x`, or a name added to a parenthesised import list.
        line.starts_with("from ") || line.starts_with("import ") || {
            let name = line.trim_end().trim_end_matches(',');
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        }
    };
    let diff = similar::TextDiff::from_lines(input, fixed);
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        for line in op.old_range() {
            let start = line_starts[line];
            let end = start + old_lines[line].len();
            let in_site = ranges.iter().any(|&(site_start, site_end)| site_start < end && start < site_end);
            if !in_site && !is_import_line(old_lines[line]) {
                return Err(format!("line {} changed outside every reported site: {:?}", line + 1, old_lines[line]));
            }
        }
        if op.old_range().is_empty() {
            for line in op.new_range() {
                // Whole statements are inserted by the SQLAlchemy fixes only.
                let inserted_statement = ["await ", ".scalars()", ".scalar_one_or_none()"]
                    .iter()
                    .any(|marker| new_lines[line].contains(marker));
                if !is_import_line(new_lines[line]) && !inserted_statement {
                    return Err(format!("a line was inserted that is not an import: {:?}", new_lines[line]));
                }
            }
        }
    }
    Ok(())
}

fn line_diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual).unified_diff().header("expected", "actual").to_string()
}
