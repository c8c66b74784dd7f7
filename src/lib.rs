//! asyncfix finds synchronous database calls inside `async def` in Python
//! code and rewrites them to awaited wrapper calls.
//!
//! The run is one pipeline, top to bottom: arguments ([`cli`]) -> settings
//! and recipes ([`settings`], [`recipe`]) -> the command ([`commands`]) ->
//! files ([`walk`]) and the project index ([`project`], [`index`]) -> one
//! file at a time ([`pipeline`]: [`scan`], [`parse`], [`semantic`],
//! [`infer`], [`rules`], [`fix`]) -> printing ([`output`]). Each file is a
//! pure function of its text and the shared read-only
//! [`settings::Settings`], run in parallel with rayon. ARCHITECTURE.md has
//! the whole picture.

pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod files;
pub mod fix;
pub mod index;
pub mod infer;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod project;
pub mod recipe;
pub mod rules;
pub mod scan;
pub mod semantic;
pub mod settings;
pub mod source;
pub mod summary;
pub mod target;
pub mod walk;

use std::io::{Read, Write};

use clap::Parser;

use cli::Cli;
use commands::Failure;

/// Exit status: nothing found, or everything fixed.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: sites found, changes shown, or sites left after `fix`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: a usage, recipe or I/O error.
pub const EXIT_ERROR: u8 = 2;
/// Standard output was closed by its reader: 128 + SIGPIPE, as a shell
/// reports a process the signal ended.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// The process's streams, so tests can run the CLI in-process.
pub struct Streams<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Whether stdout is a terminal (for `--color auto`).
    pub stdout_is_terminal: bool,
    /// Whether stderr is a terminal (for the progress bar).
    pub stderr_is_terminal: bool,
    /// Whether stdin is a terminal (`fix --interactive` asks there).
    pub stdin_is_terminal: bool,
}

/// Runs asyncfix with these arguments (the first is the program name).
pub fn run<I, T>(args: I, streams: &mut Streams<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let rendered = err.render().to_string();
            let code = if err.use_stderr() { EXIT_ERROR } else { EXIT_CLEAN };
            let stream: &mut dyn Write = if err.use_stderr() { streams.stderr } else { streams.stdout };
            let _ = stream.write_all(rendered.as_bytes());
            return code;
        }
    };
    match commands::execute(cli, streams) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            let _ = writeln!(streams.stderr, "asyncfix: {message}");
            EXIT_ERROR
        }
        // The reader went away (`asyncfix check . | head -1`): the shell's
        // status for a process a broken pipe ended, never "clean".
        Err(Failure::BrokenPipe) => EXIT_BROKEN_PIPE,
    }
}
