//! Every `fixtures/recipes/invalid/NAME.toml` is a user recipe that must be
//! rejected: `recipes`, `check` and `fix` with `--recipe NAME.toml` print
//! `asyncfix: invalid recipe: PATH:` and the line of `NAME.error` (the
//! position and the message), exit 2, and `fix` touches no file.
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

    let outputs = [
        ("recipes", run(&["recipes", "--recipe", &recipe], "")),
        ("check", run(&["check", &app, "--recipe", &recipe], "")),
        ("fix", run(&["fix", &app, "--recipe", &recipe], "")),
    ];
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
