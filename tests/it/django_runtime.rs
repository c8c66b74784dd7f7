//! Seeds 000-003 on a real Django: `fixtures/projects/demo` is fixed (with
//! `--unsafe-fixes`, for the resolver's `root.profile`) with
//! `--target-django 3.2` (every fix a wrapper) and `--target-django 5.2`
//! (native twins: `aget`, `asave`, `aauthenticate`, `acreate_user`, cache
//! `aget`), and its async mutations, resolvers and middleware methods are
//! called in an event loop against `SQLite` (`runtime_check.py`): before the
//! fix every one of them raises `SynchronousOnlyOperation`, after either fix
//! none does.
//!
//! `fixtures/runtime/request_user` does the same for the lazy
//! `request.user` (DJ113) in async views and the synchronous test client
//! (DJ109) in async tests: fixed for 3.2 (wrappers; the async client) and
//! 5.2 (`auser()` where it is a view's only use, `aforce_login`, a test's
//! own `Client()` switched to `AsyncClient()`).
//!
//! The runtime half needs a Python with Django 5.2, djangorestframework-simplejwt
//! and channels: `ASYNCFIX_DJANGO_PYTHON` names it (`.ci/run` sets it up);
//! without it the test is skipped locally and fails under CI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{django_python as python, files_under, run};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/demo")
}

fn request_user() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/runtime/request_user")
}

/// `runtime_check.py` of `fixture` on `project`: whether it passed, and its
/// report (one line per call).
fn runtime_check(python: &str, fixture: &Path, project: &Path) -> (bool, String) {
    let output = Command::new(python).arg(fixture.join("runtime_check.py")).arg(project).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    (output.status.success(), format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

fn copy_input(fixture: &Path, to: &Path) {
    let from = fixture.join("input");
    for relative in files_under(&from) {
        let target = to.join(&relative);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(from.join(&relative), target).unwrap();
    }
}

#[test]
fn seeds_fixed_for_django_3_2_and_5_2_run_on_django() {
    let Some(python) = python() else { return };
    let (ok, report) = runtime_check(&python, &fixture(), &fixture().join("input"));
    assert!(!ok, "the unfixed seeds must fail:\n{report}");
    let calls = report.lines().filter(|line| line.contains("SynchronousOnlyOperation")).count();
    assert!(calls >= 10, "every call must hit SynchronousOnlyOperation before the fix:\n{report}");

    for (version, native) in [("3.2", false), ("5.2", true)] {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        copy_input(&fixture(), &project);
        // The resolver's `root.profile` is the one unsafe fix: the parent
        // resolver that made `root` could have loaded the profile.
        let output = run(&["fix", project.to_str().unwrap(), "--target-django", version, "--unsafe-fixes"], "");
        assert_eq!(output.code, 0, "{version}: {}{}", output.stdout, output.stderr);
        let mutation = fs::read_to_string(project.join("auth/mutation.py")).unwrap();
        assert_eq!(mutation.contains("await user.asave("), native, "{version}:\n{mutation}");
        assert_eq!(mutation.contains("await aauthenticate("), native, "{version}:\n{mutation}");
        let (ok, report) = runtime_check(&python, &fixture(), &project);
        assert!(ok && !report.contains("SynchronousOnlyOperation"), "{version}: the fixed seeds must run:\n{report}");
    }
}

#[test]
fn lazy_request_user_and_test_client_fixed_run_on_django() {
    let Some(python) = python() else { return };
    let fixture = request_user();
    let (ok, report) = runtime_check(&python, &fixture, &fixture.join("input"));
    assert!(!ok, "the unfixed views and tests must fail:\n{report}");
    let calls = report.lines().filter(|line| line.contains("SynchronousOnlyOperation")).count();
    assert_eq!(calls, 8, "every view and test must hit SynchronousOnlyOperation before the fix:\n{report}");

    for (version, native) in [("3.2", false), ("5.2", true)] {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        copy_input(&fixture, &project);
        let output = run(&["fix", project.to_str().unwrap(), "--target-django", version], "");
        assert_eq!(output.code, 0, "{version}: {}{}", output.stdout, output.stderr);
        let views = fs::read_to_string(project.join("shop/views.py")).unwrap();
        assert_eq!(views.contains("(await request.auser()).is_staff"), native, "{version}:\n{views}");
        let tests = fs::read_to_string(project.join("shop/tests.py")).unwrap();
        assert!(tests.contains("await self.async_client.get(\"/count/\")"), "{version}:\n{tests}");
        assert_eq!(tests.contains("await self.async_client.aforce_login(user)"), native, "{version}:\n{tests}");
        assert_eq!(tests.contains("client = AsyncClient()"), native, "{version}:\n{tests}");
        let (ok, report) = runtime_check(&python, &fixture, &project);
        assert!(ok && !report.contains("SynchronousOnlyOperation"), "{version}: the fixed code must run:\n{report}");
    }
}
