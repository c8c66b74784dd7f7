//! The result cache: `check` run again on a tree where nothing it reads has
//! changed prints the last run's findings without reading or parsing a
//! file. Kept in `.asyncfix_cache/` at the top of the first path's project
//! (as Ruff keeps `.ruff_cache/`), one file per command line.
//!
//! A site in one file can come from another (a helper's body, a model's
//! relations, a session factory), so the cache is kept for the run as a
//! whole: it is used only when the fingerprint of everything the run would
//! read is the one it was written under, and any change makes the next run
//! a cold one. The fingerprint holds, each by size and modification time
//! (what Ruff's cache compares too): every Python file of the paths and of
//! their projects, the files beside each path and each of its folders up to
//! the root (configuration, requirements and lock files), the recipe files,
//! and the installed-package folders the index reads; then the command
//! line, the working folder, the configuration as merged, and the asyncfix
//! binary itself.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::output::Located;
use crate::pipeline::{FileErrorKind, FileResult};

/// The folder the cache lives in, under a project's top folder.
pub const FOLDER: &str = ".asyncfix_cache";

/// Bumped when what a cache file holds changes shape.
const FORMAT: &str = "asyncfix result cache 1";

/// One command line's cache file, and the fingerprint of this run's inputs.
pub struct ResultCache {
    file: PathBuf,
    fingerprint: String,
}

/// What the cache keeps of a file's result: what `check` prints.
#[derive(Serialize, Deserialize)]
struct CachedFile {
    path: String,
    display: String,
    sites: Vec<Located>,
    /// A syntax error (an I/O error is never cached: it may pass).
    syntax_error: Option<String>,
    warnings: Vec<String>,
    bom: bool,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    fingerprint: String,
    files: Vec<CachedFile>,
}

/// What the fingerprint covers besides the Python files.
pub struct Inputs<'a> {
    /// The paths as given.
    pub targets: &'a [PathBuf],
    /// The Python files the run checks, and the ones its projects' indexes may read.
    pub files: &'a [PathBuf],
    /// Recipe files named on the command line or in the configuration.
    pub recipes: &'a [PathBuf],
    /// Installed-package folders the index reads.
    pub libraries: &'a [PathBuf],
    /// Everything else that decides the output: the merged configuration,
    /// the detected Django version.
    pub settings: String,
}

impl ResultCache {
    /// The cache of this command line under `folder`, fingerprinted.
    pub fn new(folder: &Path, inputs: &Inputs<'_>) -> Self {
        let command = format!("{:?}{:?}", std::env::args_os().collect::<Vec<_>>(), std::env::current_dir().ok());
        let file = folder.join(format!("check-{:016x}.json", hash_of(&command)));
        let mut parts: Vec<String> = vec![FORMAT.to_owned(), command, inputs.settings.clone()];
        parts.push(stamp(&std::env::current_exe().unwrap_or_default()));
        let files: Vec<String> = inputs.files.par_iter().map(|path| stamp(path)).collect();
        parts.extend(files);
        parts.extend(inputs.recipes.iter().map(|path| stamp(path)));
        parts.extend(inputs.libraries.iter().map(|path| stamp(path)));
        let mut folders: Vec<PathBuf> = inputs
            .targets
            .iter()
            .flat_map(|target| absolute(target).ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
            .collect();
        folders.sort();
        folders.dedup();
        for folder in folders.iter().filter(|folder| folder.is_dir()) {
            parts.push(listing(folder));
        }
        let fingerprint = format!("{:016x}{:016x}", hash_of(&parts), hash_of(&(&parts, "second half")));
        Self { file, fingerprint }
    }

    /// The results the last run with this fingerprint printed.
    pub fn load(&self) -> Option<Vec<FileResult>> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        let cached: CacheFile = serde_json::from_str(&text).ok()?;
        if cached.fingerprint != self.fingerprint {
            return None;
        }
        Some(cached.files.into_iter().map(CachedFile::into_result).collect())
    }

    /// Keeps `results` for the next run; nothing is kept when a file could
    /// not be read (the next run tries again). A cache that cannot be
    /// written only costs the next run its speed.
    pub fn store(&self, results: &[FileResult]) {
        let files: Option<Vec<CachedFile>> = results.iter().map(CachedFile::from_result).collect();
        let Some(files) = files else { return };
        let Some(folder) = self.file.parent() else { return };
        if std::fs::create_dir_all(folder).is_err() {
            return;
        }
        // Marks the folder as a cache for backup tools, and keeps it out of git.
        let _ = std::fs::write(folder.join("CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n");
        let _ = std::fs::write(folder.join(".gitignore"), "*\n");
        let Ok(text) = serde_json::to_string(&CacheFile { fingerprint: self.fingerprint.clone(), files }) else {
            return;
        };
        // Written beside and renamed, so a reader never sees half a file.
        let Ok(mut temp) = tempfile::NamedTempFile::new_in(folder) else { return };
        if std::io::Write::write_all(&mut temp, text.as_bytes()).is_ok() {
            let _ = temp.persist(&self.file);
        }
    }
}

impl CachedFile {
    fn from_result(result: &FileResult) -> Option<Self> {
        let syntax_error = match &result.error {
            None => None,
            Some((FileErrorKind::Syntax, message)) => Some(message.clone()),
            Some((FileErrorKind::Io, _)) => return None,
        };
        Some(Self {
            path: result.path.to_str()?.to_owned(),
            display: result.display.clone(),
            sites: result.sites.clone(),
            syntax_error,
            warnings: result.warnings.clone(),
            bom: result.bom,
        })
    }

    fn into_result(self) -> FileResult {
        let mut result = FileResult::new(Path::new(&self.path));
        result.display = self.display;
        result.sites = self.sites;
        result.error = self.syntax_error.map(|message| (FileErrorKind::Syntax, message));
        result.warnings = self.warnings;
        result.bom = self.bom;
        result
    }
}

/// A path with its size and modification time (nothing when it is missing).
fn stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let modified =
                meta.modified().ok().and_then(|time| time.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
            format!("{}\0{}\0{}", path.display(), meta.len(), modified.as_nanos())
        }
        Err(_) => format!("{}\0-", path.display()),
    }
}

/// The files directly in `folder`, stamped, in name order.
fn listing(folder: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(folder) else { return format!("{}\0unreadable", folder.display()) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.path())
        .collect();
    files.sort();
    files.iter().map(|path| stamp(path)).collect::<Vec<_>>().join("\n")
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

fn hash_of(value: &impl Hash) -> u64 {
    // Fixed keys: the same input hashes the same in every run of one binary,
    // and the binary is part of the fingerprint.
    let mut hasher = std::hash::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}
