//! The commands: `check`, `diff` and `fix` over paths ([`files`]), and the
//! ones that describe asyncfix itself: `recipes`, `explain`, `index`,
//! `dump-tree`, `completions`, `man`.

mod files;
mod generated;
mod review;

use std::io;

use crate::cli::{Cli, Command, RecipeArgs};
use crate::pipeline::Action;
use crate::project::{LoadOptions, Project};
use crate::recipe::{self, RuleSet};
use crate::{EXIT_CLEAN, Streams, fix, parse, walk};

pub enum Failure {
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

pub fn load_rules(args: &RecipeArgs) -> Result<RuleSet, Failure> {
    load_recipes(args.no_builtin_recipes, &args.recipes)
}

/// The built-in recipes (unless `no_builtin`) and the user's.
fn load_recipes(no_builtin: bool, user: &[std::path::PathBuf]) -> Result<RuleSet, Failure> {
    let builtin = if no_builtin { &[][..] } else { &recipe::BUILTIN_RECIPES[..] };
    RuleSet::load_from(builtin, user).map_err(|err| Failure::Usage(format!("invalid recipe: {err}")))
}

pub fn execute(cli: Cli, streams: &mut Streams<'_>) -> Result<u8, Failure> {
    match cli.command {
        Command::Check(args) => files::process(Action::Check, &args, streams),
        Command::Diff(args) => files::process(Action::Diff, &args, streams),
        Command::Fix(args) => files::process(Action::Fix, &args, streams),
        Command::Recipes(args) => {
            let rules = load_rules(&args)?;
            // The name column fits the longest name, the users' recipes' included.
            let width = rules.rules.iter().map(|rule| rule.name.len()).max().unwrap_or(0).max(30);
            writeln!(streams.stdout, "{:<7} {:<width$} {:<7} SUMMARY", "CODE", "NAME", "FIX")?;
            for rule in &rules.rules {
                let fix = match (rule.rewrite, rule.applicability) {
                    (recipe::Rewrite::None, _) => "none",
                    (_, fix::Applicability::Safe) => "safe",
                    (_, fix::Applicability::Unsafe) => "unsafe",
                };
                writeln!(streams.stdout, "{:<7} {:<width$} {:<7} {}", rule.code, rule.name, fix, rule.summary)?;
            }
            Ok(EXIT_CLEAN)
        }
        Command::Explain { code, recipes } => {
            let rules = load_rules(&recipes)?;
            let Some(rule) = rules.by_code(&code) else {
                return Err(Failure::Usage(format!("unknown rule code `{code}`; `asyncfix recipes` lists them")));
            };
            writeln!(
                streams.stdout,
                "# {} ({})\n\n{}\n\n{}\n\nRecipe: {}",
                rule.name, rule.code, rule.summary, rule.doc, rule.origin
            )?;
            let mut twins: Vec<_> = rules.twins.iter().filter(|twin| rules.rule(twin.rule).code == rule.code).collect();
            if !twins.is_empty() {
                twins.sort_by(|a, b| (&a.since, &a.sync).cmp(&(&b.since, &b.sync)));
                writeln!(streams.stdout, "\nNative async twins:")?;
                for twin in twins {
                    let since = twin.since.as_ref().map_or(String::new(), |since| format!(" (since {since})"));
                    let on = twin.receiver.as_ref().map_or(String::new(), |receiver| format!(" on `{receiver}`"));
                    writeln!(streams.stdout, "  {} -> {}{on}{since}", twin.sync, twin.name)?;
                }
            }
            Ok(EXIT_CLEAN)
        }
        Command::Index { path, files, recipes, libraries } => {
            let rules = load_rules(&recipes)?;
            if !path.exists() {
                return Err(Failure::Usage(format!("{}: no such file or directory", path.display())));
            }
            let targets = std::slice::from_ref(&path);
            let discovered = walk::discover(targets, &[]).map_err(|err| Failure::Usage(err.to_string()))?;
            let options = LoadOptions { site_packages: &libraries.site_packages, ..LoadOptions::default() };
            let project = Project::load(targets, &discovered.files, &options, &rules, None);
            if files {
                for file in project.parsed_files() {
                    writeln!(streams.stdout, "{}", file.display())?;
                }
            } else {
                streams.stdout.write_all(project.describe().as_bytes())?;
            }
            Ok(EXIT_CLEAN)
        }
        Command::Completions { shell } => {
            generated::completions(shell, streams.stdout);
            Ok(EXIT_CLEAN)
        }
        Command::Man { dir } => {
            generated::man(dir.as_deref(), streams.stdout).map_err(|err| match &dir {
                Some(dir) => Failure::Usage(format!("{}: cannot write the manual: {err}", dir.display())),
                None => Failure::from(err),
            })?;
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
                let file = crate::files::decode(raw)
                    .map_err(|reason| Failure::Usage(format!("{}: {reason}", path.display())))?;
                file.text
            };
            let tree = parse::parse(&text).ok_or_else(|| Failure::Usage("parsing was cancelled".to_owned()))?;
            streams.stdout.write_all(parse::dump(&tree, &text).as_bytes())?;
            Ok(EXIT_CLEAN)
        }
    }
}
