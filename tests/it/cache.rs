//! The result cache of `check` (`src/cache.rs`): the same command on an
//! unchanged tree prints what the last run printed, from the cache; a change
//! to anything the run reads makes it look again.

use std::fs;
use std::path::PathBuf;

use super::support::{Project, run_binary};

const MODELS: &str = "\
from django.db import models


class Order(models.Model):
    total = models.IntegerField()


def archive(pk):
    Order.objects.filter(pk=pk).delete()
";

const VIEWS: &str = "\
from shop.models import archive


async def close_order(request, pk):
    archive(pk)
";

fn shop() -> Project {
    let project = Project::new();
    project.write("pyproject.toml", "[project]\nname = \"shop\"\n");
    project.write("shop/__init__.py", "");
    project.write("shop/models.py", MODELS);
    project.write("shop/views.py", VIEWS);
    project
}

/// The cache files under `folder`.
fn cache_files(folder: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(folder) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn an_unchanged_tree_is_answered_from_the_cache() {
    let project = shop();
    let first = run_binary(&project.full(""), &["check", "shop/views.py", "--color", "never"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(first.stdout.contains("DJ101"), "{}", first.stdout);
    let files = cache_files(&project.full(".asyncfix_cache"));
    assert_eq!(files.len(), 1, "one cache file per command line");
    assert_eq!(project.read_text(".asyncfix_cache/.gitignore"), "*\n");

    // The second run prints what the cache holds: changed by hand, it shows.
    let cached = fs::read_to_string(&files[0]).unwrap();
    assert!(cached.contains("touches the database synchronously"));
    fs::write(&files[0], cached.replace("touches the database synchronously", "CACHED")).unwrap();
    let second = run_binary(&project.full(""), &["check", "shop/views.py", "--color", "never"]);
    assert_eq!(second.code, 1);
    assert_eq!(second.stdout, first.stdout.replace("touches the database synchronously", "CACHED"));

    // Another command line has its own cache file, and looks for itself.
    let json = run_binary(&project.full(""), &["check", "shop/views.py", "--output-format", "json"]);
    assert!(!json.stdout.contains("CACHED"), "{}", json.stdout);
    assert_eq!(cache_files(&project.full(".asyncfix_cache")).len(), 2);
}

#[test]
fn a_change_to_anything_the_run_reads_makes_it_look_again() {
    let project = shop();
    let check = || run_binary(&project.full(""), &["check", "shop/views.py", "--color", "never"]);
    assert_eq!(check().code, 1);
    // A module outside the path checked: the helper no longer queries.
    project.write("shop/models.py", MODELS.replace("Order.objects.filter(pk=pk).delete()", "return pk"));
    let edited = check();
    assert_eq!((edited.code, edited.stdout.as_str()), (0, "No sites found.\n"), "{}", edited.stderr);
    // It queries again, and the configuration beside the project ignores it.
    project.write("shop/models.py", MODELS);
    assert_eq!(check().code, 1);
    project.write("pyproject.toml", "[project]\nname = \"shop\"\n\n[tool.asyncfix]\nignore = [\"DJ101\"]\n");
    assert_eq!(check().code, 0);
    // A file that appears under the project.
    project.write("pyproject.toml", "[project]\nname = \"shop\"\n");
    assert_eq!(check().code, 1);
    project.write("shop/models/__init__.py", "from .orders import archive\n");
    project.write("shop/models/orders.py", MODELS.replace("Order.objects.filter(pk=pk).delete()", "return pk"));
    fs::remove_file(project.full("shop/models.py")).unwrap();
    assert_eq!(check().code, 0);
}

#[test]
fn no_cache_neither_reads_nor_writes_and_cache_dir_moves_it() {
    let project = shop();
    let plain = run_binary(&project.full(""), &["check", ".", "--no-cache"]);
    assert_eq!(plain.code, 1);
    assert!(!project.full(".asyncfix_cache").exists());
    let elsewhere = tempfile::tempdir().unwrap();
    let folder = elsewhere.path().join("cache");
    let moved = run_binary(&project.full(""), &["check", ".", "--cache-dir", folder.to_str().unwrap()]);
    assert_eq!((moved.code, moved.stdout.as_str()), (1, plain.stdout.as_str()));
    assert!(!project.full(".asyncfix_cache").exists());
    assert_eq!(cache_files(&folder).len(), 1);
}
