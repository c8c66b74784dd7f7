//! File discovery: `ignore` walks directories on every worker thread
//! (respecting `.gitignore`, in a git checkout or not, skipping hidden
//! folders and virtualenvs); files named on the command line are always kept.
//! A file reached twice (through `..`, a symlink, or a folder and its own
//! name) is processed once. Symbolic links met while walking are not
//! followed (no loops, no files outside the tree) and are named in a note.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;

/// An `--exclude` pattern that is not a valid glob.
#[derive(Debug, thiserror::Error)]
pub enum ExcludeError {
    #[error("invalid --exclude glob `{glob}`: {reason}")]
    Glob { glob: String, reason: String },
    #[error("invalid --exclude globs: {0}")]
    Set(String),
}

/// Folders never worth walking into, beyond hidden ones.
const SKIPPED_DIRS: [&str; 4] = ["__pycache__", "node_modules", "site-packages", "venv"];

/// The files to process, sorted and without duplicates, the errors met, and
/// the symbolic links left unfollowed (to folders or to `.py` names).
pub struct Discovered {
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
    pub unfollowed: Vec<PathBuf>,
}

/// `--exclude` globs, matched against absolute paths: a glob without `/`
/// matches a file or folder name anywhere; a relative glob with `/` matches
/// below the current directory or at any depth; an absolute glob as written.
pub struct Excludes {
    set: GlobSet,
}

impl Excludes {
    pub fn new(globs: &[String]) -> Result<Self, ExcludeError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut builder = GlobSetBuilder::new();
        for glob in globs {
            let trimmed = glob.trim_end_matches('/');
            let patterns: Vec<String> = if !trimmed.contains('/') {
                vec![format!("**/{trimmed}"), format!("**/{trimmed}/**")]
            } else if Path::new(trimmed).is_absolute() {
                vec![trimmed.to_owned(), format!("{trimmed}/**")]
            } else {
                let relative = trimmed.trim_start_matches("./");
                let anchored = cwd.join(relative).display().to_string();
                vec![anchored.clone(), format!("{anchored}/**"), format!("**/{relative}"), format!("**/{relative}/**")]
            };
            for pattern in patterns {
                let compiled = Glob::new(&pattern)
                    .map_err(|err| ExcludeError::Glob { glob: glob.clone(), reason: err.kind().to_string() })?;
                builder.add(compiled);
            }
        }
        let set = builder.build().map_err(|err| ExcludeError::Set(err.to_string()))?;
        Ok(Self { set })
    }

    pub fn matches(&self, path: &Path) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.set.is_match(&absolute)
    }
}

pub fn discover(paths: &[PathBuf], excludes: &[String]) -> Result<Discovered, ExcludeError> {
    let excludes = Excludes::new(excludes)?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut unfollowed = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        if !path.exists() {
            errors.push(format!("{}: no such file or directory", path.display()));
            continue;
        }
        // Directory reads overlap on every core; the order is restored by the sort below.
        let found = std::sync::Mutex::new((Vec::new(), Vec::new(), Vec::new()));
        let excludes = &excludes;
        WalkBuilder::new(path)
            .require_git(false)
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
                if entry.depth() == 0 {
                    return true;
                }
                !(is_dir && is_skipped_dir(entry.path()))
            })
            .threads(rayon::current_num_threads())
            .build_parallel()
            .run(|| {
                let found = &found;
                Box::new(move |entry| {
                    let mut found = found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match entry {
                        Ok(entry) => {
                            let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                            let is_python = entry.path().extension().is_some_and(|ext| ext == "py");
                            let kept = !excludes.matches(entry.path());
                            if kept && is_file && is_python {
                                found.0.push(entry.into_path());
                            } else if kept && entry.path_is_symlink() && (is_python || entry.path().is_dir()) {
                                found.2.push(entry.into_path());
                            }
                        }
                        Err(err) => found.1.push(err.to_string()),
                    }
                    ignore::WalkState::Continue
                })
            });
        let (walked, mut walk_errors, mut links) =
            found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        walk_errors.sort();
        links.sort();
        files.extend(walked);
        errors.extend(walk_errors);
        unfollowed.extend(links);
    }
    files.sort();
    // One folder walked without following links yields each file once; only
    // several paths can name a file twice.
    if paths.len() > 1 {
        let mut seen = HashSet::new();
        files.retain(|path| seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())));
    }
    Ok(Discovered { files, errors, unfollowed })
}

fn is_skipped_dir(path: &Path) -> bool {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
    // A virtualenv of any name holds `pyvenv.cfg`.
    SKIPPED_DIRS.contains(&name) || path.join("pyvenv.cfg").exists()
}
