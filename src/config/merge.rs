//! The command line layered over a configuration file: what the run uses.
//! A flag given replaces the key of the same name (`--exclude` replaces
//! `exclude`, `--target-django` replaces `target-django`); recipes add up;
//! rule selection works in layers as in Ruff: the file's, then the command
//! line's, where a `select` starts over and `extend-select` and `ignore`
//! adjust what came before.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use toml::Spanned;

use super::options::RawSqlAlchemyFix;
use super::{Config, ConfigError};
use crate::cli::FileArgs;
use crate::fix::{SqlAlchemyFix, Wrapper};
use crate::target::TargetDjango;

/// A rule code or prefix as written, and where, when a file said it.
#[derive(Debug, Clone)]
pub struct Code {
    pub text: String,
    /// `path:line:col` in the configuration file; `None` on the command line.
    pub origin: Option<ConfigError>,
}

impl Code {
    /// The error for a code that names no rule.
    pub fn unknown(&self) -> String {
        let message = format!("unknown rule code `{}`; `asyncfix recipes` lists them", self.text);
        match &self.origin {
            Some(origin) => {
                format!("invalid configuration: {}:{}:{}: {message}", origin.path, origin.line, origin.column)
            }
            None => message,
        }
    }
}

/// One layer of rule selection.
#[derive(Debug, Default)]
pub struct Selection {
    /// Replaces what came before (every rule, at first).
    pub select: Option<Vec<Code>>,
    pub extend_select: Vec<Code>,
    pub ignore: Vec<Code>,
}

/// `per-file-ignores`: the files a glob matches and the codes they ignore.
#[derive(Debug)]
pub struct PerFileIgnore {
    matcher: GlobSet,
    pub codes: Vec<Code>,
}

impl PerFileIgnore {
    pub fn matches(&self, path: &Path) -> bool {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.matcher.is_match(&absolute) || path.file_name().is_some_and(|name| self.matcher.is_match(name))
    }
}

/// Everything the run takes from the command line and the configuration.
#[derive(Debug)]
pub struct Effective {
    pub recipes: Vec<PathBuf>,
    pub selection: Vec<Selection>,
    /// `exclude` (or `--exclude`) and `extend-exclude`.
    pub excludes: Vec<String>,
    pub unsafe_fixes: bool,
    pub wrapper: Option<Wrapper>,
    pub target_django: TargetDjango,
    pub sqlalchemy_fix: Option<SqlAlchemyFix>,
    pub per_file_ignores: Vec<PerFileIgnore>,
}

/// Layers `args` over `config`. Errors are printed after `asyncfix: `.
pub fn merge(args: &FileArgs, config: Option<&Config>) -> Result<Effective, String> {
    let (file, extend_excludes) = match config {
        Some(config) => from_file(config).map_err(|err| format!("invalid configuration: {err}"))?,
        None => (Effective::default(), Vec::new()),
    };
    let cli_codes =
        |codes: &[String]| codes.iter().map(|text| Code { text: text.clone(), origin: None }).collect::<Vec<_>>();
    let mut selection = file.selection;
    selection.push(Selection {
        select: (!args.select.is_empty()).then(|| cli_codes(&args.select)),
        extend_select: Vec::new(),
        ignore: cli_codes(&args.ignore),
    });
    let mut recipes = file.recipes;
    recipes.extend(args.recipes.recipes.iter().cloned());
    let wrapper = match &args.wrapper {
        Some(text) => Some(parse_wrapper(text).map_err(|reason| format!("invalid --wrapper `{text}`: {reason}"))?),
        None => file.wrapper,
    };
    let mut excludes = if args.exclude.is_empty() { file.excludes } else { args.exclude.clone() };
    excludes.extend(extend_excludes);
    Ok(Effective {
        recipes,
        selection,
        excludes,
        unsafe_fixes: if args.unsafe_fixes || args.no_unsafe_fixes { args.unsafe_fixes } else { file.unsafe_fixes },
        wrapper,
        target_django: args.target_django.unwrap_or(file.target_django),
        sqlalchemy_fix: args.sqlalchemy_fix.or(file.sqlalchemy_fix),
        per_file_ignores: file.per_file_ignores,
    })
}

impl Default for Effective {
    fn default() -> Self {
        Self {
            recipes: Vec::new(),
            selection: Vec::new(),
            excludes: Vec::new(),
            unsafe_fixes: false,
            wrapper: None,
            target_django: TargetDjango::Auto,
            sqlalchemy_fix: None,
            per_file_ignores: Vec::new(),
        }
    }
}

/// What the file alone says, checked: globs compile, versions and wrappers
/// parse. `extend-exclude` apart, since `--exclude` replaces only `exclude`.
fn from_file(config: &Config) -> Result<(Effective, Vec<String>), ConfigError> {
    let options = &config.options;
    let codes = |list: &Option<Vec<Spanned<String>>>| -> Vec<Code> {
        list.iter().flatten().map(|code| located(config, code)).collect()
    };
    let relative = |path: &str| config.dir.join(path);
    let globs = |list: &Option<Vec<Spanned<String>>>| -> Result<Vec<String>, ConfigError> {
        let mut excludes = Vec::new();
        for glob in list.iter().flatten() {
            Glob::new(glob.get_ref())
                .map_err(|err| config.error(glob.span().start, format!("invalid glob: {}", err.kind())))?;
            // A glob with a `/` is anchored at the configuration's folder; a
            // bare name matches anywhere, as on the command line.
            let text = glob.get_ref().trim_start_matches("./");
            excludes.push(if text.contains('/') { relative(text).display().to_string() } else { text.to_owned() });
        }
        Ok(excludes)
    };
    let excludes = globs(&options.exclude)?;
    let extend_excludes = globs(&options.extend_exclude)?;
    let mut per_file_ignores = Vec::new();
    for (glob, list) in options.per_file_ignores.iter().flatten() {
        let pattern = glob.get_ref().trim_start_matches("./");
        let compiled = |pattern: &str| {
            Glob::new(pattern).map_err(|err| config.error(glob.span().start, format!("invalid glob: {}", err.kind())))
        };
        let mut builder = GlobSetBuilder::new();
        builder.add(compiled(&relative(pattern).display().to_string())?);
        if !pattern.contains('/') {
            builder.add(compiled(pattern)?);
        }
        let matcher = builder.build().map_err(|err| config.error(glob.span().start, err.to_string()))?;
        per_file_ignores
            .push(PerFileIgnore { matcher, codes: list.iter().map(|code| located(config, code)).collect() });
    }
    let wrapper = match &options.wrapper {
        Some(text) => Some(
            parse_wrapper(text.get_ref())
                .map_err(|reason| config.error(text.span().start, format!("invalid wrapper: {reason}")))?,
        ),
        None => None,
    };
    let target_django = match &options.target_django {
        Some(text) => text
            .get_ref()
            .parse()
            .map_err(|reason: String| config.error(text.span().start, format!("invalid target-django: {reason}")))?,
        None => TargetDjango::Auto,
    };
    let effective = Effective {
        recipes: options.recipes.iter().flatten().map(|path| relative(path.get_ref())).collect(),
        selection: vec![Selection {
            select: options.select.as_ref().map(|_| codes(&options.select)),
            extend_select: codes(&options.extend_select),
            ignore: codes(&options.ignore),
        }],
        excludes,
        unsafe_fixes: options.unsafe_fixes.unwrap_or(false),
        wrapper,
        target_django,
        sqlalchemy_fix: options.sqlalchemy_fix.map(|fix| match fix {
            RawSqlAlchemyFix::Explicit => SqlAlchemyFix::Explicit,
            RawSqlAlchemyFix::Selectinload => SqlAlchemyFix::Selectinload,
            RawSqlAlchemyFix::Refresh => SqlAlchemyFix::Refresh,
        }),
        per_file_ignores,
    };
    Ok((effective, extend_excludes))
}

fn located(config: &Config, code: &Spanned<String>) -> Code {
    Code { text: code.get_ref().clone(), origin: Some(config.error(code.span().start, String::new())) }
}

/// `sync_to_async` and `database_sync_to_async` by their usual modules;
/// anything else as a dotted `module.name`.
fn parse_wrapper(text: &str) -> Result<Wrapper, String> {
    match text {
        "sync_to_async" => return Ok(Wrapper::new("asgiref.sync", "sync_to_async")),
        "database_sync_to_async" => return Ok(Wrapper::new("channels.db", "database_sync_to_async")),
        _ => {}
    }
    let identifier = |part: &str| {
        part.chars().next().is_some_and(|first| first.is_alphabetic() || first == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    match text.rsplit_once('.') {
        Some((module, name)) if module.split('.').all(identifier) && identifier(name) => Ok(Wrapper::new(module, name)),
        _ => Err("expected `sync_to_async`, `database_sync_to_async` or a dotted `module.name`".to_owned()),
    }
}
