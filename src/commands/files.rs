//! `check`, `diff` and `fix` over the paths given: find the files, load the
//! project, run the pipeline on each file in parallel, print, and choose the
//! exit status.

use std::io::Write;
use std::path::PathBuf;

use rayon::prelude::*;

use super::Failure;
use crate::cli::{ColorChoice, FileArgs, OutputFormat};
use crate::output::{self, FixState, Located, Painter};
use crate::pipeline::{Action, FileErrorKind, FileInfo, FileResult, process_source};
use crate::project::{Project, StdinSource};
use crate::settings::Settings;
use crate::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Streams, files, walk};

pub(super) fn process(action: Action, args: &FileArgs, streams: &mut Streams<'_>) -> Result<u8, Failure> {
    let settings = Settings::from_args(super::load_rules(&args.recipes)?, args).map_err(Failure::Usage)?;
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
                &settings.rules,
                Some(&StdinSource { path: &name, text }),
                args.parsing.full_index,
            )
        });
        let view = project.view(&name);
        let file = FileInfo { module: &view.module, index: view.index };
        vec![process_source(&name, file, view.self_contained, decoded.map(Some), action, false, &settings)]
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
                    &settings.rules,
                    None,
                    args.parsing.full_index,
                )
            })
        };
        let settings = &settings;
        pool.install(|| {
            discovered
                .files
                .par_iter()
                .map(|path| {
                    let view = project.view(path);
                    let file = FileInfo { module: &view.module, index: view.index };
                    // Read once already while loading the project, and no `async def`.
                    let read = if view.cannot_hold_sites { Ok(None) } else { files::read(path) };
                    process_source(path, file, view.self_contained, read, action, action == Action::Fix, settings)
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
        if action == Action::Fix && from_stdin {
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
        match action {
            Action::Check => {}
            Action::Diff => {
                if let Some((before, after)) = &result.diff {
                    streams
                        .stdout
                        .write_all(output::diff::unified(&result.display, before, after, painter).as_bytes())?;
                }
            }
            Action::Fix => {}
        }
    }

    match action {
        Action::Check => {
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
        Action::Diff | Action::Fix => {
            let verb = if action == Action::Diff { "Would fix" } else { "Fixed" };
            let left_stream: &mut dyn Write =
                if action == Action::Fix && !from_stdin { streams.stdout } else { streams.stderr };
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
        let findings = match action {
            Action::Check | Action::Fix => !all_sites.is_empty(),
            // Sites `fix` would leave are findings too.
            Action::Diff => files_changed > 0 || !all_sites.is_empty(),
        };
        if findings || syntax_errors > 0 { EXIT_FINDINGS } else { EXIT_CLEAN }
    };
    Ok(code)
}
