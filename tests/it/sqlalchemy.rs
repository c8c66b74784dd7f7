//! `SQLAlchemy` end to end. Seed 004 (`fixtures/projects/sqlalchemy_seed`)
//! and the service shapes of real code (`fixtures/projects/sqlalchemy_runtime`:
//! a service holding `self.session`, a repository returning objects, a
//! service holding the repository (only the call's `options=` loads), a
//! statement variable with `.unique()`, a `@declared_attr` relationship, an
//! `expire_on_commit=False` dependency, and the shapes a plain query would
//! get wrong) are fixed with each `--sqlalchemy-fix` style, compared with
//! `expected/` (explicit) or `expected-STYLE/`, and run against `SQLite`
//! through `aiosqlite`: before the fix the sites raise `MissingGreenlet`,
//! after it they return what the synchronous ORM would.
//!
//! The runtime half needs a Python with `sqlalchemy` and `aiosqlite`:
//! `ASYNCFIX_SQLALCHEMY_PYTHON` names it (`.ci/run` sets it up); without it
//! the runtime half is skipped locally and fails under CI.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{compare_fixed_tree, run};

fn fixture() -> PathBuf {
    project_fixture("sqlalchemy_seed")
}

fn project_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects").join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// The interpreter for the runtime check, or `None` to skip it.
fn python() -> Option<String> {
    if let Some(python) = std::env::var_os("ASYNCFIX_SQLALCHEMY_PYTHON") {
        return Some(python.to_string_lossy().into_owned());
    }
    let usable = Command::new("python3")
        .args(["-c", "import sqlalchemy, aiosqlite, greenlet"])
        .status()
        .is_ok_and(|status| status.success());
    if usable {
        return Some("python3".to_owned());
    }
    assert!(std::env::var_os("CI").is_none(), "CI must set ASYNCFIX_SQLALCHEMY_PYTHON (see .ci/run)");
    None
}

fn runtime_check(python: &str, project: &Path) -> (bool, String) {
    let output = Command::new(python).arg(fixture().join("runtime_check.py")).arg(project).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn seed_004_is_fixed_in_every_style_and_the_fixed_code_runs() {
    let python = python();
    if let Some(python) = &python {
        let (ok, stdout) = runtime_check(python, &fixture().join("input"));
        assert!(!ok, "the unfixed project must fail:\n{stdout}");
        assert!(stdout.contains("signup: MissingGreenlet") && stdout.contains("login: MissingGreenlet"), "{stdout}");
    }
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for style in ["explicit", "selectinload", "refresh"] {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        fs::create_dir_all(&project).unwrap();
        copy_tree(&fixture().join("input"), &project);
        let output = run(&["fix", project.to_str().unwrap(), "--sqlalchemy-fix", style], "");
        assert_eq!(output.code, 0, "{style}: {}{}", output.stdout, output.stderr);
        // The default style's output is the project fixture's own `expected/`.
        let expected =
            if style == "explicit" { fixture().join("expected") } else { fixture().join(format!("expected-{style}")) };
        let problems = compare_fixed_tree(&project, &fixture().join("input"), &expected, update);
        assert!(problems.is_empty(), "{style}:\n{}", problems.join("\n"));
        let again = run(&["fix", project.to_str().unwrap(), "--sqlalchemy-fix", style], "");
        assert_eq!(again.stdout, "Fixed 0 sites in 0 files.\n", "{style}: a second fix changed something");
        if let Some(python) = &python {
            let (ok, stdout) = runtime_check(python, &project);
            assert!(ok, "{style}: the fixed project must run:\n{stdout}");
            assert!(
                stdout.contains("signup: ok role_profiles=2") && stdout.contains("login: ok role_profiles=2"),
                "{stdout}"
            );
        }
    }
}

/// What `runtime_check.py` prints for the services, before and after the
/// fix: every site fixed runs and gives what the synchronous ORM gives;
/// the shapes reported without a fix (reads in several branches, in a
/// `try`, guarded, in an `elif` condition) still raise, and
/// `no-fix.txt` says why.
const SERVICES_BEFORE: &str = "service_roster: MissingGreenlet
roster_service: MissingGreenlet
repository_roster: MissingGreenlet
repository_loaded: ok
league_table: MissingGreenlet
coach_team: MissingGreenlet
rename: ok
sign: MissingGreenlet
first_player: MissingGreenlet
first_player missing: ok
in_branches: MissingGreenlet
in_branches skipped: MissingGreenlet
coach_names: MissingGreenlet
release: MissingGreenlet
drop: MissingGreenlet
replace_roster: MissingGreenlet
replace_if_full: MissingGreenlet
transfer: ok
in_try: MissingGreenlet
in_loop: MissingGreenlet
loop_only: MissingGreenlet
guarded_if: MissingGreenlet
guarded_if missing: ok
player_team: MissingGreenlet
player_team missing: ok
release_all: MissingGreenlet
elif_count: MissingGreenlet
player_set: MissingGreenlet
a_players: MissingGreenlet
sponsor_names: MissingGreenlet
";

const SERVICES_AFTER: &str = "service_roster: ok
roster_service: ok
repository_roster: ok
repository_loaded: ok
league_table: ok
coach_team: ok
rename: ok
sign: ok
first_player: ok
first_player missing: ok
in_branches: MissingGreenlet
in_branches skipped: MissingGreenlet
coach_names: ok
release: ok
drop: ok
replace_roster: ok
replace_if_full: ok
transfer: ok
in_try: MissingGreenlet
in_loop: ok
loop_only: ok
guarded_if: ok
guarded_if missing: ok
player_team: MissingGreenlet
player_team missing: ok
release_all: ok
elif_count: MissingGreenlet
player_set: ok
a_players: ok
sponsor_names: ok
";

/// `path:line:col: CODE reason` for each site `check` reports without a fix.
fn no_fix_reasons(project: &Path, style: &str) -> String {
    let project_arg = project.to_str().unwrap();
    let output = run(&["check", project_arg, "--no-cache", "--output-format", "json", "--sqlalchemy-fix", style], "");
    let sites: Vec<serde_json::Value> = serde_json::from_str(&output.stdout).unwrap();
    let mut lines = String::new();
    for site in sites.iter().filter(|site| site["fix"].is_null()) {
        let path = Path::new(site["path"].as_str().unwrap());
        let relative = path.strip_prefix(project).unwrap_or(path).to_string_lossy().replace('\\', "/");
        writeln!(
            lines,
            "{relative}:{}:{}: {} {}",
            site["location"]["line"],
            site["location"]["column"],
            site["code"].as_str().unwrap(),
            site["no_fix_reason"].as_str().unwrap()
        )
        .unwrap();
    }
    lines
}

fn services_run(python: &str, project: &Path) -> String {
    let script = project_fixture("sqlalchemy_runtime").join("runtime_check.py");
    let output = Command::new(python).arg(script).arg(project).output().unwrap();
    assert!(output.status.success(), "runtime_check.py failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn service_shapes_are_fixed_in_every_style_and_the_fixed_code_runs() {
    let fixture = project_fixture("sqlalchemy_runtime");
    let python = python();
    if let Some(python) = &python {
        assert_eq!(services_run(python, &fixture.join("input")), SERVICES_BEFORE);
    }
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for style in ["explicit", "selectinload", "refresh"] {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        fs::create_dir_all(&project).unwrap();
        copy_tree(&fixture.join("input"), &project);
        let reasons = no_fix_reasons(&project, style);
        let expected_reasons = fixture.join("no-fix.txt");
        if update {
            fs::write(&expected_reasons, &reasons).unwrap();
        }
        assert_eq!(reasons, fs::read_to_string(&expected_reasons).unwrap(), "{style}: why sites are not fixed");
        let output = run(&["fix", project.to_str().unwrap(), "--sqlalchemy-fix", style], "");
        assert_eq!(output.code, 1, "{style}: {}{}", output.stdout, output.stderr);
        let expected =
            if style == "explicit" { fixture.join("expected") } else { fixture.join(format!("expected-{style}")) };
        let problems = compare_fixed_tree(&project, &fixture.join("input"), &expected, update);
        assert!(problems.is_empty(), "{style}:\n{}", problems.join("\n"));
        let again = run(&["fix", project.to_str().unwrap(), "--sqlalchemy-fix", style], "");
        assert!(
            again.stdout.contains("Fixed 0 sites in 0 files"),
            "{style}: a second fix changed something: {}",
            again.stdout
        );
        if let Some(python) = &python {
            assert_eq!(services_run(python, &project), SERVICES_AFTER, "{style}");
        }
    }
}
