//! What clap generates from the command-line definition: shell completion
//! scripts and the manual page, so both always match the flags.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "asyncfix", out);
}

/// The main page on `out`, or every page (`asyncfix.1`, `asyncfix-check.1`,
/// ...) in `dir`.
pub fn man(dir: Option<&Path>, out: &mut dyn Write) -> std::io::Result<()> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)
        }
        None => clap_mangen::Man::new(Cli::command()).render(out),
    }
}
