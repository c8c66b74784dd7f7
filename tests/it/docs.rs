//! The examples in the documentation run as written.

use std::fs;
use std::path::Path;

use super::support::run;

/// The fenced blocks of one language in a Markdown file, in order.
fn blocks(markdown: &str, language: &str) -> Vec<String> {
    let fence = format!("```{language}\n");
    markdown.split(&fence).skip(1).map(|rest| rest.split("```").next().unwrap().to_owned()).collect()
}

#[test]
fn recipe_guide_example_fixes_as_documented() {
    let guide = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/recipes.md")).unwrap();
    let recipe = &blocks(&guide, "toml")[0];
    let python = blocks(&guide, "python");
    let (before, after) = (&python[0], &python[1]);
    let temp = tempfile::tempdir().unwrap();
    let recipe_path = temp.path().join("acme.toml");
    let source_path = temp.path().join("view.py");
    fs::write(&recipe_path, recipe).unwrap();
    fs::write(&source_path, before).unwrap();
    let output = run(&["fix", "--recipe", recipe_path.to_str().unwrap(), source_path.to_str().unwrap()], "");
    assert_eq!(output.stdout, "3  ACME001  acme-sync-helper-in-async\nFixed 3 sites in 1 file.\n", "{}", output.stderr);
    assert_eq!(output.code, 0);
    assert_eq!(fs::read_to_string(&source_path).unwrap(), *after);
}

#[test]
fn recipe_guide_error_example_is_what_asyncfix_prints() {
    let guide = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/recipes.md")).unwrap();
    let recipe = blocks(&guide, "toml")[0].replace("names = [\"charge\", \"refund\"]", "method-names = [\"charge\"]");
    let temp = tempfile::tempdir().unwrap();
    fs::write(temp.path().join("broken.toml"), recipe).unwrap();
    let source = temp.path().join("view.py");
    fs::write(&source, "async def f():\n    pass\n").unwrap();
    let broken = temp.path().join("broken.toml");
    let output = run(&["check", "--recipe", broken.to_str().unwrap(), source.to_str().unwrap()], "");
    assert_eq!(output.code, 2);
    let documented = blocks(&guide, "").into_iter().find(|block| block.contains("method-names")).unwrap();
    let documented_error = documented.lines().find(|line| line.starts_with("asyncfix:")).unwrap();
    let printed = output.stderr.replace(&format!("{}/", temp.path().display()), "");
    assert_eq!(printed.trim_end(), documented_error);
}

/// Every key of the recipe format (each field of the raw serde types in
/// `src/recipe/raw.rs`, kebab-cased) is documented in `docs/recipes.md`.
#[test]
fn every_recipe_key_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = fs::read_to_string(root.join("docs/recipes.md")).unwrap();
    let raw = fs::read_to_string(root.join("src/recipe/raw.rs")).unwrap();
    let keys: Vec<String> = raw
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub "))
        .filter_map(|rest| rest.split_once(':'))
        .filter(|(name, _)| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(|(name, _)| name.replace('_', "-"))
        .collect();
    assert!(keys.len() > 20, "found only {keys:?} in raw.rs");
    let documented = |key: &String| {
        [format!("`{key}`"), format!("`[{key}]`"), format!("`[[{key}]]`")]
            .iter()
            .any(|form| guide.contains(form.as_str()))
    };
    let missing: Vec<&String> = keys.iter().filter(|key| !documented(key)).collect();
    assert!(missing.is_empty(), "recipe keys missing from docs/recipes.md: {missing:?}");
}

/// The guide's format 1 error is the one the broken-recipe fixture expects.
#[test]
fn recipe_guide_format_1_error_is_the_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = fs::read_to_string(root.join("docs/recipes.md")).unwrap();
    let expected = fs::read_to_string(root.join("fixtures/recipes/invalid/format-1-list.error")).unwrap();
    let documented = blocks(&guide, "").into_iter().find(|block| block.contains("recipe format 2 moved")).unwrap();
    assert_eq!(documented.trim_end(), format!("asyncfix: invalid recipe: old.toml:{}", expected.trim_end()));
}

/// The guide's extra examples are the fixture recipes, word for word, so
/// the fixtures prove what the guide shows.
#[test]
fn recipe_guide_examples_are_the_fixture_recipes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = fs::read_to_string(root.join("docs/recipes.md")).unwrap();
    let examples = blocks(&guide, "toml");
    for name in ["drf_serializer.toml", "archive_method.toml"] {
        let recipe = fs::read_to_string(root.join("fixtures/recipes").join(name)).unwrap();
        assert!(examples.contains(&recipe), "docs/recipes.md does not show fixtures/recipes/{name} as it is");
    }
}
