//! Every `fixtures/recipes/invalid/NAME.toml` is a user recipe that must be
//! rejected: `recipes`, `check` and `fix` with `--recipe NAME.toml` print
//! `asyncfix: invalid recipe: PATH:` and the line of `NAME.error` (the
//! position and the message), exit 2, and `fix` touches no file. A recipe
//! with an `[orm]` table is loaded with `--no-builtin-recipes`, since the
//! built-in ORM table would be declared twice.
//!
//! `UPDATE_FIXTURES=1 cargo test` rewrites the `.error` files.

use std::fs;
use std::path::Path;

use super::support::{Project, run};

/// A project file with a site, so a `fix` that ran would change it.
const VIEW: &str = "from django.core.cache import cache\n\n\nasync def view(key):\n    return cache.get(key)\n";

#[test]
fn invalid_recipes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recipes/invalid");
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut recipes: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    recipes.sort();
    assert!(!recipes.is_empty());
    let mut failures = Vec::new();
    for recipe in &recipes {
        if let Err(message) = check_rejected(recipe, update) {
            failures.push(format!("{}: {message}", recipe.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn check_rejected(fixture: &Path, update: bool) -> Result<(), String> {
    let project = Project::new();
    let recipe = project.write("recipe.toml", fs::read(fixture).unwrap());
    project.write("app/views.py", VIEW);
    let app = project.path("app");
    let prefix = format!("asyncfix: invalid recipe: {recipe}:");

    // A recipe that declares `[orm]` replaces the built-in one, which only
    // `--no-builtin-recipes` allows: that is how its own errors are reached.
    let alone = fs::read_to_string(fixture).unwrap().lines().any(|line| line.trim() == "[orm]");
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--recipe", recipe.as_str()]);
        if alone {
            all.push("--no-builtin-recipes");
        }
        run(&all, "")
    };
    let outputs = [("recipes", with(&["recipes"])), ("check", with(&["check", &app])), ("fix", with(&["fix", &app]))];
    let error_path = fixture.with_extension("error");
    if update && let Some(message) = outputs[0].1.stderr.strip_prefix(&prefix) {
        fs::write(&error_path, message).unwrap();
    }
    let expected = format!("{prefix}{}", fs::read_to_string(&error_path).unwrap_or_default());
    let mut problems = Vec::new();
    for (command, output) in &outputs {
        if (output.code, output.stdout.as_str(), output.stderr.as_str()) != (2, "", expected.as_str()) {
            problems.push(format!(
                "{command}: exit {}, stdout {:?}, stderr {:?}",
                output.code, output.stdout, output.stderr
            ));
        }
    }
    if project.read_text("app/views.py") != VIEW || project.listing("app") != ["views.py"] {
        problems.push("fix with a broken recipe touched a file".to_owned());
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("expected {expected:?}\n{}", problems.join("\n"))) }
}

/// The built-in recipes, copied, with `edit` applied to the named one; the
/// arguments that load exactly those.
fn edited_builtins(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> Vec<String> {
    let recipes = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
    let mut args = vec!["--no-builtin-recipes".to_owned()];
    let mut entries: Vec<_> = fs::read_dir(&recipes).unwrap().map(|entry| entry.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let mut text = fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == name {
            let edited = edit(text.clone());
            assert_ne!(edited, text, "the edit changed nothing in {name}");
            text = edited;
        }
        let copy = dir.join(path.file_name().unwrap());
        fs::write(&copy, text).unwrap();
        args.extend(["--recipe".to_owned(), copy.display().to_string()]);
    }
    args
}

/// `SQLAlchemy` rules run on the shared engine: `message`, `applicability`
/// and `rewrite` in their recipe change what `check` and `diff` print.
#[test]
fn sqlalchemy_rules_honour_their_recipe() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/sqlalchemy_seed/input");
    let project = project.to_str().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let run_with = |args: &[String], command: &str| {
        let mut all = vec![command, project, "--color", "never", "--select", "SA001"];
        all.extend(args.iter().map(String::as_str));
        run(&all, "")
    };

    let unchanged = edited_builtins(temp.path(), "sqlalchemy-lazy-load.toml", |text| text + "\n");
    let baseline = run_with(&unchanged, "check");
    assert_eq!(baseline.code, 1, "{}", baseline.stderr);
    assert!(
        baseline.stdout.contains("SA001 [*] `user.role_profiles` lazy-loads a relationship"),
        "{}",
        baseline.stdout
    );
    assert!(run_with(&unchanged, "diff").stdout.contains("role_profiles_result = await session.execute("));

    let unsafe_message = edited_builtins(temp.path(), "sqlalchemy-lazy-load.toml", |text| {
        text.replacen("message = \"", "applicability = \"unsafe\"\nmessage = \"LOADS {method} OF {via}: ", 1)
    });
    let check = run_with(&unsafe_message, "check");
    assert!(check.stdout.contains("SA001 [?] LOADS role_profiles OF user: `user.role_profiles`"), "{}", check.stdout);
    let diff = run_with(&unsafe_message, "diff");
    assert!(!diff.stdout.contains("role_profiles_result"), "an unsafe fix was applied:\n{}", diff.stdout);
    assert!(diff.stderr.contains("Would fix 0 sites"), "{}", diff.stderr);

    let report_only = edited_builtins(temp.path(), "sqlalchemy-lazy-load.toml", |text| {
        text.replacen("matcher = ", "rewrite = \"none\"\nmatcher = ", 1)
    });
    let check = run_with(&report_only, "check");
    assert!(check.stdout.contains("SA001 `user.role_profiles`"), "{}", check.stdout);
    assert!(run_with(&report_only, "diff").stdout.is_empty());

    let refresh = edited_builtins(temp.path(), "sqlalchemy-lazy-load.toml", |text| {
        text.replacen("matcher = ", "rewrite = \"refresh\"\nmatcher = ", 1)
    });
    let diff = run_with(&refresh, "diff");
    assert!(
        diff.stdout.contains("await session.refresh(user, attribute_names=[\"role_profiles\"])"),
        "{}",
        diff.stdout
    );
    // The command line still chooses over the recipe.
    let mut explicit = refresh.clone();
    explicit.extend(["--sqlalchemy-fix".to_owned(), "explicit".to_owned()]);
    assert!(run_with(&explicit, "diff").stdout.contains("role_profiles_result = await session.execute("));

    // The session methods are vocabulary too: without `add` the user created
    // in `signup` is never in the session, so only `login`'s user, loaded
    // by `execute`, is reported.
    let no_add = edited_builtins(temp.path(), "sqlalchemy-lazy-load.toml", |text| {
        text.replacen("add = [\"add\", \"add_all\"]", "add = []", 1)
    });
    let check = run_with(&no_add, "check");
    assert!(baseline.stdout.contains("auth.py:65:") && baseline.stdout.contains("auth.py:42:"), "{}", baseline.stdout);
    assert!(check.stdout.contains("auth.py:65:") && !check.stdout.contains("auth.py:42:"), "{}", check.stdout);
}
