//! One file, start to end: read -> byte scan -> skim -> parse -> check, or
//! the fix loop -> a [`FileResult`]. A pure function of the file's text, its
//! module name, its project's index and the shared [`Settings`]; the
//! commands run it on every file in parallel.

pub mod fix_loop;
pub mod review;

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::index::ProjectIndex;

use crate::infer::facts::ProjectFacts;
use crate::output::{self, Located};
use crate::rules;
use crate::semantic::ModuleName;
use crate::settings::Settings;
use crate::{files, parse, scan, semantic, source, summary};

/// What the run knows about one file: its module name and its project's index.
#[derive(Clone, Copy)]
pub struct FileInfo<'a> {
    pub module: &'a ModuleName,
    pub index: Option<&'a ProjectIndex>,
}

impl<'a> FileInfo<'a> {
    /// The same, as the rules see it: the index only through its facts.
    fn for_rules(self) -> rules::FileInfo<'a> {
        rules::FileInfo { module: self.module, index: self.index.map(|index| index as &dyn ProjectFacts) }
    }
}

impl FileResult {
    /// Nothing found yet.
    pub fn new(path: &Path) -> Self {
        let path = normal_path(path);
        Self {
            display: shown(path.as_os_str()),
            path,
            sites: Vec::new(),
            fixed: 0,
            fixed_rules: Vec::new(),
            changed: false,
            diff: None,
            echo: None,
            error: None,
            warnings: Vec::new(),
            bom: false,
        }
    }
}

/// What a command does with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Check,
    Diff,
    Fix,
}

/// Why a file was not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileErrorKind {
    /// Could not be read, decoded or written: exit 2.
    Io,
    /// Did not parse: reported like a finding, exit 1.
    Syntax,
}

/// Everything one file produced.
pub struct FileResult {
    /// The path as given, without `./` parts.
    pub path: std::path::PathBuf,
    /// The path as reports print it ([`display_path`]).
    pub display: String,
    /// `check`: the sites found; `diff` and `fix`: the sites left.
    pub sites: Vec<Located>,
    pub fixed: usize,
    /// The rule of each site fixed.
    pub fixed_rules: Vec<crate::recipe::RuleId>,
    /// The file would change (`diff`) or changed (`fix`).
    pub changed: bool,
    /// `diff`: the text before and after, when it changes. Kept only then, so
    /// memory does not grow with the tree.
    pub diff: Option<(String, String)>,
    /// `fix -`: the whole source to print, fixed or not.
    pub echo: Option<String>,
    pub error: Option<(FileErrorKind, String)>,
    pub warnings: Vec<String>,
    /// The file started with a UTF-8 BOM.
    pub bom: bool,
}

/// A path as reports print it: `./app/views.py` as `app/views.py`, so `diff`
/// output is a patch `git apply` takes (it rejects `a/./app/views.py`), and
/// a byte that is not UTF-8 as `\xNN`, where U+FFFD would hide which file
/// it is.
pub fn display_path(path: &Path) -> String {
    shown(normal_path(path).as_os_str())
}

fn normal_path(path: &Path) -> std::path::PathBuf {
    let normal: std::path::PathBuf =
        path.components().filter(|part| !matches!(part, std::path::Component::CurDir)).collect();
    if normal.as_os_str().is_empty() { path.to_path_buf() } else { normal }
}

#[cfg(unix)]
fn shown(name: &std::ffi::OsStr) -> String {
    use std::fmt::Write;
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

#[cfg(not(unix))]
fn shown(name: &std::ffi::OsStr) -> String {
    name.to_string_lossy().into_owned()
}

/// The byte offset of the first syntax error, tree-sitter's or an
/// indentation `CPython` refuses ([`parse::misindented`]): the check every file passes
/// before a fix, and every fixed text before it is written.
pub fn syntax_error(tree: &tree_sitter::Tree, text: &str) -> Option<usize> {
    match parse::first_error(tree) {
        // tree-sitter gave up on the whole module: a bracket never closed is
        // the usual cause, and where `CPython` points.
        Some(0) => Some(scan::skim::unclosed_bracket(text.as_bytes()).unwrap_or(0)),
        Some(offset) => Some(offset),
        None => parse::misindented(tree, text),
    }
}

pub fn process_source(
    path: &Path,
    file_info: FileInfo<'_>,
    self_contained: bool,
    read: Result<Option<files::SourceFile>, files::FileError>,
    action: Action,
    write: bool,
    settings: &Settings,
) -> FileResult {
    // Standard input: `fix -` prints the whole source back.
    let echo = !write && action == Action::Fix;
    let mut result = FileResult::new(path);
    let file = match read {
        Ok(Some(file)) => file,
        Ok(None) => return result,
        Err(reason) => {
            result.error = Some((FileErrorKind::Io, reason.to_string()));
            return result;
        }
    };
    result.bom = file.bom;
    if echo {
        result.echo = Some(file.restore(&file.text).into_owned());
    }
    if !scan::may_have_sites(file.text.as_bytes()) {
        return result;
    }
    // Most files with async code hold no site: the parse of their skimmed
    // text says so for less. `check` reports the sites it shows once the
    // whole file parses; `diff` and `fix` work from a parse of all of it.
    // Finding unused suppression comments needs the sites they suppress,
    // which only a whole parse shows.
    let audit =
        action == Action::Check && settings.report_unused_suppressions && rules::suppression::mentioned(&file.text);
    let skimmed = if settings.full_parse || audit {
        None
    } else {
        skimmed_check(&file.text, file_info, self_contained, settings)
    };
    if skimmed.as_ref().is_some_and(Vec::is_empty) {
        return result;
    }
    let Some(tree) = parse::parse(&file.text) else {
        result.error = Some((FileErrorKind::Syntax, "parsing was cancelled; file left untouched".to_owned()));
        return result;
    };
    if let Some(offset) = syntax_error(&tree, &file.text) {
        let (line, column) = source::Locator::new(&file.text).line_col(offset);
        result.error = Some((FileErrorKind::Syntax, format!("{line}:{column}: syntax error; file left untouched")));
        return result;
    }
    if action == Action::Check
        && let Some(diagnostics) = skimmed
    {
        result.sites = output::locate(&result.display, &file.text, &diagnostics, &settings.rules);
        return result;
    }
    // A self-contained module joins its index here, from this parse; `check`
    // goes on with the same semantic model.
    let own_model = (self_contained && file_info.index.is_some())
        .then(|| semantic::SemanticModel::build(&file.text, &tree, file_info.module.clone()));
    let own_index = own_model.as_ref().and_then(|model| own_layer(model, file_info.index, settings));
    let file_info = FileInfo { module: file_info.module, index: own_index.as_ref().or(file_info.index) };
    match action {
        Action::Check => {
            let model = own_model
                .unwrap_or_else(|| semantic::SemanticModel::build(&file.text, &tree, file_info.module.clone()));
            result.sites = check_sites(&model, &result.display, file_info, audit, settings);
        }
        Action::Diff | Action::Fix => {
            drop(own_model);
            let outcome = fix_loop::fix_text(&file.text, tree, file_info.for_rules(), settings);
            if !outcome.settled {
                result
                    .warnings
                    .push("fixes did not settle after 10 rounds; the output may still hold sites".to_owned());
            }
            if action == Action::Diff {
                // Nothing is written: point at the sites in the file as it is.
                let mut remaining = outcome.remaining.clone();
                for diagnostic in &mut remaining {
                    let start = outcome.original_offset(diagnostic.range.start);
                    let end = outcome.original_offset(diagnostic.range.end).max(start);
                    diagnostic.range = start..end;
                }
                result.sites = output::locate(&result.display, &file.text, &remaining, &settings.rules);
            } else {
                result.sites = output::locate(&result.display, &outcome.text, &outcome.remaining, &settings.rules);
            }
            result.fixed = outcome.fixed;
            result.fixed_rules = outcome.fixed_rules;
            result.changed = outcome.text != file.text;
            if write
                && result.changed
                && let Err(reason) = files::write(path, &file, &outcome.text)
            {
                result.error = Some((FileErrorKind::Io, reason.to_string()));
                return result;
            }
            if echo {
                result.echo = Some(file.restore(&outcome.text).into_owned());
            } else if action == Action::Diff && result.changed {
                result.diff = Some((file.as_written(&file.text), file.as_written(&outcome.text)));
            }
        }
    }
    result
}

/// `check` on a whole parse: the sites no comment suppresses and, when
/// `audit`ing, the suppression comments that suppress nothing.
fn check_sites(
    model: &semantic::SemanticModel<'_>,
    display: &str,
    file_info: FileInfo<'_>,
    audit: bool,
    settings: &Settings,
) -> Vec<Located> {
    let found = rules::check_model_unsuppressed(model, file_info.for_rules(), settings);
    let unused =
        if audit { rules::suppression::unused(model, &settings.rules, &settings.enabled, &found) } else { Vec::new() };
    let diagnostics = rules::suppression::filter(model, &settings.rules, found);
    let mut sites = output::locate(display, model.source, &diagnostics, &settings.rules);
    if !unused.is_empty() {
        sites.extend(output::locate_unused(display, model.source, &unused));
        sites.sort_by_key(|site| (site.line, site.column));
    }
    sites
}

/// The sites the parse of a file's skimmed text ([`skim`]) shows; `None`
/// when there is nothing to skim or the skim is not trusted.
fn skimmed_check(
    text: &str,
    file_info: FileInfo<'_>,
    self_contained: bool,
    settings: &Settings,
) -> Option<Vec<Diagnostic>> {
    let hooks: Vec<&str> = settings.rules.dispatch.values().flatten().map(String::as_str).collect();
    let skimmed = scan::skim::skim(text, &hooks)?;
    let tree = parse::parse_ranges(&skimmed.text, &skimmed.ranges)
        .filter(|tree| scan::skim::stubs_hold(tree, &skimmed.stubs))?;
    let model = semantic::SemanticModel::build(&skimmed.text, &tree, file_info.module.clone());
    let own_index = if self_contained { own_layer(&model, file_info.index, settings) } else { None };
    let file_info = FileInfo { module: file_info.module, index: own_index.as_ref().or(file_info.index) };
    Some(rules::check_model(&model, file_info.for_rules(), settings))
}

/// A self-contained module's index: its project's, with the module's own
/// summary, made from `model`, layered over it.
fn own_layer(
    model: &semantic::SemanticModel<'_>,
    index: Option<&ProjectIndex>,
    settings: &Settings,
) -> Option<ProjectIndex> {
    let index = index?;
    Some(index.with_own_module(summary::summarize_model(model, &settings.rules), &settings.rules))
}
