//! Running the CLI in-process and checking Python syntax.

use std::io::Write;
use std::process::{Command, Stdio};

pub struct Output {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `asyncfix ARGS` in-process with `stdin` as standard input.
pub fn run(args: &[&str], stdin: &str) -> Output {
    let mut input = stdin.as_bytes();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut streams =
        asyncfix::Streams { stdin: &mut input, stdout: &mut stdout, stderr: &mut stderr, stdout_is_terminal: false };
    let code = asyncfix::run(std::iter::once("asyncfix").chain(args.iter().copied()), &mut streams);
    Output { code, stdout: String::from_utf8(stdout).unwrap(), stderr: String::from_utf8(stderr).unwrap() }
}

/// Whether `CPython` compiles the text; `None` when there is no `python3`.
pub fn python_compiles(text: &str) -> Option<Result<(), String>> {
    let mut child = Command::new("python3")
        .args(["-c", "import sys; compile(sys.stdin.buffer.read(), '<fixture>', 'exec')"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    Some(if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) })
}

/// `&[String]` as the `&[&str]` that [`run`] takes.
pub fn as_refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
