//! File discovery: `ignore` walks directories (respecting `.gitignore`,
//! skipping hidden folders and virtualenvs); explicit files are always kept.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;

/// Folders never worth walking into, beyond hidden ones.
const SKIPPED_DIRS: [&str; 4] = ["__pycache__", "node_modules", "site-packages", "venv"];

/// The files to process, sorted and without duplicates, and the errors met.
pub struct Discovered {
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

pub fn discover(paths: &[PathBuf], excludes: &[String]) -> Result<Discovered, String> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let overrides = {
        let mut builder = OverrideBuilder::new(std::env::current_dir().unwrap_or_default());
        for glob in excludes {
            builder.add(&format!("!{glob}")).map_err(|err| format!("invalid --exclude glob `{glob}`: {err}"))?;
        }
        builder.build().map_err(|err| format!("invalid --exclude globs: {err}"))?
    };
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        if !path.exists() {
            errors.push(format!("{}: no such file or directory", path.display()));
            continue;
        }
        let walker = WalkBuilder::new(path)
            .overrides(overrides.clone())
            .filter_entry(|entry| {
                let is_dir = entry.file_type().is_some_and(|kind| kind.is_dir());
                !(is_dir && entry.depth() > 0 && is_skipped_dir(entry.path()))
            })
            .build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                    if is_file && entry.path().extension().is_some_and(|ext| ext == "py") {
                        files.push(entry.into_path());
                    }
                }
                Err(err) => errors.push(err.to_string()),
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(Discovered { files, errors })
}

fn is_skipped_dir(path: &Path) -> bool {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
    // A virtualenv of any name holds `pyvenv.cfg`.
    SKIPPED_DIRS.contains(&name) || path.join("pyvenv.cfg").exists()
}
