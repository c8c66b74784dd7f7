//! Running the CLI in-process, checking Python syntax, and temporary projects.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct Output {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `asyncfix ARGS` in-process with `stdin` as standard input.
pub fn run(args: &[&str], stdin: &str) -> Output {
    let (code, stdout, stderr) = run_bytes(args, stdin.as_bytes());
    Output { code, stdout: String::from_utf8(stdout).unwrap(), stderr }
}

/// `asyncfix ARGS` with raw bytes on standard input: (exit code, stdout, stderr).
pub fn run_bytes(args: &[&str], stdin: &[u8]) -> (u8, Vec<u8>, String) {
    let mut input = stdin;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut streams = asyncfix::Streams {
        stdin: &mut input,
        stdout: &mut stdout,
        stderr: &mut stderr,
        stdout_is_terminal: false,
        stderr_is_terminal: false,
        stdin_is_terminal: false,
    };
    let code = asyncfix::run(std::iter::once("asyncfix").chain(args.iter().copied()), &mut streams);
    (code, stdout, String::from_utf8_lossy(&stderr).into_owned())
}

/// Whether `CPython` compiles the text; `None` when there is no `python3`
/// on a developer's machine. Under CI (`CI` set), where `.ci/run` installs
/// it, a missing `python3` fails the test instead of skipping the check.
pub fn python_compiles(text: &str) -> Option<Result<(), String>> {
    let spawned = Command::new("python3")
        .args(["-c", "import sys; compile(sys.stdin.buffer.read(), '<fixture>', 'exec')"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) if std::env::var_os("CI").is_some() => panic!("CI must have python3 to check fixed output: {err}"),
        Err(_) => return None,
    };
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    Some(if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) })
}

/// The Python with Django 5.2 (and DRF, simplejwt, channels) that the
/// runtime tests run code with: `ASYNCFIX_DJANGO_PYTHON`, which `.ci/run`
/// sets. `None` skips the runtime half on a developer's machine; under CI
/// (`CI` set) a missing variable fails the test.
pub fn django_python() -> Option<String> {
    if let Some(python) = std::env::var_os("ASYNCFIX_DJANGO_PYTHON") {
        return Some(python.to_string_lossy().into_owned());
    }
    assert!(std::env::var_os("CI").is_none(), "CI must set ASYNCFIX_DJANGO_PYTHON (see .ci/run)");
    None
}

/// `&[String]` as the `&[&str]` that [`run`] takes.
pub fn as_refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Every file below `root`, relative to it, sorted.
pub fn files_under(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
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

/// Compares a fixed tree with its input and an `expected` tree that holds
/// only the files the fix changes; with `update`, rewrites `expected`.
/// Returns the differences found.
pub fn compare_fixed_tree(
    work: &std::path::Path,
    input: &std::path::Path,
    expected: &std::path::Path,
    update: bool,
) -> Vec<String> {
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    if update {
        let _ = std::fs::remove_dir_all(expected);
        for relative in files_under(work) {
            let fixed = read(work.join(&relative));
            if fixed != read(input.join(&relative)) {
                let target = expected.join(&relative);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(target, fixed).unwrap();
            }
        }
    }
    let mut problems = Vec::new();
    if files_under(work) != files_under(input) {
        problems.push("fix added or removed files".to_owned());
    }
    for relative in files_under(expected) {
        if !work.join(&relative).exists() {
            problems.push(format!("{}: expected a fixed file that fix did not produce", relative.display()));
        }
    }
    for relative in files_under(work) {
        let actual = read(work.join(&relative));
        let expected_path = expected.join(&relative);
        let wanted = if expected_path.exists() { read(expected_path) } else { read(input.join(&relative)) };
        if actual != wanted {
            let diff =
                similar::TextDiff::from_lines(&wanted, &actual).unified_diff().header("expected", "actual").to_string();
            problems.push(format!("{}:\n{diff}", relative.display()));
        }
        if actual != read(input.join(&relative))
            && let Some(Err(error)) = python_compiles(&actual)
        {
            problems.push(format!("{} does not compile after fix:\n{error}", relative.display()));
        }
    }
    problems
}

/// A temporary project directory. Not hidden (`tempdir()` names start with a
/// dot), so walking it behaves like walking a real project.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("asyncfix-test-").tempdir().unwrap() }
    }

    /// The project directory itself, as an absolute path string.
    pub fn root(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub fn full(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The absolute path of `relative`, as printed by asyncfix.
    pub fn path(&self, relative: &str) -> String {
        self.full(relative).display().to_string()
    }

    /// Writes a file (creating its folders) and returns its absolute path.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.full(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path.display().to_string()
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        fs::read(self.full(relative)).unwrap()
    }

    pub fn read_text(&self, relative: &str) -> String {
        String::from_utf8(self.read(relative)).unwrap()
    }

    /// Every entry name directly in `relative`, sorted.
    pub fn listing(&self, relative: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.full(relative))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// Runs the built `asyncfix` binary in `dir` (so relative paths print
/// relative), with empty standard input, as a user's shell would.
pub fn run_binary(dir: &std::path::Path, args: &[&str]) -> Output {
    let output =
        Command::new(env!("CARGO_BIN_EXE_asyncfix")).args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap();
    Output {
        code: u8::try_from(output.status.code().unwrap()).unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}
