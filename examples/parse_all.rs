//! Baselines for `bench/run.sh`: walks directories the way asyncfix does
//! (the `ignore` crate, `.gitignore` respected in a git checkout or not,
//! hidden folders, `__pycache__`, `node_modules`, `site-packages` and
//! virtualenvs skipped) and parses every `.py` file with tree-sitter-python,
//! one parser per rayon thread.
//!
//! ```text
//! cargo run --release --example parse_all -- [OPTIONS] PATH...
//!   --threads N          worker threads (default: one per core)
//!   --read-only          walk and read every file, parse nothing ("walk+read")
//!   --files-from LIST    take the files from LIST (one path a line) instead of walking
//!   --parse-only LIST    read every file, parse only those listed in LIST (one path a line)
//!   --list               print each file walked (or read from LIST) to stdout, then stop
//!   --slowest N          also print the N files that took longest to parse, to stderr
//! ```
//!
//! Prints one summary line to stderr:
//! `files=N bytes=B parsed=P parse_errors=E read_errors=R`.

#![allow(clippy::print_stderr)] // a command-line tool: its report goes to stderr

use std::cell::RefCell;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ignore::WalkBuilder;
use rayon::prelude::*;
use tree_sitter::Parser;

/// The folders asyncfix never walks into (see `src/walk.rs`).
const SKIPPED_DIRS: [&str; 4] = ["__pycache__", "node_modules", "site-packages", "venv"];

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("grammar matches the tree-sitter ABI");
        parser
    });
}

struct Options {
    threads: usize,
    read_only: bool,
    files_from: Option<PathBuf>,
    parse_only: Option<PathBuf>,
    list: bool,
    slowest: usize,
    paths: Vec<PathBuf>,
}

fn usage(message: &str) -> ! {
    eprintln!("parse_all: {message}");
    eprintln!(
        "usage: parse_all [--threads N] [--read-only] [--files-from LIST] [--parse-only LIST] [--list] [--slowest N] PATH..."
    );
    std::process::exit(2);
}

fn options() -> Options {
    let mut options = Options {
        threads: 0,
        read_only: false,
        files_from: None,
        parse_only: None,
        list: false,
        slowest: 0,
        paths: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" | "-j" => {
                let value = args.next().unwrap_or_else(|| usage("--threads needs a number"));
                options.threads = value.parse().unwrap_or_else(|_| usage("--threads needs a number"));
            }
            "--read-only" => options.read_only = true,
            "--files-from" => {
                options.files_from = Some(args.next().unwrap_or_else(|| usage("--files-from needs a file")).into());
            }
            "--parse-only" => {
                options.parse_only = Some(args.next().unwrap_or_else(|| usage("--parse-only needs a file")).into());
            }
            "--list" => options.list = true,
            "--slowest" => {
                let value = args.next().unwrap_or_else(|| usage("--slowest needs a number"));
                options.slowest = value.parse().unwrap_or_else(|_| usage("--slowest needs a number"));
            }
            "-h" | "--help" => usage("help"),
            _ if arg.starts_with('-') && arg != "-" => usage(&format!("unknown option {arg}")),
            _ => options.paths.push(arg.into()),
        }
    }
    if options.paths.is_empty() && options.files_from.is_none() {
        usage("no PATH and no --files-from");
    }
    options
}

fn is_skipped_dir(path: &Path) -> bool {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
    SKIPPED_DIRS.contains(&name) || path.join("pyvenv.cfg").exists()
}

fn walk(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        let walker = WalkBuilder::new(path)
            .require_git(false)
            .filter_entry(|entry| {
                entry.depth() == 0
                    || !(entry.file_type().is_some_and(|kind| kind.is_dir()) && is_skipped_dir(entry.path()))
            })
            .build();
        for entry in walker.flatten() {
            if entry.file_type().is_some_and(|kind| kind.is_file())
                && entry.path().extension().is_some_and(|ext| ext == "py")
            {
                files.push(entry.into_path());
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

/// The paths listed in a file, one a line.
fn read_list(list: &Path) -> Vec<PathBuf> {
    let handle = std::fs::File::open(list).unwrap_or_else(|err| usage(&format!("{}: {err}", list.display())));
    std::io::BufReader::new(handle)
        .lines()
        .map_while(Result::ok)
        .filter(|line| !line.is_empty())
        .map(PathBuf::from)
        .collect()
}

fn main() {
    let options = options();
    let mut files = options.files_from.as_deref().map(read_list).unwrap_or_default();
    files.extend(walk(&options.paths));
    if options.list {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        for file in &files {
            let _ = writeln!(out, "{}", file.display());
        }
        return;
    }

    let pool = rayon::ThreadPoolBuilder::new().num_threads(options.threads).build().expect("worker threads");
    let bytes = AtomicUsize::new(0);
    let parsed = AtomicUsize::new(0);
    let parse_errors = AtomicUsize::new(0);
    let read_errors = AtomicUsize::new(0);
    let parse_only: Option<std::collections::HashSet<PathBuf>> =
        options.parse_only.as_deref().map(|list| read_list(list).into_iter().collect());
    // Parse time per file, kept only with --slowest.
    let timings: Vec<(Duration, &PathBuf)> = pool.install(|| {
        files
            .par_iter()
            .filter_map(|path| {
                let Ok(source) = std::fs::read(path) else {
                    read_errors.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                bytes.fetch_add(source.len(), Ordering::Relaxed);
                if options.read_only {
                    return None;
                }
                if parse_only.as_ref().is_some_and(|only| !only.contains(path)) {
                    return None;
                }
                let start = Instant::now();
                let tree = PARSER.with(|parser| parser.borrow_mut().parse(&source, None));
                let elapsed = start.elapsed();
                parsed.fetch_add(1, Ordering::Relaxed);
                if tree.is_none_or(|tree| tree.root_node().has_error()) {
                    parse_errors.fetch_add(1, Ordering::Relaxed);
                }
                (options.slowest > 0).then_some((elapsed, path))
            })
            .collect()
    });
    if options.slowest > 0 {
        let mut timings = timings;
        timings.sort_unstable_by_key(|&(elapsed, _)| std::cmp::Reverse(elapsed));
        for (elapsed, path) in timings.iter().take(options.slowest) {
            eprintln!("{:>10.3} ms  {}", elapsed.as_secs_f64() * 1000.0, path.display());
        }
    }
    eprintln!(
        "files={} bytes={} parsed={} parse_errors={} read_errors={}",
        files.len(),
        bytes.into_inner(),
        parsed.into_inner(),
        parse_errors.into_inner(),
        read_errors.into_inner()
    );
}
