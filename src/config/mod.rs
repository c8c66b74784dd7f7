//! Configuration files: `[tool.asyncfix]` in `pyproject.toml`, or
//! `asyncfix.toml`, found by walking up from the paths given (the nearest
//! wins; in one folder `asyncfix.toml` beats `pyproject.toml`, as Ruff's
//! `ruff.toml` does), or named by `--config`. [`merge`] layers the command
//! line over what a file says.

pub mod merge;
pub mod options;

use std::path::{Path, PathBuf};

use crate::source::Locator;
pub use options::Options;

/// A configuration file that could not be read or is not valid.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A configuration read from a file.
#[derive(Debug)]
pub struct Config {
    /// The file, as found or named.
    pub path: PathBuf,
    /// Its folder: relative globs and recipe paths start here.
    pub dir: PathBuf,
    /// The file's text, to turn spans into lines and columns.
    text: String,
    pub options: Options,
}

impl Config {
    /// An error at byte `offset` of the file.
    pub fn error(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        error_at(&self.path, &self.text, offset, message)
    }

    /// Reads `path`: an `asyncfix.toml` (or any other name) holds the keys at
    /// its top level; a `pyproject.toml` under `[tool.asyncfix]`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            path: path.display().to_string(),
            line: 1,
            column: 1,
            message: match err.kind() {
                std::io::ErrorKind::NotFound => "cannot read configuration: no such file or directory".to_owned(),
                _ => format!("cannot read configuration: {err}"),
            },
        })?;
        let parsed = if is_pyproject(path) {
            toml::from_str::<options::PyProject>(&text)
                .map(|pyproject| pyproject.tool.and_then(|tool| tool.asyncfix).unwrap_or_default())
        } else {
            toml::from_str::<Options>(&text)
        };
        let options = parsed.map_err(|err| {
            let offset = err.span().map_or(0, |span| span.start);
            error_at(path, &text, offset, err.message().trim_end())
        })?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Self { path: path.to_path_buf(), dir, text, options })
    }
}

fn error_at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> ConfigError {
    let (line, column) = Locator::new(text).line_col(offset);
    ConfigError { path: path.display().to_string(), line, column, message: message.into() }
}

fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == "pyproject.toml")
}

/// The configuration file that applies to `path`: the nearest folder at or
/// above it holding an `asyncfix.toml`, or a `pyproject.toml` with a
/// `[tool.asyncfix]` table.
pub fn find(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let start = if absolute.is_dir() { absolute.as_path() } else { absolute.parent()? };
    start.ancestors().find_map(|dir| {
        let own = dir.join("asyncfix.toml");
        if own.is_file() {
            return Some(own);
        }
        let pyproject = dir.join("pyproject.toml");
        let text = std::fs::read_to_string(&pyproject).ok()?;
        mentions_asyncfix(&text).then_some(pyproject)
    })
}

/// Whether a `pyproject.toml` has a `[tool.asyncfix]` table (or a dotted
/// `tool.asyncfix` key): a cheap look before a full parse.
fn mentions_asyncfix(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start().trim_start_matches('[').trim_start();
        line.starts_with("tool.asyncfix") || line.starts_with("tool . asyncfix")
    })
}

/// The configuration for a run over `paths`: `--config` if given, else the
/// one file the paths share. Paths under two different files are an error:
/// one run has one configuration.
pub fn discover(paths: &[&Path], explicit: Option<&Path>) -> Result<Option<Config>, ConfigError> {
    if let Some(path) = explicit {
        return Config::load(path).map(Some);
    }
    let mut found: Option<PathBuf> = None;
    for path in paths {
        let Some(file) = find(path) else { continue };
        match &found {
            Some(first) if *first != file => {
                return Err(ConfigError {
                    path: file.display().to_string(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "the paths given fall under two configurations (this one and {}); run asyncfix once per \
                         configuration or pass --config",
                        first.display()
                    ),
                });
            }
            _ => found = Some(file),
        }
    }
    found.map(|file| Config::load(&file)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pyproject_counts_only_with_a_tool_asyncfix_table() {
        assert!(mentions_asyncfix("[project]\nname = 'x'\n\n[tool.asyncfix]\nselect = []\n"));
        assert!(mentions_asyncfix("[ tool.asyncfix.per-file-ignores ]\n"));
        assert!(mentions_asyncfix("tool.asyncfix.select = ['DJ']\n"));
        assert!(!mentions_asyncfix("[tool.ruff]\nselect = ['E']\n"));
        assert!(!mentions_asyncfix("# tool.asyncfix is not here\n"));
    }
}
