//! The configuration keys, as serde reads them: `[tool.asyncfix]` in a
//! `pyproject.toml` or the top level of an `asyncfix.toml`. Unknown keys and
//! wrong types are errors with the file, line and column, never ignored.
//! Values checked later (codes, globs, versions) keep their spans.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Every key; each is optional and its default is the CLI's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// Only these rule codes or prefixes (default: every rule).
    pub select: Option<Vec<Spanned<String>>>,
    /// Leave out these rule codes or prefixes.
    pub ignore: Option<Vec<Spanned<String>>>,
    /// Codes or prefixes added to `select` (or to every rule).
    pub extend_select: Option<Vec<Spanned<String>>>,
    /// Globs skipped while walking, relative to the configuration's folder.
    pub exclude: Option<Vec<Spanned<String>>>,
    /// Globs skipped beside `exclude` (`--exclude` replaces only `exclude`).
    pub extend_exclude: Option<Vec<Spanned<String>>>,
    /// Glob -> codes not reported in the files it matches.
    pub per_file_ignores: Option<BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
    /// User recipe files, relative to the configuration's folder.
    pub recipes: Option<Vec<Spanned<String>>>,
    /// Also apply fixes that rest on a guess.
    pub unsafe_fixes: Option<bool>,
    /// The one wrapper every fix uses: `sync_to_async`,
    /// `database_sync_to_async` or a dotted `module.name`.
    pub wrapper: Option<Spanned<String>>,
    /// `auto` or a Django version.
    pub target_django: Option<Spanned<String>>,
    /// How `SQLAlchemy` lazy loads are rewritten.
    pub sqlalchemy_fix: Option<RawSqlAlchemyFix>,
}

/// `sqlalchemy-fix`: the values `--sqlalchemy-fix` takes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawSqlAlchemyFix {
    Explicit,
    Selectinload,
    Refresh,
}

/// A `pyproject.toml`: only `[tool.asyncfix]` is read; other tables are
/// other tools' business.
#[derive(Debug, Deserialize)]
pub struct PyProject {
    pub tool: Option<Tool>,
}

#[derive(Debug, Deserialize)]
pub struct Tool {
    pub asyncfix: Option<Options>,
}
