//! Installed packages the index may read: the project's helpers and models
//! often live in a dependency (a test mixin of `openwisp_users`, the models
//! of a reusable app), and what they do is only known by reading them.
//!
//! A folder of installed packages is one given with `--site-packages`, or
//! the `site-packages` of a virtualenv inside a project root (`.venv`,
//! `venv`, `env`: the folders `uv`, Poetry and `python -m venv` make).
//! Only the top-level packages the project imports (and, in turn, what those
//! import) are listed; the packages the recipes describe (Django, DRF,
//! Channels...) never are. Their files are indexed, never checked or fixed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Folder names of virtualenvs inside a project root.
const VENV_NAMES: [&str; 3] = [".venv", "venv", "env"];

/// Most library files listed in one run: a bound on what a mistaken
/// `--site-packages` (a whole distribution's worth) can cost.
pub const MAX_LIBRARY_FILES: usize = 20_000;

/// The folders of installed packages for a run: `explicit` ones, then the
/// `site-packages` of each virtualenv found in `project_roots`.
pub fn folders(explicit: &[PathBuf], project_roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = explicit.iter().map(|dir| canonical(dir)).collect();
    for root in project_roots {
        for name in VENV_NAMES {
            let venv = root.join(name);
            if venv.join("pyvenv.cfg").is_file() {
                found.extend(venv_site_packages(&venv));
            }
        }
    }
    let mut seen = HashSet::new();
    found.retain(|dir| dir.is_dir() && seen.insert(dir.clone()));
    found
}

/// `lib/python3.X/site-packages` (POSIX) or `Lib/site-packages` (Windows).
fn venv_site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(venv.join("lib")) {
        let mut versions: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|n| n.starts_with("python")))
            .map(|path| path.join("site-packages"))
            .collect();
        versions.sort();
        found.extend(versions.into_iter().map(|dir| canonical(&dir)));
    }
    found.push(canonical(&venv.join("Lib").join("site-packages")));
    found
}

/// The Python files of the installed top-level package or module `name`,
/// from the first folder that has it, with that folder.
pub fn package_files(folders: &[PathBuf], name: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    for folder in folders {
        let package = folder.join(name);
        if package.join("__init__.py").is_file() {
            let mut files = Vec::new();
            collect_python(&package, &mut files);
            files.sort();
            return Some((folder.clone(), files));
        }
        let module = folder.join(format!("{name}.py"));
        if module.is_file() {
            return Some((folder.clone(), vec![module]));
        }
    }
    None
}

/// Every `.py` file under `dir`, links not followed.
fn collect_python(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() && path.file_name().is_some_and(|name| name != "__pycache__") {
            collect_python(&path, files);
        } else if kind.is_file() && path.extension().is_some_and(|extension| extension == "py") {
            files.push(path);
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
