//! Every `fixtures/projects/NAME/` is a whole project: `input/` is copied to
//! a temp dir, `check` must print `check.txt` (paths relative to the
//! project), `fix` must turn it into `input/` with the files in `expected/`
//! (only the files it changes are kept there), a second
//! `fix` must change nothing, and every file `fix` wrote must compile.
//! `check --full-index` (every module parsed) must print the same as the
//! demand-driven index, `check --full-parse` (no body skimmed) the same too, and `asyncfix index --files` must list what
//! `index-files.txt` lists: the modules the index read, so a test shows
//! what it skips. An optional `args.txt` holds extra arguments, and an
//! optional `base.txt` names another project whose `input/` is copied
//! first, this one's `input/` then laid over it (the same code under
//! another `pyproject.toml`).
//!
//! `UPDATE_FIXTURES=1 cargo test` rewrites `check.txt` and `expected/`.

use std::fs;
use std::path::{Path, PathBuf};

use super::support::{as_refs, compare_fixed_tree, files_under, run};

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
    // The input as a whole: the base project's, with this one's laid over it.
    let input = temp.path().join("input");
    if let Ok(base) = fs::read_to_string(project.join("base.txt")) {
        copy_tree(&project.parent().unwrap().join(base.trim()).join("input"), &input);
    }
    copy_tree(&project.join("input"), &input);
    copy_tree(&input, &work);
    let extra: Vec<String> = fs::read_to_string(project.join("args.txt"))
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let work_text = work.display().to_string();
    let args = |command: &str| -> Vec<String> {
        // No result cache: its folder would join the tree `fix` is compared on.
        let mut args = vec![command.to_owned(), work_text.clone(), "--color".to_owned(), "never".to_owned()];
        args.push("--no-cache".to_owned());
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
    // Skimming the bodies nothing names must not change a finding either.
    let mut full_args = args("check");
    full_args.push("--full-parse".to_owned());
    let full = run(&as_refs(&full_args), "");
    if full.stdout != check.stdout {
        problems.push(format!("--full-parse finds something else:\n{}", relative(&full.stdout)));
    }
    let read = run(&["index", "--files", &work_text], "");
    let canonical_work = format!("{}/", fs::canonicalize(&work).unwrap().display());
    let read_text = relative(&read.stdout).replace(&canonical_work, "");
    let read_path = project.join("index-files.txt");
    if update {
        fs::write(&read_path, &read_text).unwrap();
    }
    if read_text != fs::read_to_string(&read_path).unwrap_or_default() {
        problems.push(format!("the index read other files than index-files.txt lists:\n{read_text}"));
    }

    let fix = run(&as_refs(&args("fix")), "");
    if fix.code == 2 {
        return Err(format!("fix failed: {}", fix.stderr));
    }
    let actual_files = files_under(&work);
    problems.extend(compare_fixed_tree(&work, &input, &project.join("expected"), update));
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
