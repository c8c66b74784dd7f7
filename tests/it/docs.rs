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
    assert_eq!(output.stdout, "Fixed 3 sites in 1 file.\n", "{}", output.stderr);
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
    let documented = blocks(&guide, "").into_iter().find(|block| block.contains("invalid recipe")).unwrap();
    let documented_error = documented.lines().find(|line| line.starts_with("asyncfix:")).unwrap();
    let printed = output.stderr.replace(&format!("{}/", temp.path().display()), "");
    assert_eq!(printed.trim_end(), documented_error);
}
