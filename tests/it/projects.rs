//! Every `fixtures/projects/NAME/` is a whole project: `input/` is copied to
//! a temp dir, `check` must print `check.txt` (paths relative to the
//! project), `fix` must turn it into `expected/` file for file, a second
//! `fix` must change nothing, and every file `fix` wrote must compile.
//! `check --full-index` (every module parsed) must print the same as the
//! demand-driven index. An optional `args.txt` holds extra arguments.
//!
//! `UPDATE_FIXTURES=1 cargo test` rewrites `check.txt` and `expected/`.

use std::fs;
use std::path::{Path, PathBuf};

use super::support::{as_refs, python_compiles, run};

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

fn copy_tree(from: &Path, to: &Path) {
    for relative in files_under(from) {
        let target = to.join(&relative);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(from.join(&relative), target).unwrap();
    }
}

#[test]
fn projects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects");
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut names: Vec<PathBuf> = fs::read_dir(&root).unwrap().map(|entry| entry.unwrap().path()).collect();
    names.sort();
    assert!(!names.is_empty());
    let mut failures = Vec::new();
    for project in &names {
        if let Err(message) = run_project(project, update) {
            failures.push(format!("{}:\n{message}", project.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn run_project(project: &Path, update: bool) -> Result<(), String> {
    let temp = tempfile::tempdir().unwrap();
    let work = temp.path().join("project");
    copy_tree(&project.join("input"), &work);
    let extra: Vec<String> = fs::read_to_string(project.join("args.txt"))
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let work_text = work.display().to_string();
    let args = |command: &str| -> Vec<String> {
        let mut args = vec![command.to_owned(), work_text.clone(), "--color".to_owned(), "never".to_owned()];
        args.extend(extra.iter().cloned());
        args
    };
    let relative = |text: &str| text.replace(&format!("{work_text}/"), "");

    let check = run(&as_refs(&args("check")), "");
    if check.code == 2 {
        return Err(format!("check failed: {}", check.stderr));
    }
    let check_text = relative(&check.stdout);
    let check_path = project.join("check.txt");
    if update {
        fs::write(&check_path, &check_text).unwrap();
    }
    let mut problems = Vec::new();
    if check_text != fs::read_to_string(&check_path).unwrap_or_default() {
        problems.push(format!("check output differs from check.txt:\n{check_text}"));
    }
    // Parsing only what async code reaches must find what parsing everything finds.
    let mut full_args = args("check");
    full_args.push("--full-index".to_owned());
    let full = run(&as_refs(&full_args), "");
    if full.stdout != check.stdout {
        problems.push(format!("--full-index finds something else:\n{}", relative(&full.stdout)));
    }

    let fix = run(&as_refs(&args("fix")), "");
    if fix.code == 2 {
        return Err(format!("fix failed: {}", fix.stderr));
    }
    let expected_root = project.join("expected");
    if update {
        let _ = fs::remove_dir_all(&expected_root);
        copy_tree(&work, &expected_root);
    }
    let actual_files = files_under(&work);
    if actual_files != files_under(&expected_root) {
        problems.push("the files after fix are not those in expected/".to_owned());
    }
    for relative_path in &actual_files {
        let actual = fs::read_to_string(work.join(relative_path)).unwrap();
        let expected = fs::read_to_string(expected_root.join(relative_path)).unwrap_or_default();
        let input = fs::read_to_string(project.join("input").join(relative_path)).unwrap_or_default();
        if actual != expected {
            let diff = similar::TextDiff::from_lines(&expected, &actual)
                .unified_diff()
                .header("expected", "actual")
                .to_string();
            problems.push(format!("{}:\n{diff}", relative_path.display()));
        }
        if actual != input
            && let Some(Err(error)) = python_compiles(&actual)
        {
            problems.push(format!("{} does not compile after fix:\n{error}", relative_path.display()));
        }
    }
    let before_second: Vec<String> =
        actual_files.iter().map(|path| fs::read_to_string(work.join(path)).unwrap()).collect();
    let again = run(&as_refs(&args("fix")), "");
    let after_second: Vec<String> =
        actual_files.iter().map(|path| fs::read_to_string(work.join(path)).unwrap()).collect();
    if before_second != after_second {
        problems.push(format!("a second fix changed files:\n{}", again.stdout));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}
