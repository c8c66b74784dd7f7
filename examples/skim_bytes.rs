//! How much of the files with async code the check's parse leaves out
//! (`src/skim.rs`): for each file in LIST (one path a line) that holds
//! `async def`, the bytes the parser reads after skimming.
//!
//! ```sh
//! cd bench/corpus && ../../target/release/examples/skim_bytes results/files.async
//! ```
//!
//! Prints `files=N bytes=B parsed=P skimmed=S` (S: files with a body left out).

#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool: it reports on its streams

use std::path::Path;

fn main() {
    let Some(list) = std::env::args().nth(1) else {
        eprintln!("usage: skim_bytes LIST");
        std::process::exit(2);
    };
    let list = std::fs::read_to_string(&list).unwrap_or_else(|err| {
        eprintln!("{list}: {err}");
        std::process::exit(2);
    });
    let (mut files, mut bytes, mut parsed, mut skimmed) = (0, 0, 0, 0);
    for path in list.lines().map(Path::new) {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        if !asyncfix::scan::may_have_sites(text.as_bytes()) {
            continue;
        }
        files += 1;
        bytes += text.len();
        parsed += match asyncfix::scan::skim::skim(&text, &[]) {
            Some(skim) => {
                skimmed += 1;
                skim.ranges.iter().map(|range| range.end_byte - range.start_byte).sum()
            }
            None => text.len(),
        };
    }
    println!("files={files} bytes={bytes} parsed={parsed} skimmed={skimmed}");
}
