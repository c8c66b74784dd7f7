//! asyncfix finds synchronous database calls inside `async def` in Python
//! code and rewrites them to awaited wrapper calls.
//!
//! The run is one pipeline, top to bottom: arguments ([`cli`]) -> recipes
//! ([`recipe`]) -> files ([`walk`], [`files`]) -> per-file check and fix
//! ([`checker`], over [`semantic`] and [`rules`], with edits from [`fix`]) ->
//! printing ([`output`]). Each file is a pure function of its text and the
//! shared read-only [`checker::Context`], run in parallel with rayon.

pub mod checker;
pub mod cli;
pub mod files;
pub mod fix;
pub mod index;
pub mod infer;
pub mod output;
pub mod parse;
pub mod project;
pub mod recipe;
pub mod rules;
pub mod scan;
pub mod semantic;
pub mod source;
pub mod summary;
pub mod walk;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use rayon::prelude::*;

use checker::{Context, FileInfo};
use cli::{Cli, ColorChoice, Command, FileArgs, OutputFormat};
use output::{FixState, Located, Painter};
use project::{Project, StdinSource};
use recipe::RuleSet;

/// Exit status: nothing found, or everything fixed.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: sites found, changes shown, or sites left after `fix`.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: a usage, recipe or I/O error.
pub const EXIT_ERROR: u8 = 2;

/// The process's streams, so tests can run the CLI in-process.
pub struct Streams<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Whether stdout is a terminal (for `--color auto`).
    pub stdout_is_terminal: bool,
}

/// Runs asyncfix with these arguments (the first is the program name).
pub fn run<I, T>(args: I, streams: &mut Streams<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let rendered = err.render().to_string();
            let code = if err.use_stderr() { EXIT_ERROR } else { EXIT_CLEAN };
            let stream: &mut dyn Write = if err.use_stderr() { streams.stderr } else { streams.stdout };
            let _ = stream.write_all(rendered.as_bytes());
            return code;
        }
    };
    match execute(cli, streams) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            let _ = writeln!(streams.stderr, "asyncfix: {message}");
            EXIT_ERROR
        }
        Err(Failure::BrokenPipe) => EXIT_CLEAN,
    }
}

enum Failure {
    Usage(String),
    BrokenPipe,
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Self::BrokenPipe
        } else {
            Self::Usage(format!("cannot write output: {err}"))
        }
    }
}

fn load_rules(recipes: &[PathBuf]) -> Result<RuleSet, Failure> {
    RuleSet::load(recipes).map_err(|err| Failure::Usage(format!("invalid recipe: {err}")))
}

fn execute(cli: Cli, streams: &mut Streams<'_>) -> Result<u8, Failure> {
    match cli.command {
        Command::Check(args) => process(Mode::Check, &args, streams),
        Command::Diff(args) => process(Mode::Diff, &args, streams),
        Command::Fix(args) => process(Mode::Fix, &args, streams),
        Command::Recipes(args) => {
            let rules = load_rules(&args.recipes)?;
            writeln!(streams.stdout, "{:<7} {:<30} {:<7} SUMMARY", "CODE", "NAME", "FIX")?;
            for rule in &rules.rules {
                let fix = match (rule.rewrite, rule.applicability) {
                    (recipe::Rewrite::None, _) => "none",
                    (_, fix::Applicability::Safe) => "safe",
                    (_, fix::Applicability::Unsafe) => "unsafe",
                };
                writeln!(streams.stdout, "{:<7} {:<30} {:<7} {}", rule.code, rule.name, fix, rule.summary)?;
            }
            Ok(EXIT_CLEAN)
        }
        Command::Explain { code, recipes } => {
            let rules = load_rules(&recipes.recipes)?;
            let Some(rule) = rules.by_code(&code) else {
                return Err(Failure::Usage(format!("unknown rule code `{code}`; `asyncfix recipes` lists them")));
            };
            writeln!(
                streams.stdout,
                "# {} ({})\n\n{}\n\n{}\n\nRecipe: {}",
                rule.name, rule.code, rule.summary, rule.doc, rule.origin
            )?;
            Ok(EXIT_CLEAN)
        }
        Command::Index { path, files, recipes } => {
            let rules = load_rules(&recipes.recipes)?;
            if !path.exists() {
                return Err(Failure::Usage(format!("{}: no such file or directory", path.display())));
            }
            let targets = std::slice::from_ref(&path);
            let discovered = walk::discover(targets, &[]).map_err(Failure::Usage)?;
            let project = Project::load(targets, &discovered.files, &[], &rules, None, false);
            if files {
                for file in project.parsed_files() {
                    writeln!(streams.stdout, "{}", file.display())?;
                }
            } else {
                streams.stdout.write_all(project.describe().as_bytes())?;
            }
            Ok(EXIT_CLEAN)
        }
        Command::DumpTree { path } => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                streams
                    .stdin
                    .read_to_string(&mut text)
                    .map_err(|err| Failure::Usage(format!("-: cannot read: {err}")))?;
                text
            } else {
                let raw = std::fs::read(&path)
                    .map_err(|err| Failure::Usage(format!("{}: cannot read: {err}", path.display())))?;
                let file =
                    files::decode(raw).map_err(|reason| Failure::Usage(format!("{}: {reason}", path.display())))?;
                file.text
            };
            let tree = parse::parse(&text).ok_or_else(|| Failure::Usage("parsing was cancelled".to_owned()))?;
            streams.stdout.write_all(parse::dump(&tree, &text).as_bytes())?;
            Ok(EXIT_CLEAN)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    Diff,
    Fix,
}

/// Why a file was not processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileErrorKind {
    /// Could not be read, decoded or written: exit 2.
    Io,
    /// Did not parse: reported like a finding, exit 1.
    Syntax,
}

/// Everything one file produced.
struct FileResult {
    display: String,
    /// `check`: the sites found; `diff` and `fix`: the sites left.
    sites: Vec<Located>,
    fixed: usize,
    /// The file would change (`diff`) or changed (`fix`).
    changed: bool,
    /// `diff`: the text before and after, when it changes. Kept only then, so
    /// memory does not grow with the tree.
    diff: Option<(String, String)>,
    /// `fix -`: the whole source to print, fixed or not.
    echo: Option<String>,
    error: Option<(FileErrorKind, String)>,
    warnings: Vec<String>,
    /// The file started with a UTF-8 BOM.
    bom: bool,
}

fn build_context(args: &FileArgs) -> Result<Context, Failure> {
    let rules = load_rules(&args.recipes.recipes)?;
    let mut enabled = vec![args.select.is_empty(); rules.rules.len()];
    for (codes, on) in [(&args.select, true), (&args.ignore, false)] {
        for code in codes {
            let matched = if code.trim().is_empty() { Vec::new() } else { rules.matching(code.trim()) };
            if matched.is_empty() {
                return Err(Failure::Usage(format!("unknown rule code `{code}`; `asyncfix recipes` lists them")));
            }
            for id in matched {
                enabled[id.0] = on;
            }
        }
    }
    Ok(Context {
        rules,
        enabled,
        unsafe_fixes: args.unsafe_fixes,
        sqlalchemy_fix: args.sqlalchemy_fix,
        full_parse: args.parsing.full_parse,
    })
}

fn process(mode: Mode, args: &FileArgs, streams: &mut Streams<'_>) -> Result<u8, Failure> {
    let context = build_context(args)?;
    let painter = Painter {
        enabled: match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => streams.stdout_is_terminal && std::env::var_os("NO_COLOR").is_none(),
        },
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .map_err(|err| Failure::Usage(format!("cannot start worker threads: {err}")))?;

    let from_stdin = args.paths.iter().any(|path| path.as_os_str() == "-");
    if from_stdin && args.paths.len() > 1 {
        return Err(Failure::Usage("`-` (standard input) cannot be combined with other paths".to_owned()));
    }
    let mut walk_errors = Vec::new();
    let mut stdin_raw: Option<Vec<u8>> = None;
    let results: Vec<FileResult> = if from_stdin {
        let mut raw = Vec::new();
        streams
            .stdin
            .read_to_end(&mut raw)
            .map_err(|err| Failure::Usage(format!("-: cannot read standard input: {err}")))?;
        let name = args.stdin_filename.clone().unwrap_or_else(|| PathBuf::from("-"));
        // Undecodable input is echoed back byte for byte by `fix -`.
        stdin_raw = Some(raw.clone());
        let decoded = files::decode(raw);
        let project = pool.install(|| {
            let text = decoded.as_ref().map(|file| file.text.as_str()).unwrap_or_default();
            Project::load(
                &[],
                &[],
                &args.exclude,
                &context.rules,
                Some(&StdinSource { path: &name, text }),
                args.parsing.full_index,
            )
        });
        let view = project.view(&name);
        let file = FileInfo { module: &view.module, index: view.index };
        vec![process_source(&name, file, view.self_contained, decoded.map(Some), mode, false, &context)]
    } else {
        let discovered = pool.install(|| walk::discover(&args.paths, &args.exclude)).map_err(Failure::Usage)?;
        walk_errors = discovered.errors;
        let project = if args.parsing.no_index {
            Project::empty()
        } else {
            pool.install(|| {
                Project::load(
                    &args.paths,
                    &discovered.files,
                    &args.exclude,
                    &context.rules,
                    None,
                    args.parsing.full_index,
                )
            })
        };
        let context = &context;
        pool.install(|| {
            discovered
                .files
                .par_iter()
                .map(|path| {
                    let view = project.view(path);
                    let file = FileInfo { module: &view.module, index: view.index };
                    // Read once already while loading the project, and no `async def`.
                    let read = if view.cannot_hold_sites { Ok(None) } else { files::read(path) };
                    process_source(path, file, view.self_contained, read, mode, mode == Mode::Fix, context)
                })
                .collect()
        })
    };

    let mut io_errors = walk_errors.len();
    for error in &walk_errors {
        writeln!(streams.stderr, "asyncfix: {error}")?;
    }
    let mut syntax_errors = 0;
    let mut all_sites: Vec<Located> = Vec::new();
    let mut fixed = 0;
    let mut files_changed = 0;
    for result in &results {
        for warning in &result.warnings {
            writeln!(streams.stderr, "asyncfix: {}: {warning}", result.display)?;
        }
        if mode == Mode::Fix && from_stdin {
            // An editor replaces its buffer with this: always the whole source.
            if result.bom {
                streams.stdout.write_all("\u{feff}".as_bytes())?;
            }
            match (&result.echo, &stdin_raw) {
                (Some(text), _) => streams.stdout.write_all(text.as_bytes())?,
                (None, Some(raw)) => streams.stdout.write_all(raw)?,
                (None, None) => {}
            }
        }
        if let Some((kind, message)) = &result.error {
            writeln!(streams.stderr, "asyncfix: {}: {message}", result.display)?;
            match kind {
                FileErrorKind::Io => io_errors += 1,
                FileErrorKind::Syntax => syntax_errors += 1,
            }
            continue;
        }
        all_sites.extend(result.sites.iter().cloned());
        fixed += result.fixed;
        let changed = result.changed;
        files_changed += usize::from(changed);
        match mode {
            Mode::Check => {}
            Mode::Diff => {
                if let Some((before, after)) = &result.diff {
                    streams
                        .stdout
                        .write_all(output::diff::unified(&result.display, before, after, painter).as_bytes())?;
                }
            }
            Mode::Fix => {}
        }
    }

    match mode {
        Mode::Check => {
            if args.output_format == OutputFormat::Json {
                streams.stdout.write_all(output::json::render(&all_sites).as_bytes())?;
            } else {
                for site in &all_sites {
                    writeln!(streams.stdout, "{}", output::text::site_line(site, painter))?;
                }
                let safe = all_sites.iter().filter(|site| site.fix == FixState::Safe).count();
                let unsafe_only = all_sites.iter().filter(|site| site.fix == FixState::Unsafe).count();
                if all_sites.is_empty() && syntax_errors > 0 {
                    writeln!(streams.stdout, "No sites found in the files that parsed.")?;
                } else if all_sites.is_empty() {
                    writeln!(streams.stdout, "No sites found.")?;
                } else {
                    writeln!(
                        streams.stdout,
                        "Found {} ({safe} fixable with `asyncfix fix`, {unsafe_only} more with `--unsafe-fixes`).",
                        output::text::plural(all_sites.len(), "site", "sites")
                    )?;
                }
            }
        }
        Mode::Diff | Mode::Fix => {
            let verb = if mode == Mode::Diff { "Would fix" } else { "Fixed" };
            let left_stream: &mut dyn Write =
                if mode == Mode::Fix && !from_stdin { streams.stdout } else { streams.stderr };
            for site in &all_sites {
                writeln!(left_stream, "{}", output::text::left_line(site, painter))?;
            }
            let mut line = format!(
                "{verb} {} in {}",
                output::text::plural(fixed, "site", "sites"),
                output::text::plural(files_changed, "file", "files")
            );
            if !all_sites.is_empty() {
                line += "; ";
                line += &output::text::plural(all_sites.len(), "site", "sites");
                line += " left";
            }
            line.push('.');
            writeln!(left_stream, "{line}")?;
        }
    }
    if io_errors + syntax_errors > 0 {
        writeln!(
            streams.stderr,
            "asyncfix: {} could not be processed.",
            output::text::plural(io_errors + syntax_errors, "file", "files")
        )?;
    }
    let code = if io_errors > 0 {
        EXIT_ERROR
    } else {
        let findings = match mode {
            Mode::Check | Mode::Fix => !all_sites.is_empty(),
            // Sites `fix` would leave are findings too.
            Mode::Diff => files_changed > 0 || !all_sites.is_empty(),
        };
        if findings || syntax_errors > 0 { EXIT_FINDINGS } else { EXIT_CLEAN }
    };
    Ok(code)
}

fn process_source(
    path: &Path,
    file_info: FileInfo<'_>,
    self_contained: bool,
    read: Result<Option<files::SourceFile>, String>,
    mode: Mode,
    write: bool,
    context: &Context,
) -> FileResult {
    // Standard input: `fix -` prints the whole source back.
    let echo = !write && mode == Mode::Fix;
    let display = path.display().to_string();
    let mut result = FileResult {
        display,
        sites: Vec::new(),
        fixed: 0,
        changed: false,
        diff: None,
        echo: None,
        error: None,
        warnings: Vec::new(),
        bom: false,
    };
    let file = match read {
        Ok(Some(file)) => file,
        Ok(None) => return result,
        Err(reason) => {
            result.error = Some((FileErrorKind::Io, reason));
            return result;
        }
    };
    result.bom = file.bom;
    if echo {
        result.echo = Some(file.text.clone());
    }
    if !scan::may_have_sites(file.text.as_bytes()) {
        return result;
    }
    // Most files with async code hold no site: the parse of their skimmed
    // text says so for less. `check` reports the sites it shows once the
    // whole file parses; `diff` and `fix` work from a parse of all of it.
    let skimmed = if context.full_parse { None } else { skimmed_check(&file.text, file_info, self_contained, context) };
    if skimmed.as_ref().is_some_and(Vec::is_empty) {
        return result;
    }
    let Some(tree) = parse::parse(&file.text) else {
        result.error = Some((FileErrorKind::Syntax, "parsing was cancelled; file left untouched".to_owned()));
        return result;
    };
    if let Some(offset) = parse::first_error(&tree) {
        let (line, column) = source::Locator::new(&file.text).line_col(offset);
        result.error = Some((FileErrorKind::Syntax, format!("{line}:{column}: syntax error; file left untouched")));
        return result;
    }
    if mode == Mode::Check
        && let Some(diagnostics) = skimmed
    {
        result.sites = output::locate(&result.display, &file.text, &diagnostics, &context.rules);
        return result;
    }
    // A self-contained module joins its index here, from this parse; `check`
    // goes on with the same semantic model.
    let own_model = (self_contained && file_info.index.is_some())
        .then(|| semantic::SemanticModel::build(&file.text, &tree, file_info.module.clone()));
    let own_index = own_model.as_ref().and_then(|model| own_layer(model, file_info.index, context));
    let file_info = FileInfo { module: file_info.module, index: own_index.as_ref().or(file_info.index) };
    match mode {
        Mode::Check => {
            let diagnostics = match &own_model {
                Some(model) => checker::check_model(model, file_info, context),
                None => checker::check_tree(&file.text, &tree, file_info, context),
            };
            result.sites = output::locate(&result.display, &file.text, &diagnostics, &context.rules);
        }
        Mode::Diff | Mode::Fix => {
            drop(own_model);
            let outcome = checker::fix_text(&file.text, tree, file_info, context);
            if !outcome.settled {
                result
                    .warnings
                    .push("fixes did not settle after 10 rounds; the output may still hold sites".to_owned());
            }
            if mode == Mode::Diff {
                // Nothing is written: point at the sites in the file as it is.
                let mut remaining = outcome.remaining.clone();
                for diagnostic in &mut remaining {
                    let start = outcome.original_offset(diagnostic.range.start);
                    let end = outcome.original_offset(diagnostic.range.end).max(start);
                    diagnostic.range = start..end;
                }
                result.sites = output::locate(&result.display, &file.text, &remaining, &context.rules);
            } else {
                result.sites = output::locate(&result.display, &outcome.text, &outcome.remaining, &context.rules);
            }
            result.fixed = outcome.fixed;
            result.changed = outcome.text != file.text;
            if write
                && result.changed
                && let Err(reason) = files::write(path, &file, &outcome.text)
            {
                result.error = Some((FileErrorKind::Io, reason));
                return result;
            }
            if echo {
                result.echo = Some(outcome.text);
            } else if mode == Mode::Diff && result.changed {
                result.diff = Some((file.text, outcome.text));
            }
        }
    }
    result
}

/// The sites the parse of a file's skimmed text ([`skim`]) shows; `None`
/// when there is nothing to skim or the skim is not trusted.
fn skimmed_check(
    text: &str,
    file_info: FileInfo<'_>,
    self_contained: bool,
    context: &Context,
) -> Option<Vec<checker::Diagnostic>> {
    let skimmed = scan::skim::skim(text)?;
    let tree = parse::parse_ranges(&skimmed.text, &skimmed.ranges)
        .filter(|tree| scan::skim::stubs_hold(tree, &skimmed.stubs))?;
    let model = semantic::SemanticModel::build(&skimmed.text, &tree, file_info.module.clone());
    let own_index = if self_contained { own_layer(&model, file_info.index, context) } else { None };
    let file_info = FileInfo { module: file_info.module, index: own_index.as_ref().or(file_info.index) };
    Some(checker::check_model(&model, file_info, context))
}

/// A self-contained module's index: its project's, with the module's own
/// summary, made from `model`, layered over it.
fn own_layer(
    model: &semantic::SemanticModel<'_>,
    index: Option<&index::ProjectIndex>,
    context: &Context,
) -> Option<index::ProjectIndex> {
    let index = index?;
    Some(index.with_own_module(summary::summarize_model(model, &context.rules), &context.rules))
}
