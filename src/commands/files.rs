//! `check`, `diff` and `fix` over the paths given: find the files, load the
//! project, run the pipeline on each file in parallel, print, and choose the
//! exit status.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Failure;
use crate::cache::{self, Inputs, ResultCache};
use crate::cli::{ColorChoice, FileArgs, OutputFormat, ReportArgs};
use crate::config::{self, merge::Effective};
use crate::index::roots::project_root;
use crate::output::progress::Progress;
use crate::output::{self, FixState, Located, Painter};
use crate::pipeline::{Action, FileErrorKind, FileInfo, FileResult, process_source};
use crate::project::{LoadOptions, Project, StdinSource};
use crate::recipe::RuleSet;
use crate::settings::{PerFile, RunOptions, Settings};
use crate::target::{self, DjangoVersion, TargetDjango};
use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Streams, files, walk};

pub(super) fn process(action: Action, args: &FileArgs, streams: &mut Streams<'_>) -> Result<u8, Failure> {
    let mut paths: Vec<&Path> =
        args.paths.iter().filter(|path| path.as_os_str() != "-").map(PathBuf::as_path).collect();
    paths.extend(args.stdin_filename.as_deref());
    if args.interactive {
        if action != Action::Fix {
            return Err(Failure::Usage("--interactive works with `fix` only".to_owned()));
        }
        if !streams.stdin_is_terminal || args.paths.iter().any(|path| path.as_os_str() == "-") {
            return Err(Failure::Usage("--interactive asks on a terminal, and standard input is not one".to_owned()));
        }
    }
    let config = if args.config.isolated {
        None
    } else {
        // Source on standard input without a name belongs to the current folder.
        let here = [Path::new(".")];
        let start = if paths.is_empty() { &here[..] } else { &paths[..] };
        config::discover(start, args.config.file.as_deref())
            .map_err(|err| Failure::Usage(format!("invalid configuration: {err}")))?
    };
    let effective = config::merge::merge(args, config.as_ref()).map_err(Failure::Usage)?;
    let detected = match effective.target_django {
        TargetDjango::Auto => detect_target(&paths),
        TargetDjango::Version(_) => None,
    };
    let rules = super::load_recipes(args.recipes.no_builtin_recipes, &effective.recipes)?;
    let run = RunOptions {
        style: args.style,
        full_parse: args.parsing.full_parse,
        report_unused_suppressions: action == Action::Check && args.report.report_unused_suppressions,
    };
    let settings = Settings::new(rules, &effective, &run, detected).map_err(Failure::Usage)?;
    let painter = Painter {
        enabled: match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => streams.stdout_is_terminal && std::env::var_os("NO_COLOR").is_none(),
        },
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, usize::from))
        .build()
        .map_err(|err| Failure::Usage(format!("cannot start worker threads: {err}")))?;

    let from_stdin = args.paths.iter().any(|path| path.as_os_str() == "-");
    if from_stdin && args.paths.len() > 1 {
        return Err(Failure::Usage("`-` (standard input) cannot be combined with other paths".to_owned()));
    }
    let Run { results, walk_errors, unfollowed, stdin_raw } = if from_stdin {
        run_stdin(action, args, &effective, &settings, &pool, streams)?
    } else {
        let show_progress = streams.stderr_is_terminal && !args.report.quiet && !args.interactive;
        let review = args.interactive.then_some((painter, &mut *streams));
        run_paths(action, args, &effective, &settings, &pool, show_progress, review)?
    };

    for error in &walk_errors {
        writeln!(streams.stderr, "asyncfix: {error}")?;
    }
    if !args.report.quiet {
        for link in &unfollowed {
            let link = crate::pipeline::display_path(link);
            writeln!(streams.stderr, "asyncfix: {link}: symbolic link not followed; name its target to check it")?;
        }
    }
    let mut tally = Tally { io_errors: walk_errors.len(), ..Tally::default() };
    for result in &results {
        if action == Action::Fix && from_stdin {
            echo_source(result, stdin_raw.as_deref(), streams)?;
            // An editor replaces its buffer with this: a failed write must
            // fail the run before the summary says it went well.
            streams.stdout.flush()?;
        }
        tally.add(result, action, painter, streams)?;
    }
    match action {
        Action::Check => {
            print_check_summary(&settings.rules, &args.report, &tally, painter, streams)?;
        }
        Action::Diff | Action::Fix => {
            // `fix` reports on stdout; `diff` and `fix -` keep stdout for the patch or the source.
            let stream: &mut dyn Write =
                if action == Action::Fix && !from_stdin { streams.stdout } else { streams.stderr };
            print_fix_summary(action, &settings.rules, &tally, args.report.quiet, painter, stream)?;
        }
    }
    let unprocessed = tally.io_errors + tally.syntax_errors;
    if unprocessed > 0 {
        let files = output::text::plural(unprocessed, "file", "files");
        writeln!(streams.stderr, "asyncfix: {files} could not be processed.")?;
    }
    Ok(tally.exit_code(action))
}

/// What the files of a run added up to.
#[derive(Default)]
struct Tally {
    sites: Vec<Located>,
    /// The real path of each shown path with sites (SARIF's URIs name the
    /// bytes a shown `\xNN` stands for).
    paths: std::collections::HashMap<String, std::path::PathBuf>,
    fixed: usize,
    /// Sites fixed, by rule.
    fixed_by_rule: std::collections::BTreeMap<crate::recipe::RuleId, usize>,
    files_changed: usize,
    io_errors: usize,
    syntax_errors: usize,
}

impl Tally {
    /// Counts one file's result, printing its warnings, its error or (for
    /// `diff`) its patch as it goes.
    fn add(
        &mut self,
        result: &FileResult,
        action: Action,
        painter: Painter,
        streams: &mut Streams<'_>,
    ) -> io::Result<()> {
        for warning in &result.warnings {
            writeln!(streams.stderr, "asyncfix: {}: {warning}", result.display)?;
        }
        if let Some((kind, message)) = &result.error {
            writeln!(streams.stderr, "asyncfix: {}: {message}", result.display)?;
            match kind {
                FileErrorKind::Io => self.io_errors += 1,
                FileErrorKind::Syntax => self.syntax_errors += 1,
            }
            return Ok(());
        }
        if !result.sites.is_empty() {
            self.paths.insert(result.display.clone(), result.path.clone());
        }
        self.sites.extend(result.sites.iter().cloned());
        self.fixed += result.fixed;
        for rule in &result.fixed_rules {
            *self.fixed_by_rule.entry(*rule).or_default() += 1;
        }
        self.files_changed += usize::from(result.changed);
        if action == Action::Diff
            && let Some((before, after)) = &result.diff
        {
            streams.stdout.write_all(output::diff::unified(&result.path, before, after, painter).as_bytes())?;
        }
        Ok(())
    }

    fn exit_code(&self, action: Action) -> u8 {
        if self.io_errors > 0 {
            return EXIT_ERROR;
        }
        let findings = match action {
            Action::Check | Action::Fix => !self.sites.is_empty(),
            // Sites `fix` would leave are findings too.
            Action::Diff => self.files_changed > 0 || !self.sites.is_empty(),
        };
        if findings || self.syntax_errors > 0 { EXIT_FINDINGS } else { EXIT_CLEAN }
    }
}

/// `fix -`: an editor replaces its buffer with this, so always the whole
/// source, fixed or not, byte for byte when it could not be decoded.
fn echo_source(result: &FileResult, raw: Option<&[u8]>, streams: &mut Streams<'_>) -> io::Result<()> {
    if result.bom {
        streams.stdout.write_all("\u{feff}".as_bytes())?;
    }
    match (&result.echo, raw) {
        (Some(text), _) => streams.stdout.write_all(text.as_bytes()),
        (None, Some(raw)) => streams.stdout.write_all(raw),
        (None, None) => Ok(()),
    }
}

/// `check`: every site, then one closing line (or the JSON document).
fn print_check_summary(
    rules: &RuleSet,
    report: &ReportArgs,
    tally: &Tally,
    painter: Painter,
    streams: &mut Streams<'_>,
) -> io::Result<()> {
    let sites = &tally.sites;
    match report.output_format {
        OutputFormat::Json => return streams.stdout.write_all(output::json::render(sites).as_bytes()),
        OutputFormat::Sarif => {
            let path = |shown: &str| tally.paths.get(shown).map(std::path::PathBuf::as_path);
            return streams.stdout.write_all(output::sarif::render(sites, rules, path).as_bytes());
        }
        OutputFormat::Concise => {
            for site in sites {
                writeln!(streams.stdout, "{}", output::concise::site_line(site, painter))?;
            }
            return Ok(());
        }
        OutputFormat::Github => {
            for site in sites {
                writeln!(streams.stdout, "{}", output::github::annotation(site))?;
            }
            return Ok(());
        }
        OutputFormat::Text if report.statistics => {
            for line in output::text::statistics(sites) {
                writeln!(streams.stdout, "{line}")?;
            }
        }
        OutputFormat::Text => {
            for site in sites {
                writeln!(streams.stdout, "{}", output::text::site_line(site, painter))?;
            }
        }
    }
    if report.quiet {
        return Ok(());
    }
    let safe = sites.iter().filter(|site| site.fix == FixState::Safe).count();
    let unsafe_only = sites.iter().filter(|site| site.fix == FixState::Unsafe).count();
    let skipped = skipped(tally);
    if sites.is_empty() {
        writeln!(streams.stdout, "No sites found{skipped}.")
    } else {
        writeln!(
            streams.stdout,
            "Found {} ({safe} fixable with `asyncfix fix`, {unsafe_only} more with `--unsafe-fixes`){skipped}.",
            output::text::plural(sites.len(), "site", "sites")
        )
    }
}

/// `diff` and `fix`: each site left with its reason, the count of sites
/// fixed by rule, then one closing line.
fn print_fix_summary(
    action: Action,
    rules: &RuleSet,
    tally: &Tally,
    quiet: bool,
    painter: Painter,
    stream: &mut dyn Write,
) -> io::Result<()> {
    for site in &tally.sites {
        writeln!(stream, "{}", output::text::left_line(site, painter))?;
    }
    if quiet {
        return Ok(());
    }
    let fixed = tally.fixed_by_rule.iter().map(|(&rule, &count)| {
        let rule = rules.rule(rule);
        (rule.code.as_str(), rule.name.as_str(), count)
    });
    for line in output::text::fixed_by_rule(fixed.collect()) {
        writeln!(stream, "{line}")?;
    }
    let verb = if action == Action::Diff { "Would fix" } else { "Fixed" };
    let mut line = format!(
        "{verb} {} in {}",
        output::text::plural(tally.fixed, "site", "sites"),
        output::text::plural(tally.files_changed, "file", "files")
    );
    if !tally.sites.is_empty() {
        line += "; ";
        line += &output::text::plural(tally.sites.len(), "site", "sites");
        line += " left";
    }
    line += &skipped(tally);
    line.push('.');
    writeln!(stream, "{line}")
}

/// `; N files skipped: ...` when files did not parse: they were not checked,
/// and the summary says so, as the exit status does (1, not 0).
fn skipped(tally: &Tally) -> String {
    match tally.syntax_errors {
        0 => String::new(),
        count => format!("; {} skipped: syntax error (listed above)", output::text::plural(count, "file", "files")),
    }
}

/// What the per-file runs produced, and what the walk could not read.
struct Run {
    results: Vec<FileResult>,
    walk_errors: Vec<String>,
    /// Symbolic links the walk met and did not follow.
    unfollowed: Vec<PathBuf>,
    /// `fix -`: the input as read, echoed back when it cannot be decoded.
    stdin_raw: Option<Vec<u8>>,
}

/// The result cache of a `check` of `files` (the files found under the
/// paths): fingerprinted with every Python file the projects' indexes may
/// read too, which the walk of the projects' top folders finds.
fn result_cache(args: &FileArgs, effective: &Effective, settings: &Settings, files: &[PathBuf]) -> ResultCache {
    let roots = crate::project::project_roots(args.paths.iter().map(PathBuf::as_path));
    let mut all: Vec<PathBuf> = files.to_vec();
    // The projects' top folders, unless given themselves (their files are `files`).
    let given: Vec<PathBuf> = args.paths.iter().filter_map(|path| std::fs::canonicalize(path).ok()).collect();
    let above: Vec<PathBuf> = roots.iter().filter(|root| root.is_dir() && !given.contains(root)).cloned().collect();
    if let Ok(found) = walk::discover(&above, &effective.excludes) {
        all.extend(found.files);
    }
    all.sort();
    all.dedup();
    let libraries = crate::index::site_packages::folders(&args.libraries.site_packages, &roots);
    let target = settings.native.as_ref().map(|native| native.version);
    let inputs = Inputs {
        targets: &args.paths,
        files: &all,
        recipes: &effective.recipes,
        libraries: &libraries,
        settings: format!("{effective:?}{target:?}"),
    };
    let top = roots
        .first()
        .map(|root| if root.is_dir() { root.clone() } else { root.parent().unwrap_or(root).to_path_buf() });
    let folder = args.cache.cache_dir.clone().unwrap_or_else(|| top.unwrap_or_default().join(cache::FOLDER));
    ResultCache::new(&folder, &inputs)
}

/// `-`: one file from standard input, named by `--stdin-filename`.
fn run_stdin(
    action: Action,
    args: &FileArgs,
    effective: &Effective,
    settings: &Settings,
    pool: &rayon::ThreadPool,
    streams: &mut Streams<'_>,
) -> Result<Run, Failure> {
    let mut raw = Vec::new();
    streams
        .stdin
        .read_to_end(&mut raw)
        .map_err(|err| Failure::Usage(format!("-: cannot read standard input: {err}")))?;
    let name = args.stdin_filename.clone().unwrap_or_else(|| PathBuf::from("-"));
    // Undecodable input is echoed back byte for byte by `fix -`.
    let stdin_raw = Some(raw.clone());
    let decoded = files::decode(raw);
    let project = pool.install(|| {
        let text = decoded.as_ref().map(|file| file.text.as_str()).unwrap_or_default();
        let source = StdinSource { path: &name, text };
        Project::load(&[], &[], &load_options(args, effective), &settings.rules, Some(&source))
    });
    let view = project.view(&name);
    let file = FileInfo { module: &view.module, index: view.index };
    let per_file = PerFile::new(settings, &effective.per_file_ignores, &[&name]).map_err(Failure::Usage)?;
    let settings = per_file.get(&name);
    let result = process_source(&name, file, view.self_contained, decoded.map(Some), action, false, settings);
    Ok(Run { results: vec![result], walk_errors: Vec::new(), unfollowed: Vec::new(), stdin_raw })
}

/// The lowest Django the projects holding `paths` allow; `None` when one of
/// them says nothing.
fn detect_target(paths: &[&Path]) -> Option<DjangoVersion> {
    let mut roots: Vec<PathBuf> = paths.iter().map(|path| project_root(path)).collect();
    roots.sort();
    roots.dedup();
    let versions: Option<Vec<DjangoVersion>> =
        roots.iter().map(|root| target::detect(root).map(|found| found.version)).collect();
    versions?.into_iter().min()
}

fn load_options<'a>(args: &'a FileArgs, effective: &'a Effective) -> LoadOptions<'a> {
    LoadOptions {
        excludes: &effective.excludes,
        site_packages: &args.libraries.site_packages,
        full_index: args.parsing.full_index,
    }
}

/// The files and folders named: walked, indexed, each file run in parallel.
fn run_paths(
    action: Action,
    args: &FileArgs,
    effective: &Effective,
    settings: &Settings,
    pool: &rayon::ThreadPool,
    show_progress: bool,
    review: Option<(Painter, &mut Streams<'_>)>,
) -> Result<Run, Failure> {
    let discovered = pool
        .install(|| walk::discover(&args.paths, &effective.excludes))
        .map_err(|err| Failure::Usage(err.to_string()))?;
    let files: Vec<&Path> = discovered.files.iter().map(PathBuf::as_path).collect();
    let per_file = PerFile::new(settings, &effective.per_file_ignores, &files).map_err(Failure::Usage)?;
    let cache = (action == Action::Check && review.is_none() && !args.cache.no_cache && !args.parsing.no_index)
        .then(|| pool.install(|| result_cache(args, effective, settings, &discovered.files)));
    if let Some(results) = cache.as_ref().and_then(ResultCache::load) {
        return Ok(Run { results, walk_errors: discovered.errors, unfollowed: discovered.unfollowed, stdin_raw: None });
    }
    let progress = Progress::new(files.len(), show_progress);
    let project = if args.parsing.no_index {
        Project::empty()
    } else {
        pool.install(|| {
            let (paths, files) = (&args.paths, &discovered.files);
            Project::load(paths, files, &load_options(args, effective), &settings.rules, None)
        })
    };
    progress.checking();
    if let Some((painter, streams)) = review {
        let results = super::review::review(&discovered.files, &project, &per_file, painter, streams)?;
        return Ok(Run { results, walk_errors: discovered.errors, unfollowed: discovered.unfollowed, stdin_raw: None });
    }
    let results: Vec<FileResult> = pool.install(|| {
        discovered
            .files
            .par_iter()
            .map(|path| {
                let view = project.view(path);
                let file = FileInfo { module: &view.module, index: view.index };
                let settings = per_file.get(path);
                // Read once already while loading the project, and no `async
                // def`; or no site to find, and no suppression comment to audit.
                let skip = view.cannot_hold_sites || (view.inert && !settings.report_unused_suppressions);
                let read = if skip { Ok(None) } else { files::read(path) };
                let result =
                    process_source(path, file, view.self_contained, read, action, action == Action::Fix, settings);
                progress.file_done();
                result
            })
            .collect()
    });
    progress.finish();
    if let Some(cache) = &cache
        && discovered.errors.is_empty()
    {
        cache.store(&results);
    }
    Ok(Run { results, walk_errors: discovered.errors, unfollowed: discovered.unfollowed, stdin_raw: None })
}
