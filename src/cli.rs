//! Command-line arguments as the user typed them (clap), and their
//! validation into the settings the run uses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// More worker threads than this only cost memory and start-up time: the
/// work is one file per task, and a machine's cores are far fewer.
pub const MAX_JOBS: i64 = 256;

#[derive(Debug, Parser)]
#[command(
    name = "asyncfix",
    version,
    about = "Find and fix synchronous database calls inside async Python code (Django, Channels, JWT, cache).",
    after_help = "Exit status: 0 nothing found (or everything fixed), 1 sites found, changes shown or sites left, 2 usage, recipe or I/O error, 141 the output's reader went away."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every site: `path:line:col: CODE message`.
    Check(FileArgs),
    /// Print the unified diff `fix` would apply; write nothing.
    Diff(FileArgs),
    /// Rewrite the files in place.
    Fix(FileArgs),
    /// List the loaded rules.
    Recipes(RecipeArgs),
    /// Print a rule's documentation.
    Explain {
        /// The rule code, such as DJ001.
        code: String,
        #[command(flatten)]
        recipes: RecipeArgs,
    },
    /// Print what the project index knows about the project holding PATH:
    /// models, relations, and functions that touch the database, with why.
    Index {
        /// A file or folder of the project.
        path: PathBuf,
        /// Print the files the index parsed instead, one per line: the
        /// async files, the model modules, and what they reach that can
        /// matter to the database (see README, "The project index").
        #[arg(long)]
        files: bool,
        #[command(flatten)]
        recipes: RecipeArgs,
        #[command(flatten)]
        libraries: LibraryArgs,
    },
    /// Print the tree-sitter tree of a Python file, for recipe authors.
    DumpTree {
        /// The file (`-` for standard input).
        path: PathBuf,
    },
    /// Print a shell completion script: `asyncfix completions bash >
    /// ~/.local/share/bash-completion/completions/asyncfix`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `asyncfix man | man -l -`.
    Man {
        /// Write `asyncfix.1` and one page per command (`asyncfix-check.1`,
        /// ...) into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RecipeArgs {
    /// A recipe file to load beside the built-in ones (repeatable).
    #[arg(long = "recipe", value_name = "FILE")]
    pub recipes: Vec<PathBuf>,
    /// Load only the `--recipe` files: start from a copy of `recipes/` to
    /// change a built-in rule.
    #[arg(long)]
    pub no_builtin_recipes: bool,
}

#[derive(Debug, Args)]
pub struct LibraryArgs {
    /// A folder of installed packages (a virtualenv's `site-packages`) whose
    /// modules the project imports: the index reads the helpers and models
    /// it uses there, and never checks or fixes them (repeatable; a `.venv`,
    /// `venv` or `env` virtualenv in the project is read without it).
    #[arg(long = "site-packages", value_name = "DIR")]
    pub site_packages: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Files or directories to process; `-` reads the source from standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub recipes: RecipeArgs,
    /// Only these rule codes or code prefixes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub select: Vec<String>,
    /// Leave out these rule codes or code prefixes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub ignore: Vec<String>,
    /// Also apply fixes that rest on a guess.
    #[arg(long, overrides_with = "no_unsafe_fixes")]
    pub unsafe_fixes: bool,
    /// With `fix`: show each fix and ask (y: apply, n: skip, a: this and the
    /// rest of the file, q: stop); needs a terminal.
    #[arg(long)]
    pub interactive: bool,
    /// Apply only safe fixes, whatever the configuration says.
    #[arg(long, overrides_with = "unsafe_fixes")]
    pub no_unsafe_fixes: bool,
    /// Skip paths matching this glob while walking directories (repeatable;
    /// replaces the configuration's `exclude`).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The one wrapper every fix uses: `sync_to_async`,
    /// `database_sync_to_async` or a dotted `module.name` [default: the
    /// rule's, else `database_sync_to_async` in a module that imports
    /// Channels, else `sync_to_async`]
    #[arg(long, value_name = "NAME")]
    pub wrapper: Option<String>,
    #[command(flatten)]
    pub libraries: LibraryArgs,
    /// Worker threads, 1 to 256 (default: one per core).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=MAX_JOBS))]
    pub jobs: Option<u16>,
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The file name to report for source read from standard input.
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// The Django the fixes are for: a version (`4.2`), or `auto`, the lowest
    /// the project's requirements allow (a lock file's pin first). Where it
    /// has the native async method, the fix uses it (`await qs.aget(...)`).
    /// [default: auto]
    #[arg(long, value_name = "VERSION")]
    pub target_django: Option<crate::target::TargetDjango>,
    /// Force how fixes are written: `wrap` (`sync_to_async` everywhere) or
    /// `native` (async twins wherever one exists, whatever the version).
    #[arg(long, value_enum)]
    pub style: Option<FixStyle>,
    /// How `SQLAlchemy` lazy relationship reads are rewritten [default: the
    /// SA001 recipe's `rewrite`, `explicit` for the built-in one]
    #[arg(long, value_enum)]
    pub sqlalchemy_fix: Option<crate::fix::SqlAlchemyFix>,
    #[command(flatten)]
    pub parsing: ParsingArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// What `check` reports, and how.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How `check` prints its findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    /// With `check`: a count of sites per rule instead of the sites.
    #[arg(long)]
    pub statistics: bool,
    /// With `check`: also report suppression comments that suppress nothing
    /// (AF100): `# noqa: CODE` and `# asyncfix: ignore[CODE]` naming an
    /// asyncfix rule, and a bare `# asyncfix: ignore`.
    #[arg(long)]
    pub report_unused_suppressions: bool,
    /// Print the sites and errors only: no closing summary line, no
    /// progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Where the configuration comes from (README, "Configuration").
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Read the configuration from this file (an `asyncfix.toml`, or a
    /// `pyproject.toml` with `[tool.asyncfix]`) instead of looking for one.
    #[arg(long = "config", value_name = "FILE", conflicts_with = "isolated")]
    pub file: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long)]
    pub isolated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixStyle {
    /// Wrap every site in `sync_to_async` (or the rule's wrapper).
    Wrap,
    /// Use Django's native async twin wherever there is one.
    Native,
}

/// `check`'s result cache (see README, "Speed").
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// `check`: neither read nor write the result cache.
    #[arg(long)]
    pub no_cache: bool,
    /// `check`: keep the result cache here (default: `.asyncfix_cache` at the
    /// top of the first path's project).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// How much is parsed: hidden switches for the tests that compare the fast
/// paths with parsing everything, and for measuring what the index costs.
#[derive(Debug, Args)]
pub struct ParsingArgs {
    /// Parse every module of the project for the index, not only the ones
    /// async code reaches (for testing that both give the same result).
    #[arg(long, hide = true)]
    pub full_index: bool,
    /// Parse every function body of the files checked, not only the ones a
    /// finding can depend on (for testing that both give the same result).
    #[arg(long, hide = true)]
    pub full_parse: bool,
    /// Check each file on its own, without the project index (for measuring
    /// what the index costs).
    #[arg(long, hide = true, conflicts_with = "full_index")]
    pub no_index: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `path:line:col: CODE [*] message` per site, and a closing line.
    Text,
    /// `path:line:col: CODE message` per site, nothing else.
    Concise,
    Json,
    /// SARIF 2.1.0, with fixes, for code scanning.
    Sarif,
    /// GitHub Actions annotations (`::error file=...::message`).
    Github,
}
