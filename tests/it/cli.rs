//! The CLI end to end, in-process, on files in temporary directories: exact
//! output, exact exit codes (0 clean, 1 sites found, changes shown or sites
//! left, 2 usage, recipe or I/O error) and exact bytes on disk.
//!
//! Every path is absolute (inside a temp dir), so no test depends on or
//! changes the current directory.

use std::fs;
use std::path::Path;

use super::support::{Output, Project, run, run_bytes};

// ---------------------------------------------------------------------------
// Sources and the lines asyncfix prints about them
// ---------------------------------------------------------------------------

/// One safe DJ003 site at 5:12.
const CACHE_VIEW: &str = "\
from django.core.cache import cache


async def view(key):
    return cache.get(key)
";

const CACHE_VIEW_FIXED: &str = "\
from django.core.cache import cache
from asgiref.sync import sync_to_async


async def view(key):
    return await sync_to_async(cache.get)(key)
";

/// The DJ003 site in [`CACHE_VIEW`], after `PATH:`.
const CACHE_SITE: &str = "5:12: DJ003 [*] `cache.get(...)` talks to the cache backend synchronously inside `async def`";

/// One DJ001 site at 5:16 whose fix is unsafe: the receiver only looks like a model.
const UNSAFE_VIEW: &str = "\
class ItemView:
    model = None

    async def get_object(self, pk):
        return self.model.objects.get(pk=pk)
";

const UNSAFE_VIEW_FIXED: &str = "\
from asgiref.sync import sync_to_async
class ItemView:
    model = None

    async def get_object(self, pk):
        return await sync_to_async(self.model.objects.get)(pk=pk)
";

/// The DJ001 site in [`UNSAFE_VIEW`], after `PATH:`.
const UNSAFE_SITE: &str =
    "5:16: DJ001 [?] `self.model.objects.get(...)` runs a database query synchronously inside `async def`";

const UNSAFE_REASON: &str = " (not fixed: unsafe fix; apply with --unsafe-fixes)";

/// Async code, but nothing that reaches the database.
const CLEAN_VIEW: &str = "\
from django.core.cache import cache


def sync_view(key):
    return cache.get(key)


async def view(key):
    cache = {}
    return cache.get(key)
";

const ONE_SAFE_SUMMARY: &str = "Found 1 site (1 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs the CLI with empty standard input.
fn cli(args: &[&str]) -> Output {
    run(args, "")
}

/// `(exit code, stdout, stderr)`, to compare all three at once.
fn all(output: &Output) -> (u8, &str, &str) {
    (output.code, output.stdout.as_str(), output.stderr.as_str())
}

#[cfg(unix)]
fn inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().ino()
}

#[cfg(unix)]
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

// ---------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------

#[test]
fn check_prints_path_line_col_code_and_message_and_exits_1() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);

    let output = cli(&["check", &project.root()]);

    assert_eq!(all(&output), (1, format!("{views}:{CACHE_SITE}\n{ONE_SAFE_SUMMARY}").as_str(), ""));
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW, "check must not write");
}

#[test]
fn check_on_a_clean_directory_prints_no_sites_found_and_exits_0() {
    let project = Project::new();
    project.write("app/views.py", CLEAN_VIEW);
    project.write("app/models.py", "class Item:\n    pass\n");

    let output = cli(&["check", &project.root()]);

    assert_eq!(all(&output), (0, "No sites found.\n", ""));
}

#[test]
fn check_summary_counts_safe_and_unsafe_fixes_separately() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);
    let items = project.write("app/items.py", UNSAFE_VIEW);

    let output = cli(&["check", &project.root()]);

    let expected = format!(
        "{items}:{UNSAFE_SITE}\n{views}:{CACHE_SITE}\n\
         Found 2 sites (1 fixable with `asyncfix fix`, 1 more with `--unsafe-fixes`).\n"
    );
    assert_eq!(all(&output), (1, expected.as_str(), ""));
}

#[test]
fn check_colours_the_path_and_code_only_with_color_always() {
    let project = Project::new();
    let views = project.write("views.py", CACHE_VIEW);

    let plain = cli(&["check", &views, "--color", "never"]);
    let coloured = cli(&["check", &views, "--color", "always"]);

    assert_eq!(all(&plain), (1, format!("{views}:{CACHE_SITE}\n{ONE_SAFE_SUMMARY}").as_str(), ""));
    let expected = format!(
        "\x1b[1m{views}\x1b[0m:5:12: \x1b[31mDJ003\x1b[0m [*] `cache.get(...)` talks to the cache backend \
         synchronously inside `async def`\n{ONE_SAFE_SUMMARY}"
    );
    assert_eq!(all(&coloured), (1, expected.as_str(), ""));
}

// ---------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------

#[test]
fn diff_prints_a_unified_diff_writes_nothing_and_exits_1() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);
    #[cfg(unix)]
    let before = inode(&views);

    let output = cli(&["diff", &project.root()]);

    let expected = format!(
        "--- a{views}\n\
         +++ b{views}\n\
         @@ -1,5 +1,6 @@\n \
         from django.core.cache import cache\n\
         +from asgiref.sync import sync_to_async\n \n \n \
         async def view(key):\n\
         -    return cache.get(key)\n\
         +    return await sync_to_async(cache.get)(key)\n"
    );
    assert_eq!(all(&output), (1, expected.as_str(), "1  DJ003  django-cache-in-async\nWould fix 1 site in 1 file.\n"));
    assert_eq!(project.read("app/views.py"), CACHE_VIEW.as_bytes());
    #[cfg(unix)]
    assert_eq!(inode(&views), before, "diff must not replace the file");
    assert_eq!(project.listing("app"), ["views.py"]);
}

#[test]
fn diff_with_nothing_to_change_prints_no_diff_and_exits_0() {
    let project = Project::new();
    project.write("app/views.py", CLEAN_VIEW);

    let output = cli(&["diff", &project.root()]);

    assert_eq!(all(&output), (0, "", "Would fix 0 sites in 0 files.\n"));
}

#[test]
fn diff_marks_a_missing_final_newline() {
    let project = Project::new();
    let views = project.write("views.py", CACHE_VIEW.trim_end());

    let output = cli(&["diff", &views]);

    let expected = format!(
        "--- a{views}\n\
         +++ b{views}\n\
         @@ -1,5 +1,6 @@\n \
         from django.core.cache import cache\n\
         +from asgiref.sync import sync_to_async\n \n \n \
         async def view(key):\n\
         -    return cache.get(key)\n\
         \\ No newline at end of file\n\
         +    return await sync_to_async(cache.get)(key)\n\
         \\ No newline at end of file\n"
    );
    assert_eq!(all(&output), (1, expected.as_str(), "1  DJ003  django-cache-in-async\nWould fix 1 site in 1 file.\n"));
}

/// `diff` is the dry run of `fix`, and `fix` exits 1 on this tree; the
/// documented status says 1 for "sites left".
#[test]

fn diff_exits_1_when_sites_are_left_unfixed() {
    let project = Project::new();
    let items = project.write("items.py", UNSAFE_VIEW);

    let output = cli(&["diff", &items]);

    let stderr = format!("{items}:{UNSAFE_SITE}{UNSAFE_REASON}\nWould fix 0 sites in 0 files; 1 site left.\n");
    assert_eq!(all(&output), (1, "", stderr.as_str()));
}

// ---------------------------------------------------------------------------
// fix
// ---------------------------------------------------------------------------

#[test]
fn fix_rewrites_files_in_place_reports_the_count_and_exits_0() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    project.write(
        "app/rate.py",
        "from django.core.cache import cache\n\n\nasync def hit(key):\n    cache.incr(key)\n    return cache.get(key)\n",
    );
    project.write("app/clean.py", CLEAN_VIEW);

    let output = cli(&["fix", &project.root()]);

    assert_eq!(all(&output), (0, "3  DJ003  django-cache-in-async\nFixed 3 sites in 2 files.\n", ""));
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED);
    assert_eq!(
        project.read_text("app/rate.py"),
        "from django.core.cache import cache\nfrom asgiref.sync import sync_to_async\n\n\nasync def hit(key):\n    \
         await sync_to_async(cache.incr)(key)\n    return await sync_to_async(cache.get)(key)\n"
    );
    assert_eq!(project.read_text("app/clean.py"), CLEAN_VIEW);
    assert_eq!(project.listing("app"), ["clean.py", "rate.py", "views.py"], "no temporary file is left behind");
}

#[test]
fn fix_run_twice_changes_nothing_the_second_time() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);
    assert_eq!(cli(&["fix", &project.root()]).code, 0);
    #[cfg(unix)]
    let before = inode(&views);

    let output = cli(&["fix", &project.root()]);

    assert_eq!(all(&output), (0, "Fixed 0 sites in 0 files.\n", ""));
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED);
    #[cfg(unix)]
    assert_eq!(inode(&views), before, "an unchanged file is not rewritten");
}

#[test]
fn fix_leaves_an_unsafe_site_says_why_and_exits_1() {
    let project = Project::new();
    let items = project.write("app/items.py", UNSAFE_VIEW);
    #[cfg(unix)]
    let before = inode(&items);

    let output = cli(&["fix", &project.root()]);

    let expected = format!("{items}:{UNSAFE_SITE}{UNSAFE_REASON}\nFixed 0 sites in 0 files; 1 site left.\n");
    assert_eq!(all(&output), (1, expected.as_str(), ""));
    assert_eq!(project.read_text("app/items.py"), UNSAFE_VIEW);
    #[cfg(unix)]
    assert_eq!(inode(&items), before);
}

#[test]
fn fix_with_unsafe_fixes_applies_the_unsafe_site_and_exits_0() {
    let project = Project::new();
    project.write("app/items.py", UNSAFE_VIEW);

    let output = cli(&["fix", "--unsafe-fixes", &project.root()]);

    assert_eq!(all(&output), (0, "1  DJ001  django-orm-query-in-async\nFixed 1 site in 1 file.\n", ""));
    assert_eq!(project.read_text("app/items.py"), UNSAFE_VIEW_FIXED);
}

#[test]
fn fix_applies_what_it_can_and_lists_the_sites_left_with_their_reason() {
    let project = Project::new();
    let taken = project.write(
        "app/taken.py",
        "from django.core.cache import cache\n\n\ndef sync_to_async(value):\n    return value\n\n\n\
         async def view(key):\n    return cache.get(key)\n",
    );
    project.write("app/views.py", CACHE_VIEW);

    let output = cli(&["fix", &project.root()]);

    let expected = format!(
        "{taken}:9:12: DJ003 `cache.get(...)` talks to the cache backend synchronously inside `async def` \
         (not fixed: `sync_to_async` is bound to something else in this module)\n\
         1  DJ003  django-cache-in-async\nFixed 1 site in 1 file; 1 site left.\n"
    );
    assert_eq!(all(&output), (1, expected.as_str(), ""));
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED);
}

// ---------------------------------------------------------------------------
// Bytes outside the edits
// ---------------------------------------------------------------------------

#[test]
fn fix_keeps_bom_crlf_tabs_comments_and_odd_quotes_byte_for_byte() {
    let project = Project::new();
    let before: &[u8] = b"\xef\xbb\xbf# -*- coding: utf-8 -*-\r\n\
        \"\"\"Module doc: cache.get(key) here is text.\"\"\"\r\n\
        from django.core.cache import cache  # the cache\r\n\
        \r\n\
        X = '''it's \"quoted\" \\' cache.get(key)'''\r\n\
        \r\n\
        \r\n\
        async def view(key):\r\n\
        \t# cache.get(key) in a comment\r\n\
        \tvalue = cache.get(key, 'd\"efault')  # trailing  \r\n\
        \tlabel = f\"{key!r:>10}\" + r'\\d' + b\"\\xff\".decode(\"latin-1\")\r\n\
        \treturn value, label\r\n";
    let after: &[u8] = b"\xef\xbb\xbf# -*- coding: utf-8 -*-\r\n\
        \"\"\"Module doc: cache.get(key) here is text.\"\"\"\r\n\
        from django.core.cache import cache  # the cache\r\n\
        from asgiref.sync import sync_to_async\r\n\
        \r\n\
        X = '''it's \"quoted\" \\' cache.get(key)'''\r\n\
        \r\n\
        \r\n\
        async def view(key):\r\n\
        \t# cache.get(key) in a comment\r\n\
        \tvalue = await sync_to_async(cache.get)(key, 'd\"efault')  # trailing  \r\n\
        \tlabel = f\"{key!r:>10}\" + r'\\d' + b\"\\xff\".decode(\"latin-1\")\r\n\
        \treturn value, label\r\n";
    let path = project.write("odd.py", before);

    let check = cli(&["check", &path]);
    let output = cli(&["fix", &path]);

    // The BOM is not a column: the call starts at the second character of line 10.
    assert_eq!(
        all(&check),
        (
            1,
            format!(
                "{path}:10:10: DJ003 [*] `cache.get(...)` talks to the cache backend synchronously inside \
                 `async def`\n{ONE_SAFE_SUMMARY}"
            )
            .as_str(),
            ""
        )
    );
    assert_eq!(all(&output), (0, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", ""));
    assert_eq!(String::from_utf8_lossy(&project.read("odd.py")), String::from_utf8_lossy(after));
    assert_eq!(project.read("odd.py"), after);
}

#[test]
fn fix_keeps_crlf_inside_a_multiline_rewrite() {
    let project = Project::new();
    let before = "from app.models import Item\r\n\r\n\r\nasync def view(pk):\r\n    return (Item.objects\r\n            \
                  .filter(pk=pk)\r\n            .exists())\r\n";
    let after = "from app.models import Item\r\nfrom asgiref.sync import sync_to_async\r\n\r\n\r\nasync def view(pk):\r\n    \
                 return (await sync_to_async(lambda: Item.objects\r\n            .filter(pk=pk)\r\n            \
                 .exists())())\r\n";
    let path = project.write("views.py", before);

    let output = cli(&["fix", &path]);

    assert_eq!(all(&output), (0, "1  DJ001  django-orm-query-in-async\nFixed 1 site in 1 file.\n", ""));
    assert_eq!(project.read_text("views.py"), after);
}

#[test]
fn fix_keeps_a_missing_final_newline_missing() {
    let project = Project::new();
    let path = project.write("views.py", CACHE_VIEW.trim_end());

    let output = cli(&["fix", &path]);

    assert_eq!(all(&output), (0, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", ""));
    assert_eq!(project.read_text("views.py"), CACHE_VIEW_FIXED.trim_end());
}

// ---------------------------------------------------------------------------
// Permissions, read-only files, symlinks
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn fix_keeps_file_permissions() {
    let project = Project::new();
    let private = project.write("app/private.py", CACHE_VIEW);
    let script = project.write("app/script.py", CACHE_VIEW);
    set_mode(&private, 0o640);
    set_mode(&script, 0o755);

    let output = cli(&["fix", &project.root()]);

    assert_eq!(all(&output), (0, "2  DJ003  django-cache-in-async\nFixed 2 sites in 2 files.\n", ""));
    assert_eq!(project.read_text("app/private.py"), CACHE_VIEW_FIXED);
    assert_eq!(project.read_text("app/script.py"), CACHE_VIEW_FIXED);
    assert_eq!(format!("{:o}", mode(&private)), "640");
    assert_eq!(format!("{:o}", mode(&script)), "755");
}

#[cfg(unix)]
#[test]
fn fix_leaves_a_read_only_file_untouched_reports_it_and_exits_2() {
    let project = Project::new();
    let locked = project.write("app/locked.py", CACHE_VIEW);
    project.write("app/views.py", CACHE_VIEW);
    set_mode(&locked, 0o444);

    let output = cli(&["fix", &project.root()]);

    let stderr =
        format!("asyncfix: {locked}: file is read-only; left untouched\nasyncfix: 1 file could not be processed.\n");
    assert_eq!(all(&output), (2, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", stderr.as_str()));
    assert_eq!(project.read_text("app/locked.py"), CACHE_VIEW);
    assert_eq!(format!("{:o}", mode(&locked)), "444");
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED, "other files are still fixed");
    assert_eq!(project.listing("app"), ["locked.py", "views.py"], "no temporary file is left behind");
}

#[cfg(unix)]
#[test]
fn fix_does_not_complain_about_a_read_only_file_with_nothing_to_fix() {
    let project = Project::new();
    let locked = project.write("locked.py", CLEAN_VIEW);
    set_mode(&locked, 0o444);

    let output = cli(&["fix", &project.root()]);

    assert_eq!(all(&output), (0, "Fixed 0 sites in 0 files.\n", ""));
}

#[cfg(unix)]
#[test]
fn fix_through_a_symlink_rewrites_the_target_and_keeps_the_link() {
    let project = Project::new();
    let target = project.write("real/views.py", CACHE_VIEW);
    let link = project.path("link.py");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let output = cli(&["fix", &link]);

    assert_eq!(all(&output), (0, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", ""));
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_link(&link).unwrap(), Path::new(&target));
    assert_eq!(project.read_text("real/views.py"), CACHE_VIEW_FIXED);
}

// ---------------------------------------------------------------------------
// Files that cannot be processed
// ---------------------------------------------------------------------------

#[test]
fn non_utf8_file_is_reported_with_its_position_and_others_are_still_fixed() {
    let project = Project::new();
    let latin: &[u8] = b"x = 1\ny = 'caf\xe9'\n\n\nasync def f():\n    pass\n";
    let bad = project.write("app/latin.py", latin);
    project.write("app/views.py", CACHE_VIEW);

    let output = cli(&["fix", &project.root()]);

    let stderr = format!(
        "asyncfix: {bad}: 2:9: not valid UTF-8; file left untouched\nasyncfix: 1 file could not be processed.\n"
    );
    assert_eq!(all(&output), (2, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", stderr.as_str()));
    assert_eq!(project.read("app/latin.py"), latin);
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED);
}

/// A PEP 263 module in another encoding cannot hold a site without `async`: skipped, not an error.
#[test]
fn non_utf8_file_without_async_is_skipped_quietly() {
    let project = Project::new();
    project.write("latin.py", b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n");

    let output = cli(&["check", &project.root()]);

    assert_eq!(all(&output), (0, "No sites found.\n", ""));
}

/// Columns elsewhere do not count the BOM (see the byte-preservation test).
#[test]
fn non_utf8_position_does_not_count_the_bom() {
    let project = Project::new();
    let bad = project.write("bom.py", b"\xef\xbb\xbfx = '\xe9'\nasync def f():\n    pass\n");

    let output = cli(&["check", &bad]);

    let stderr = format!(
        "asyncfix: {bad}: 1:6: not valid UTF-8; file left untouched\nasyncfix: 1 file could not be processed.\n"
    );
    assert_eq!(all(&output), (2, "No sites found.\n", stderr.as_str()));
}

#[test]
fn syntax_error_file_is_reported_with_its_position_left_untouched_and_exits_1() {
    let project = Project::new();
    let broken_source = "from django.core.cache import cache\n\n\nasync def view(key):\n    x = = cache.get(key)\n";
    let broken = project.write("app/broken.py", broken_source);
    project.write("app/views.py", CACHE_VIEW);

    let fix = cli(&["fix", &project.root()]);

    let stderr = format!(
        "asyncfix: {broken}: 5:9: syntax error; file left untouched\nasyncfix: 1 file could not be processed.\n"
    );
    assert_eq!(
        all(&fix),
        (
            1,
            "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file; 1 file skipped: syntax error (listed above).\n",
            stderr.as_str()
        )
    );
    assert_eq!(project.read_text("app/broken.py"), broken_source);
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED, "other files are still fixed");

    let check = cli(&["check", &broken]);
    assert_eq!(all(&check), (1, "No sites found; 1 file skipped: syntax error (listed above).\n", stderr.as_str()));
}

#[test]
fn syntax_error_without_async_is_not_parsed_or_reported() {
    let project = Project::new();
    project.write("legacy.py", "print 'python 2'\nx = = 1\n");

    let output = cli(&["fix", &project.root()]);

    assert_eq!(all(&output), (0, "Fixed 0 sites in 0 files.\n", ""));
}

#[test]
fn nonexistent_path_is_reported_and_other_paths_are_still_processed() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);
    let missing = project.path("missing.py");
    let missing_dir = project.path("missing_dir");

    let output = cli(&["check", &missing, &project.path("app"), &missing_dir]);

    let stderr = format!(
        "asyncfix: {missing}: no such file or directory\nasyncfix: {missing_dir}: no such file or directory\n\
         asyncfix: 2 files could not be processed.\n"
    );
    assert_eq!(all(&output), (2, format!("{views}:{CACHE_SITE}\n{ONE_SAFE_SUMMARY}").as_str(), stderr.as_str()));

    let fix = cli(&["fix", &missing, &project.path("app")]);
    assert_eq!(fix.code, 2);
    assert_eq!(project.read_text("app/views.py"), CACHE_VIEW_FIXED);
}

// ---------------------------------------------------------------------------
// Walking directories
// ---------------------------------------------------------------------------

/// Walks `project` with `check` and returns the files it reported, relative
/// to the project, asserting the output is one [`CACHE_SITE`] per file.
fn reported_files(project: &Project, extra: &[&str]) -> Vec<String> {
    let root = project.root();
    let mut args = vec!["check", root.as_str()];
    args.extend_from_slice(extra);
    let output = cli(&args);
    assert_eq!(output.stderr, "");
    let prefix = format!("{root}/");
    let mut files = Vec::new();
    for line in output.stdout.lines() {
        if let Some(rest) = line.strip_prefix(&prefix) {
            let file = rest.strip_suffix(&format!(":{CACHE_SITE}")).unwrap_or_else(|| panic!("odd line {line:?}"));
            files.push(file.to_owned());
        }
    }
    files
}

#[test]
fn walk_skips_gitignored_files_inside_a_git_repository() {
    let project = Project::new();
    // The `ignore` crate honours `.gitignore` only inside a git repository.
    fs::create_dir(project.full(".git")).unwrap();
    project.write(".gitignore", "build/\n/generated.py\n*_pb2.py\n");
    project.write("app/views.py", CACHE_VIEW);
    project.write("build/lib/app/views.py", CACHE_VIEW);
    project.write("generated.py", CACHE_VIEW);
    project.write("app/generated.py", CACHE_VIEW);
    project.write("app/messages_pb2.py", CACHE_VIEW);

    assert_eq!(reported_files(&project, &[]), ["app/generated.py", "app/views.py"]);
}

#[test]
fn walk_honours_a_nested_gitignore() {
    let project = Project::new();
    fs::create_dir(project.full(".git")).unwrap();
    project.write("app/.gitignore", "scratch.py\n");
    project.write("app/views.py", CACHE_VIEW);
    project.write("app/scratch.py", CACHE_VIEW);
    project.write("scratch.py", CACHE_VIEW);

    assert_eq!(reported_files(&project, &[]), ["app/views.py", "scratch.py"]);
}

#[test]
fn walk_skips_hidden_directories_and_files() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    project.write(".tox/py312/app.py", CACHE_VIEW);
    project.write("app/.scratch/views.py", CACHE_VIEW);
    project.write("app/.hidden.py", CACHE_VIEW);

    assert_eq!(reported_files(&project, &[]), ["app/views.py"]);
}

#[test]
fn walk_skips_virtualenvs_by_their_pyvenv_cfg_and_the_usual_folders() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    project.write("env312/pyvenv.cfg", "home = /usr/bin\n");
    project.write("env312/lib/python3.12/django/views.py", CACHE_VIEW);
    project.write("tools/myenv/pyvenv.cfg", "home = /usr/bin\n");
    project.write("tools/myenv/lib/x.py", CACHE_VIEW);
    project.write("venv/lib/x.py", CACHE_VIEW);
    project.write("lib/site-packages/x.py", CACHE_VIEW);
    project.write("web/node_modules/x.py", CACHE_VIEW);
    project.write("app/__pycache__/x.py", CACHE_VIEW);

    assert_eq!(reported_files(&project, &[]), ["app/views.py"]);
}

#[test]
fn walk_only_picks_up_py_files() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    project.write("app/views.pyi", CACHE_VIEW);
    project.write("app/views.txt", CACHE_VIEW);
    project.write("app/script", CACHE_VIEW);

    assert_eq!(reported_files(&project, &[]), ["app/views.py"]);
}

#[test]
fn exclude_glob_skips_matching_files_and_directories() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    project.write("app/test_views.py", CACHE_VIEW);
    project.write("legacy/old.py", CACHE_VIEW);
    project.write("app/legacy/older.py", CACHE_VIEW);
    project.write("app/migrations/0001_initial.py", CACHE_VIEW);

    assert_eq!(
        reported_files(&project, &["--exclude", "legacy", "--exclude", "test_*.py", "--exclude", "**/migrations"]),
        ["app/views.py"]
    );
}

#[test]

fn exclude_accepts_an_absolute_glob() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    project.write("legacy/old.py", CACHE_VIEW);
    let legacy = project.path("legacy");

    assert_eq!(reported_files(&project, &["--exclude", &legacy]), ["app/views.py"]);
}

#[test]
fn invalid_exclude_glob_is_a_usage_error() {
    let project = Project::new();
    let views = project.write("views.py", CACHE_VIEW);

    let output = cli(&["fix", &project.root(), "--exclude", "["]);

    assert_eq!((output.code, output.stdout.as_str()), (2, ""));
    assert!(output.stderr.starts_with("asyncfix: invalid --exclude glob `[`: "), "{}", output.stderr);
    assert!(output.stderr.ends_with("unclosed character class; missing ']'\n"), "{}", output.stderr);
    assert_eq!(fs::read_to_string(views).unwrap(), CACHE_VIEW);
}

#[test]
fn explicitly_named_files_are_processed_even_if_excluded_ignored_or_hidden() {
    let project = Project::new();
    fs::create_dir(project.full(".git")).unwrap();
    project.write(".gitignore", "build/\n");
    let built = project.write("build/views.py", CACHE_VIEW);
    let hidden = project.write(".hidden/views.py", CACHE_VIEW);
    let legacy = project.write("legacy/views.py", CACHE_VIEW);
    let venv = project.write("env/lib/views.py", CACHE_VIEW);
    project.write("env/pyvenv.cfg", "");
    let text = project.write("notes.txt", CACHE_VIEW);

    let output = cli(&["fix", &legacy, &built, &venv, &hidden, &text, "--exclude", "legacy", "--exclude", "*.py"]);

    assert_eq!(all(&output), (0, "5  DJ003  django-cache-in-async\nFixed 5 sites in 5 files.\n", ""));
    for file in ["build/views.py", ".hidden/views.py", "legacy/views.py", "env/lib/views.py", "notes.txt"] {
        assert_eq!(project.read_text(file), CACHE_VIEW_FIXED, "{file}");
    }
}

#[test]
fn output_is_sorted_by_path_whatever_the_argument_order() {
    let project = Project::new();
    let a = project.write("a.py", CACHE_VIEW);
    let b_c = project.write("b/c.py", CACHE_VIEW);
    let b_d = project.write("b/d.py", CACHE_VIEW);
    let e = project.write("e.py", CACHE_VIEW);

    let output = cli(&["check", &e, &project.path("b"), &a]);

    let expected = format!(
        "{a}:{CACHE_SITE}\n{b_c}:{CACHE_SITE}\n{b_d}:{CACHE_SITE}\n{e}:{CACHE_SITE}\n\
         Found 4 sites (4 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n"
    );
    assert_eq!(all(&output), (1, expected.as_str(), ""));
}

#[test]
fn a_file_named_twice_is_processed_once() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);

    let check = cli(&["check", &project.path("app"), &views, &project.path("app/./views.py")]);
    let fix = cli(&["fix", &views, &project.path("app")]);

    assert_eq!(all(&check), (1, format!("{views}:{CACHE_SITE}\n{ONE_SAFE_SUMMARY}").as_str(), ""));
    assert_eq!(all(&fix), (0, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", ""));
}

/// With `fix`, the two spellings race in parallel on one file: the count is
/// doubled or one of them fails with "file changed while asyncfix was working on it".
#[test]

fn a_file_named_twice_through_dotdot_is_processed_once() {
    let project = Project::new();
    project.write("app/views.py", CACHE_VIEW);
    let roundabout = project.path("app/../app/views.py");

    let output = cli(&["check", &roundabout, &project.path("app")]);

    assert_eq!(output.code, 1);
    assert_eq!(output.stdout.lines().count(), 2, "one site and the summary, got:\n{}", output.stdout);
    assert!(output.stdout.ends_with(ONE_SAFE_SUMMARY), "{}", output.stdout);
}

// ---------------------------------------------------------------------------
// Standard input
// ---------------------------------------------------------------------------

#[test]
fn check_stdin_reports_under_the_stdin_filename() {
    let output = run(&["check", "-", "--stdin-filename", "app/views.py"], CACHE_VIEW);

    assert_eq!(all(&output), (1, format!("app/views.py:{CACHE_SITE}\n{ONE_SAFE_SUMMARY}").as_str(), ""));
}

#[test]
fn check_stdin_without_a_filename_reports_as_dash() {
    let output = run(&["check", "-"], CACHE_VIEW);

    assert_eq!(all(&output), (1, format!("-:{CACHE_SITE}\n{ONE_SAFE_SUMMARY}").as_str(), ""));
}

#[test]
fn fix_stdin_prints_the_fixed_source_and_the_summary_on_stderr() {
    let output = run(&["fix", "-", "--stdin-filename", "app/views.py"], CACHE_VIEW);

    assert_eq!(all(&output), (0, CACHE_VIEW_FIXED, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n"));
}

#[test]
fn fix_stdin_with_nothing_to_fix_echoes_the_source() {
    let output = run(&["fix", "-"], CLEAN_VIEW);

    assert_eq!(all(&output), (0, CLEAN_VIEW, "Fixed 0 sites in 0 files.\n"));
}

#[test]
fn fix_stdin_with_a_site_left_echoes_the_source_and_exits_1() {
    let output = run(&["fix", "-", "--stdin-filename", "app/items.py"], UNSAFE_VIEW);

    let stderr = format!("app/items.py:{UNSAFE_SITE}{UNSAFE_REASON}\nFixed 0 sites in 0 files; 1 site left.\n");
    assert_eq!(all(&output), (1, UNSAFE_VIEW, stderr.as_str()));
}

#[test]
fn diff_stdin_prints_the_diff_under_the_stdin_filename() {
    let output = run(&["diff", "-", "--stdin-filename", "app/views.py"], CACHE_VIEW);

    let expected = "--- a/app/views.py\n\
                    +++ b/app/views.py\n\
                    @@ -1,5 +1,6 @@\n \
                    from django.core.cache import cache\n\
                    +from asgiref.sync import sync_to_async\n \n \n \
                    async def view(key):\n\
                    -    return cache.get(key)\n\
                    +    return await sync_to_async(cache.get)(key)\n";
    assert_eq!(all(&output), (1, expected, "1  DJ003  django-cache-in-async\nWould fix 1 site in 1 file.\n"));
}

#[test]
fn stdin_cannot_be_combined_with_other_paths() {
    let project = Project::new();
    let views = project.write("views.py", CACHE_VIEW);

    let output = run(&["fix", "-", &views], CACHE_VIEW);

    assert_eq!(all(&output), (2, "", "asyncfix: `-` (standard input) cannot be combined with other paths\n"));
    assert_eq!(project.read_text("views.py"), CACHE_VIEW);
}

/// The in-process `run` takes stdin as text, so the BOM is the `U+FEFF` character.
#[test]

fn fix_stdin_keeps_a_bom() {
    let clean = run(&["fix", "-"], "\u{feff}x = 1\n");
    let fixed = run(&["fix", "-"], &format!("\u{feff}{CACHE_VIEW}"));

    assert_eq!(all(&clean), (0, "\u{feff}x = 1\n", "Fixed 0 sites in 0 files.\n"));
    assert_eq!(
        all(&fixed),
        (
            0,
            format!("\u{feff}{CACHE_VIEW_FIXED}").as_str(),
            "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n"
        )
    );
}

/// Exit 1 also means "sites left, here is the source"; a caller that takes
/// stdout as the new buffer would empty it.
#[test]
fn fix_stdin_echoes_source_with_a_syntax_error() {
    let source = "async def view(key):\n    x = = 1\n";

    let output = run(&["fix", "-", "--stdin-filename", "app/views.py"], source);

    let stderr = "asyncfix: app/views.py: 2:9: syntax error; file left untouched\n\
                  Fixed 0 sites in 0 files; 1 file skipped: syntax error (listed above).\n\
                  asyncfix: 1 file could not be processed.\n";
    assert_eq!(all(&output), (1, source, stderr));
}

/// Source that is not UTF-8 cannot be fixed, but the editor still gets it back.
#[test]
fn fix_stdin_echoes_bytes_that_are_not_utf8() {
    let source: &[u8] = b"async def view():\n    return '\xe9'\n";

    let (code, stdout, stderr) = run_bytes(&["fix", "-", "--stdin-filename", "app/views.py"], source);

    assert_eq!(code, 2);
    assert_eq!(stdout, source);
    assert_eq!(
        stderr,
        "asyncfix: app/views.py: 2:13: not valid UTF-8; file left untouched\nFixed 0 sites in 0 files.\n\
         asyncfix: 1 file could not be processed.\n"
    );
}

// ---------------------------------------------------------------------------
// Recipes, explain, user recipes
// ---------------------------------------------------------------------------

#[test]
fn recipes_lists_the_builtin_rules() {
    let output = cli(&["recipes"]);

    let expected = "\
CODE    NAME                                  FIX     SUMMARY
DJ001   django-orm-query-in-async             safe    Django ORM query run synchronously inside `async def`
DJ002   jwt-token-db-in-async                 safe    JWT token built or checked against the blacklist table inside `async def`
DJ003   django-cache-in-async                 safe    Django cache call made synchronously inside `async def`
DJ004   django-auth-db-in-async               safe    Django auth or shortcut function that queries the database inside `async def`
DJ101   project-db-helper-in-async            safe    Project function or method that touches the database, called inside `async def`
DJ102   model-instance-query-in-async         safe    Model instance method that queries, called inside `async def`
DJ103   lazy-relation-in-async                safe    Foreign key or one-to-one relation loaded lazily inside `async def`
DJ104   queryset-evaluated-in-async           safe    QuerySet evaluated implicitly (iterated, tested, indexed) inside `async def`
DJ105   transaction-atomic-in-async           none    `transaction.atomic()` used inside `async def`
DJ106   drf-db-in-async                       safe    Django REST framework serializer, object lookup or pagination that queries inside `async def`
DJ107   django-connection-in-async            safe    Django database connection handled synchronously inside `async def`
DJ108   django-cursor-in-async                none    Raw database cursor opened inside `async def`
DJ109   django-test-client-in-async           safe    Django's synchronous test client used inside `async def`
DJ110   wrapped-call-has-native-twin          safe    An awaited `sync_to_async` around a call Django has a native async twin for
DJ111   factory-boy-create-in-async           safe    factory_boy model factory that saves rows, called inside `async def`
DJ112   async-to-sync-in-async                safe    `async_to_sync` run inside `async def`, directly or by a project function
DJ113   lazy-request-user-in-async            safe    The authentication middleware's lazy `request.user` first used inside `async def`
DJ114   model-form-save-in-async              safe    A Django model form's `save()`, or its validation when that queries, inside `async def`
DJ115   template-render-in-async              safe    Template rendered inside `async def` whose context processors, context or user query
DJ116   service-object-in-async               safe    A django-service-objects service executed inside `async def`
SA001   sqlalchemy-lazy-load-in-async         safe    SQLAlchemy lazy relationship read on an AsyncSession object inside `async def`
SA002   sqlalchemy-expired-attribute-in-async safe    Attribute read after `commit()`/`rollback()` expired the object, inside `async def`
";
    assert_eq!(all(&output), (0, expected, ""));
}

/// A valid user recipe: `message.utils.jwt.validate_token` hits the cache.
const USER_RECIPE: &str = r#"code = "MSG001"
name = "message-jwt-helper"
summary = "Project JWT helper called inside `async def`"
message = "`{callee}` reads the token cache; wrap it in `{wrapper}`"
doc = "Finds `validate_token`."
applicability = "unsafe"

[[callable]]
names = ["message.utils.jwt"]
members = ["validate_token"]
"#;

#[test]
fn a_user_recipe_naming_project_code_keeps_that_code_in_the_index() {
    // Only the built-in recipes' packages (django, sqlalchemy...) are left to
    // the recipes; a user recipe about the project's own `message.utils.jwt`
    // must not hide the project's `message` package from the index.
    let project = Project::new();
    let recipe = project.write("recipes/msg.toml", USER_RECIPE);
    project.write("manage.py", "");
    project.write("message/__init__.py", "");
    project.write("message/utils/__init__.py", "");
    project.write("message/utils/jwt.py", "def validate_token(token):\n    return token\n");
    project.write(
        "message/service.py",
        "from message.utils.jwt import validate_token\n\n\ndef check(token):\n    return validate_token(token)\n",
    );
    let view = project.write(
        "app/views.py",
        "from message import service\n\n\nasync def view(token):\n    return service.check(token)\n",
    );

    let check = cli(&["check", &view, "--recipe", &recipe]);

    let expected = format!(
        "{view}:5:12: DJ101 [*] `service.check(...)` touches the database synchronously (`validate_token(...)`) inside `async def`\n\
         Found 1 site (1 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n"
    );
    assert_eq!(all(&check), (1, expected.as_str(), ""));
}

#[test]
fn recipes_lists_a_user_recipe_after_the_builtin_ones() {
    let project = Project::new();
    let recipe = project.write("recipes/msg.toml", USER_RECIPE);

    let output = cli(&["recipes", "--recipe", &recipe]);

    assert_eq!(output.code, 0);
    assert_eq!(output.stderr, "");
    assert_eq!(
        output.stdout.lines().last().unwrap(),
        "MSG001  message-jwt-helper                    unsafe  Project JWT helper called inside `async def`"
    );
    // The header, every built-in rule, then the user's.
    assert_eq!(output.stdout.lines().count(), asyncfix::recipe::BUILTIN_RECIPES.len() + 2);
}

#[test]
fn user_recipe_sites_are_reported_with_its_message_and_fixed_with_unsafe_fixes() {
    let project = Project::new();
    let recipe = project.write("recipes/msg.toml", USER_RECIPE);
    let source =
        "from message.utils.jwt import validate_token\n\n\nasync def auth(token):\n    return validate_token(token)\n";
    let auth = project.write("app/auth.py", source);

    let check = cli(&["check", &auth, "--recipe", &recipe]);
    let fix = cli(&["fix", &auth, "--recipe", &recipe, "--unsafe-fixes"]);

    let expected = format!(
        "{auth}:5:12: MSG001 [?] `validate_token(...)` reads the token cache; wrap it in `sync_to_async`\n\
         Found 1 site (0 fixable with `asyncfix fix`, 1 more with `--unsafe-fixes`).\n"
    );
    assert_eq!(all(&check), (1, expected.as_str(), ""));
    assert_eq!(all(&fix), (0, "1  MSG001  message-jwt-helper\nFixed 1 site in 1 file.\n", ""));
    assert_eq!(
        project.read_text("app/auth.py"),
        "from message.utils.jwt import validate_token\nfrom asgiref.sync import sync_to_async\n\n\n\
         async def auth(token):\n    return await sync_to_async(validate_token)(token)\n"
    );
}

#[test]
fn explain_prints_the_rule_documentation() {
    let output = cli(&["explain", "DJ003"]);

    let expected = r#"# django-cache-in-async (DJ003)

Django cache call made synchronously inside `async def`

## What it does
Finds calls of the synchronous Django cache API inside `async def`:
`django.core.cache.cache.get(...)`, `caches["name"].set(...)` and the other
methods that reach the backend (`get set add delete has_key get_many set_many
get_or_set incr decr touch delete_many clear`), however the module imports
them (`from django.core.cache import cache as c` included).

## Why is this bad?
The database cache backend raises `SynchronousOnlyOperation`; the others
block the event loop on network I/O. Django ships `aget`, `aset` and friends
for async code.

## Example
```python
async def check_rate_limit(key):
    hits = cache.get(key, [])
    cache.set(key, hits, timeout=60)
```

Use instead:
```python
async def check_rate_limit(key):
    hits = await sync_to_async(cache.get)(key, [])
    await sync_to_async(cache.set)(key, hits, timeout=60)
```

## Fix safety
Safe: the receiver resolves through the module's imports to Django's cache.
A local variable or parameter named `cache` is something else and is not
reported.

Recipe: builtin:recipes/django-cache.toml

Native async twins:
  add -> aadd (since 4.0)
  clear -> aclear (since 4.0)
  decr -> adecr (since 4.0)
  delete -> adelete (since 4.0)
  delete_many -> adelete_many (since 4.0)
  get -> aget (since 4.0)
  get_many -> aget_many (since 4.0)
  get_or_set -> aget_or_set (since 4.0)
  has_key -> ahas_key (since 4.0)
  incr -> aincr (since 4.0)
  set -> aset (since 4.0)
  set_many -> aset_many (since 4.0)
  touch -> atouch (since 4.0)
"#;
    assert_eq!(all(&output), (0, expected, ""));
}

#[test]
fn explain_accepts_a_lowercase_code() {
    let lower = cli(&["explain", "dj003"]);
    let upper = cli(&["explain", "DJ003"]);

    assert_eq!(all(&lower), all(&upper));
}

#[test]
fn explain_of_an_unknown_code_exits_2() {
    let output = cli(&["explain", "NOPE"]);

    assert_eq!(all(&output), (2, "", "asyncfix: unknown rule code `NOPE`; `asyncfix recipes` lists them\n"));
}

#[test]
fn explain_shows_a_user_recipe_and_where_it_came_from() {
    let project = Project::new();
    let recipe = project.write("recipes/msg.toml", USER_RECIPE);

    let output = cli(&["explain", "MSG001", "--recipe", &recipe]);

    let expected = format!(
        "# message-jwt-helper (MSG001)\n\nProject JWT helper called inside `async def`\n\n\
         Finds `validate_token`.\n\nRecipe: {recipe}\n"
    );
    assert_eq!(all(&output), (0, expected.as_str(), ""));
}

#[test]
fn missing_recipe_file_is_an_error() {
    let project = Project::new();
    let missing = project.path("missing.toml");

    let output = cli(&["recipes", "--recipe", &missing]);

    let stderr = format!("asyncfix: invalid recipe: {missing}:1:1: cannot read recipe: no such file or directory\n");
    assert_eq!(all(&output), (2, "", stderr.as_str()));
}

// ---------------------------------------------------------------------------
// --select, --ignore, --output-format
// ---------------------------------------------------------------------------

/// A DJ001 site at 6:12 and a DJ003 site at 7:5, both safe.
const ORM_AND_CACHE: &str = "\
from django.core.cache import cache
from app.models import Item


async def view(pk):
    item = Item.objects.get(pk=pk)
    cache.set(pk, item)
";

const ORM_SITE: &str = "6:12: DJ001 [*] `Item.objects.get(...)` runs a database query synchronously inside `async def`";
const CACHE_SET_SITE: &str =
    "7:5: DJ003 [*] `cache.set(...)` talks to the cache backend synchronously inside `async def`";

#[test]
fn select_and_ignore_take_codes_and_prefixes() {
    let project = Project::new();
    let path = project.write("views.py", ORM_AND_CACHE);
    let both = format!(
        "{path}:{ORM_SITE}\n{path}:{CACHE_SET_SITE}\n\
         Found 2 sites (2 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n"
    );
    let orm_only = format!("{path}:{ORM_SITE}\n{ONE_SAFE_SUMMARY}");
    let cache_only = format!("{path}:{CACHE_SET_SITE}\n{ONE_SAFE_SUMMARY}");
    let none = "No sites found.\n".to_owned();

    for (extra, code, expected) in [
        (&[][..], 1, &both),
        (&["--select", "DJ"][..], 1, &both),
        (&["--select", "dj00"][..], 1, &both),
        (&["--select", "DJ001,DJ003"][..], 1, &both),
        (&["--select", "DJ003"][..], 1, &cache_only),
        (&["--select", "DJ003", "--select", "DJ001"][..], 1, &both),
        (&["--ignore", "DJ003"][..], 1, &orm_only),
        (&["--select", "DJ", "--ignore", "DJ001"][..], 1, &cache_only),
        (&["--ignore", "DJ00"][..], 0, &none),
    ] {
        let mut args = vec!["check", path.as_str()];
        args.extend_from_slice(extra);
        let output = cli(&args);
        assert_eq!(all(&output), (code, expected.as_str(), ""), "{extra:?}");
    }
}

#[test]
fn select_applies_to_fix_too() {
    let project = Project::new();
    let path = project.write("views.py", ORM_AND_CACHE);

    let output = cli(&["fix", &path, "--select", "DJ003"]);

    assert_eq!(all(&output), (0, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", ""));
    assert_eq!(
        project.read_text("views.py"),
        "from django.core.cache import cache\nfrom app.models import Item\nfrom asgiref.sync import sync_to_async\n\n\n\
         async def view(pk):\n    item = Item.objects.get(pk=pk)\n    await sync_to_async(cache.set)(pk, item)\n"
    );
}

#[test]
fn unknown_code_in_select_or_ignore_exits_2_and_touches_nothing() {
    let project = Project::new();
    let path = project.write("views.py", ORM_AND_CACHE);

    for extra in [&["--select", "DJ003,NOPE"][..], &["--ignore", "DJ9"][..]] {
        let bad = extra[1].rsplit(',').next().unwrap();
        let mut args = vec!["fix", path.as_str()];
        args.extend_from_slice(extra);

        let output = cli(&args);

        let stderr = format!("asyncfix: unknown rule code `{bad}`; `asyncfix recipes` lists them\n");
        assert_eq!(all(&output), (2, "", stderr.as_str()), "{extra:?}");
        assert_eq!(project.read_text("views.py"), ORM_AND_CACHE);
    }
}

#[test]
fn json_output_lists_code_location_end_and_fix_of_every_site() {
    let project = Project::new();
    let views = project.write("app/views.py", CACHE_VIEW);
    let taken = project.write(
        "app/taken.py",
        "from django.core.cache import cache\n\n\ndef sync_to_async(value):\n    return value\n\n\n\
         async def view(key):\n    return cache.get(key)\n",
    );
    let items = project.write("app/items.py", UNSAFE_VIEW);

    let output = cli(&["check", &project.root(), "--output-format", "json"]);

    assert_eq!((output.code, output.stderr.as_str()), (1, ""));
    assert!(output.stdout.ends_with("]\n"));
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let cache_message = "`cache.get(...)` talks to the cache backend synchronously inside `async def`";
    let expected = serde_json::json!([
        {
            "path": items,
            "code": "DJ001",
            "name": "django-orm-query-in-async",
            "message": "`self.model.objects.get(...)` runs a database query synchronously inside `async def`",
            "location": { "line": 5, "column": 16 },
            "end_location": { "line": 5, "column": 45 },
            "fix": "unsafe",
            "no_fix_reason": null,
            "range": { "start": 85, "end": 114 },
            "edits": [
                edit("from asgiref.sync import sync_to_async\n", (1, 1), 0),
                edit("await sync_to_async(", (5, 16), 85),
                edit(")", (5, 38), 107),
            ],
        },
        {
            "path": taken,
            "code": "DJ003",
            "name": "django-cache-in-async",
            "message": cache_message,
            "location": { "line": 9, "column": 12 },
            "end_location": { "line": 9, "column": 26 },
            "fix": null,
            "no_fix_reason": "`sync_to_async` is bound to something else in this module",
            "range": { "start": 115, "end": 129 },
            "edits": [],
        },
        {
            "path": views,
            "code": "DJ003",
            "name": "django-cache-in-async",
            "message": cache_message,
            "location": { "line": 5, "column": 12 },
            "end_location": { "line": 5, "column": 26 },
            "fix": "safe",
            "no_fix_reason": null,
            "range": { "start": 70, "end": 84 },
            "edits": [
                edit("from asgiref.sync import sync_to_async\n", (2, 1), 36),
                edit("await sync_to_async(", (5, 12), 70),
                edit(")", (5, 21), 79),
            ],
        },
    ]);
    assert_eq!(value, expected);
}

/// An insertion as the JSON output lists it: at a line and column, and a byte offset.
fn edit(content: &str, (line, column): (usize, usize), offset: usize) -> serde_json::Value {
    serde_json::json!({
        "content": content,
        "location": { "line": line, "column": column },
        "end_location": { "line": line, "column": column },
        "range": { "start": offset, "end": offset },
    })
}

#[test]
fn json_output_for_a_clean_tree_is_an_empty_array_and_exits_0() {
    let project = Project::new();
    project.write("views.py", CLEAN_VIEW);

    let output = cli(&["check", &project.root(), "--output-format", "json"]);

    assert_eq!(all(&output), (0, "[]\n", ""));
}

// ---------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------

/// `fix -` for an editor: when standard output cannot be written, the run
/// fails (exit 2, with why) rather than report a fix nobody received.
#[test]
fn fix_from_stdin_fails_when_stdout_cannot_be_written() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else { return };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_asyncfix"))
        .args(["fix", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), CACHE_VIEW.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr, "asyncfix: cannot write output: No space left on device (os error 28)\n");
}

#[test]
fn jobs_beyond_the_cap_are_a_usage_error() {
    let project = Project::new();
    project.write("views.py", CACHE_VIEW);

    for jobs in ["5000", "0"] {
        let output = cli(&["check", &project.root(), "--jobs", jobs]);
        assert_eq!((output.code, output.stdout.as_str()), (2, ""), "{jobs}");
        assert!(
            output
                .stderr
                .starts_with(&format!("error: invalid value '{jobs}' for '--jobs <N>': {jobs} is not in 1..=256")),
            "{}",
            output.stderr
        );
    }
    assert_eq!(cli(&["check", &project.root(), "--jobs", "2"]).code, 1);
}

#[test]
fn missing_paths_is_a_usage_error() {
    let output = cli(&["check"]);

    assert_eq!((output.code, output.stdout.as_str()), (2, ""));
    assert!(
        output.stderr.starts_with("error: the following required arguments were not provided:\n  <PATH>...\n"),
        "{}",
        output.stderr
    );
}

#[test]
fn version_prints_on_stdout_and_exits_0() {
    let output = cli(&["--version"]);

    assert_eq!(all(&output), (0, format!("asyncfix {}\n", env!("CARGO_PKG_VERSION")).as_str(), ""));
}

#[test]
fn two_models_claiming_one_reverse_accessor_resolve_the_same_way_on_every_run() {
    // Two apps never installed together may both point an `Article` at one
    // model: `member.article_set` is one of them, the same one every time.
    let project = Project::new();
    project.write("accounts/__init__.py", "");
    project.write("accounts/models.py", "from django.db import models\n\n\nclass Member(models.Model):\n    pass\n");
    for app in ["blog", "news"] {
        project.write(&format!("{app}/__init__.py"), "");
        project.write(
            &format!("{app}/models.py"),
            "from accounts.models import Member\nfrom django.db import models\n\n\n\
             class Article(models.Model):\n    author = models.ForeignKey(Member, on_delete=models.CASCADE)\n",
        );
    }
    project.write("views.py", "async def view(user):\n    return user\n");

    let outputs: Vec<String> = (0..8).map(|_| cli(&["index", &project.root()]).stdout).collect();

    assert!(outputs[0].contains(".article_set manager of blog.models.Article"), "{}", outputs[0]);
    assert!(outputs.iter().all(|output| output == &outputs[0]), "the index differs between runs");
}

/// Applies `patch` with `git apply` in a new repository at `project`'s root.
fn git_apply(project: &Project, patch: &[u8]) {
    fs::write(project.full("fix.patch"), patch).unwrap();
    let git =
        |args: &[&str]| std::process::Command::new("git").args(args).current_dir(project.full("")).output().unwrap();
    assert!(git(&["init", "-q"]).status.success());
    let applied = git(&["apply", "fix.patch"]);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
}

/// `asyncfix diff .` from a project's root prints paths without `./`, a
/// patch `git apply` takes; `check` prints the same paths.
#[test]
fn diff_from_the_project_root_is_a_patch_git_applies() {
    let project = Project::new();
    project.write(
        "app/views.py",
        "from app.models import Book\n\n\nasync def view(pk):\n    return Book.objects.get(pk=pk)\n",
    );
    project.write("app/models.py", "from django.db import models\n\n\nclass Book(models.Model):\n    pass\n");
    let asyncfix = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_asyncfix"))
            .args(args)
            .current_dir(project.full(""))
            .output()
            .unwrap()
    };
    let check = asyncfix(&["check", ".", "--color", "never"]);
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("app/views.py:5:12: DJ001"), "{check:?}");
    let diff = asyncfix(&["diff", ".", "--color", "never"]);
    let patch = String::from_utf8(diff.stdout).unwrap();
    assert!(patch.starts_with("--- a/app/views.py\n+++ b/app/views.py\n"), "{patch}");
    git_apply(&project, patch.as_bytes());
    let fixed = fs::read_to_string(project.full("app/views.py")).unwrap();
    assert!(fixed.contains("await sync_to_async(Book.objects.get)(pk=pk)"), "{fixed}");
}

/// A BOM, classic Mac line breaks and a lone `\r` in an LF file: `diff`
/// prints a patch `git apply` takes, and applying it gives byte for byte what
/// `fix` writes; `check` counts a lone `\r` as a line break, as Python does.
#[test]
fn diff_of_bom_and_lone_cr_files_is_the_patch_of_what_fix_writes() {
    let body = |eol: &str| {
        ["from django.core.cache import cache", "", "", "async def view(key):", "    return cache.get(key)", ""]
            .join(eol)
    };
    let files = [
        ("bom.py", format!("\u{feff}{}", body("\n"))),
        ("cr.py", body("\r")),
        ("crlf.py", body("\r\n")),
        ("mixed.py", format!("import os\r{}", body("\n"))),
    ];
    let applied = Project::new();
    let fixed = Project::new();
    for (name, text) in &files {
        applied.write(name, text);
        fixed.write(name, text);
    }
    let in_dir = |dir: &Project, program: &str, args: &[&str]| {
        std::process::Command::new(program).args(args).current_dir(dir.full("")).output().unwrap()
    };
    let check = in_dir(&applied, env!("CARGO_BIN_EXE_asyncfix"), &["check", "cr.py", "mixed.py", "--color", "never"]);
    let check = String::from_utf8(check.stdout).unwrap();
    assert!(check.starts_with("cr.py:5:12: DJ003") && check.contains("\nmixed.py:6:12: DJ003"), "{check}");

    let diff = in_dir(&applied, env!("CARGO_BIN_EXE_asyncfix"), &["diff", ".", "--color", "never"]);
    assert_eq!(diff.status.code(), Some(1), "{}", String::from_utf8_lossy(&diff.stderr));
    git_apply(&applied, &diff.stdout);
    let fix = in_dir(&fixed, env!("CARGO_BIN_EXE_asyncfix"), &["fix", "."]);
    assert_eq!(fix.status.code(), Some(0), "{}", String::from_utf8_lossy(&fix.stderr));

    for (name, text) in &files {
        let written = fs::read(fixed.full(name)).unwrap();
        assert_ne!(written, text.as_bytes(), "{name} was not fixed");
        assert_eq!(fs::read(applied.full(name)).unwrap(), written, "{name}: the patch differs from the fix");
    }
    let cr = fs::read_to_string(fixed.full("cr.py")).unwrap();
    assert_eq!(
        cr,
        body("\r")
            .replace("cache\r", "cache\rfrom asgiref.sync import sync_to_async\r")
            .replace("return cache.get(key)", "return await sync_to_async(cache.get)(key)")
    );
}

/// A file name that is not UTF-8 (Latin-1 `café.py`) is printed with the
/// byte escaped in text and JSON, where U+FFFD would hide which file it is,
/// percent-encoded in a SARIF URI, and quoted as git quotes it in a diff,
/// which `git apply` takes.
#[cfg(unix)]
#[test]
fn non_utf8_file_names_are_shown_escaped_and_patched() {
    use std::os::unix::ffi::OsStrExt;

    let project = Project::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
    let source = "from django.core.cache import cache\n\n\nasync def view(key):\n    return cache.get(key)\n";
    fs::write(project.full("").join(name), source).unwrap();
    let asyncfix = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_asyncfix"))
            .args(args)
            .current_dir(project.full(""))
            .output()
            .unwrap();
        (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };

    let (text, _) = asyncfix(&["check", ".", "--color", "never"]);
    assert!(text.starts_with("caf\\xe9.py:5:12: DJ003"), "{text}");
    let (json, _) = asyncfix(&["check", ".", "--output-format", "json"]);
    assert!(json.contains(r#""path": "caf\\xe9.py""#), "{json}");
    // A URI holds the byte itself, percent-encoded.
    let (sarif, _) = asyncfix(&["check", ".", "--output-format", "sarif"]);
    assert!(sarif.contains(r#""uri": "caf%E9.py""#), "{sarif}");
    let (patch, stderr) = asyncfix(&["diff", ".", "--color", "never"]);
    assert!(patch.starts_with("--- \"a/caf\\351.py\"\n+++ \"b/caf\\351.py\"\n"), "{patch}{stderr}");
    git_apply(&project, patch.as_bytes());
    let fixed = fs::read_to_string(project.full("").join(name)).unwrap();
    assert!(fixed.contains("await sync_to_async(cache.get)(key)"), "{fixed}");
}

const TWO_RULES: &str = "from django.core.cache import cache\nfrom django.db import models\n\n\nclass Book(models.Model):\n    pass\n\n\nasync def view(pk):\n    Book.objects.get(pk=pk)\n    Book.objects.count()\n    return cache.get(\"k\")\n";

#[test]
fn check_statistics_counts_sites_per_rule() {
    let project = Project::new();
    let path = project.write("app.py", TWO_RULES);
    let output = run(&["check", &path, "--statistics", "--color", "never"], "");
    let expected = "\
2  DJ001  [*]  django-orm-query-in-async
1  DJ003  [*]  django-cache-in-async
Found 3 sites (3 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).
";
    assert_eq!((output.code, output.stdout.as_str(), output.stderr.as_str()), (1, expected, ""));
}

#[test]
fn check_github_format_prints_one_annotation_per_site() {
    let project = Project::new();
    let path = project.write("app.py", TWO_RULES);
    let output = run(&["check", &path, "--output-format", "github"], "");
    let file = path.replace(':', "%3A").replace(',', "%2C");
    let expected = format!(
        "::error title=asyncfix (DJ001),file={file},line=10,col=5,endLine=10,endColumn=28::{path}:10:5: DJ001 `Book.objects.get(...)` runs a database query synchronously inside `async def`\n\
         ::error title=asyncfix (DJ001),file={file},line=11,col=5,endLine=11,endColumn=25::{path}:11:5: DJ001 `Book.objects.count()` runs a database query synchronously inside `async def`\n\
         ::error title=asyncfix (DJ003),file={file},line=12,col=12,endLine=12,endColumn=26::{path}:12:12: DJ003 `cache.get(...)` talks to the cache backend synchronously inside `async def`\n"
    );
    assert_eq!((output.code, output.stdout.as_str(), output.stderr.as_str()), (1, expected.as_str(), ""));
}
