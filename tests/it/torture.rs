//! The corpus torture test: files built to break the pipeline (line endings,
//! odd whitespace, huge and deeply nested sources, broken syntax, odd file
//! system entries, a file that changes under asyncfix), each run through the
//! CLI in a temporary directory or on standard input.
//!
//! Every fixed output is held to the same invariants ([`check_invariants`]):
//! it parses, a second `fix` changes nothing, the only lines that changed
//! gained an `await` of the wrapper or are the wrapper's import, and a file
//! without `async` comes out byte for byte.
//!
//! Bugs found here are tests marked `#[ignore = "bug: ..."]`, asserting the
//! behaviour asyncfix should have.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use super::support::{Output, Project, python_compiles, run};

// ---------------------------------------------------------------------------
// Invariants, shared with the fuzz tests
// ---------------------------------------------------------------------------

/// The names a fix wraps calls with (an alias would need its own entry).
pub const WRAPPERS: [&str; 2] = ["sync_to_async", "database_sync_to_async"];

/// Whether tree-sitter parses `text` without an error or missing node (a
/// lone `\r` read as the line break it is, as asyncfix reads files).
pub fn parses(text: &str) -> bool {
    let Ok(file) = asyncfix::files::decode(text.as_bytes().to_vec()) else { return false };
    asyncfix::parse::parse(&file.text).is_some_and(|tree| !tree.root_node().has_error())
}

/// `asyncfix fix -`: the fixed source is on stdout.
pub fn fix_stdin(text: &str) -> Output {
    run(&["fix", "-", "--color", "never"], text)
}

/// A line that imports the wrapper: `from m import x`, `import m`, or the
/// wrapper's name added to a parenthesised import list (`    sync_to_async,`).
pub fn is_import_line(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("from ") || line.starts_with("import ") || WRAPPERS.contains(&line.trim_end_matches(','))
}

/// Whether `small` is `large` with characters taken out (edits only inserted).
fn is_subsequence(small: &str, large: &str) -> bool {
    let mut large = large.chars();
    small.chars().all(|wanted| large.any(|c| c == wanted))
}

fn without_parentheses(line: &str) -> String {
    line.chars().filter(|c| !matches!(c, '(' | ')')).collect()
}

/// Whether a line that changed changed the way a fix changes lines: it only
/// gained text (the old line is a subsequence of the new one) and it awaits
/// the wrapper, is an import, or only gained parentheses (the last line of a
/// multi-line `lambda:` wrap).
fn is_wrapping_change(old: &str, new: &str) -> bool {
    if old == new {
        return true;
    }
    // `await sync_to_async(`, or through a module: `await asgiref.sync.sync_to_async(`.
    let wraps = new.contains("await ") && WRAPPERS.iter().any(|wrapper| new.contains(&format!("{wrapper}(")));
    is_subsequence(old, new) && (wraps || is_import_line(new) || without_parentheses(old) == without_parentheses(new))
}

/// Line by line: every line of `before` is still there in order, unchanged or
/// changed as [`is_wrapping_change`] allows, and every line in between is an
/// inserted import. A fix never deletes, joins or splits lines, so the
/// alignment is searched directly (a diff can pair identical lines in a way
/// that hides this); on failure the message shows the `similar` line diff.
pub fn changed_lines_only_wrap(before: &str, after: &str) -> Result<(), String> {
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let new: Vec<&str> = after.split_inclusive('\n').collect();
    let diff = || similar::TextDiff::from_lines(before, after).unified_diff().context_radius(1).to_string();
    let Some(inserted) = new.len().checked_sub(old.len()) else {
        return Err(format!("lines were deleted or joined:\n{}", diff()));
    };
    // reachable[d]: the first `i` old lines match the first `i + d` new lines.
    let mut reachable = vec![false; inserted + 1];
    reachable[0] = true;
    for d in 0..inserted {
        reachable[d + 1] = reachable[d] && is_import_line(new[d]);
    }
    for (i, old_line) in old.iter().enumerate() {
        let mut next = vec![false; inserted + 1];
        for d in 0..=inserted {
            let matched = reachable[d] && is_wrapping_change(old_line, new[i + d]);
            let skipped = d > 0 && next[d - 1] && is_import_line(new[i + d]);
            next[d] = matched || skipped;
        }
        if !next.iter().any(|&ok| ok) {
            return Err(format!("line {} changed in a way no fix does: {old_line:?}\n{}", i + 1, diff()));
        }
        reachable = next;
    }
    if reachable[inserted] { Ok(()) } else { Err(format!("a line was inserted that is not an import:\n{}", diff())) }
}

/// The invariants of `after`, the output of `fix` on `before`. `check_lines`
/// turns on [`changed_lines_only_wrap`] (off for mutated fixtures, whose
/// user recipes and aliases wrap with other names).
pub fn check_invariants(before: &str, after: &str, check_lines: bool) -> Result<(), String> {
    if !before.contains("async") {
        return if after == before { Ok(()) } else { Err("a file without `async` changed".to_owned()) };
    }
    if !parses(before) {
        return if after == before { Ok(()) } else { Err("a file with a syntax error changed".to_owned()) };
    }
    if !parses(after) {
        let offset = asyncfix::parse::parse(after).and_then(|tree| asyncfix::parse::first_error(&tree));
        return Err(format!("the output does not parse (first error at byte {offset:?})"));
    }
    let again = fix_stdin(after);
    if again.stdout != after {
        let diff = similar::TextDiff::from_lines(after, &again.stdout).unified_diff().to_string();
        return Err(format!("a second fix changed the output:\n{diff}"));
    }
    if check_lines {
        changed_lines_only_wrap(before, after)?;
    }
    Ok(())
}

#[test]
fn the_invariants_catch_changes_no_fix_makes() {
    let before = "import x\n\n\nasync def f(k):\n    return cache.get(k)\n    pass\n";
    let good = "import x\nfrom asgiref.sync import sync_to_async\n\n\nasync def f(k):\n    \
                return await sync_to_async(cache.get)(k)\n    pass\n";
    assert_eq!(changed_lines_only_wrap(before, good), Ok(()));
    assert_eq!(changed_lines_only_wrap(before, before), Ok(()));
    for bad in [
        // A line deleted, one added that is not an import, one changed without a wrapper, text lost.
        "import x\n\n\nasync def f(k):\n    return cache.get(k)\n",
        "import x\n\n\nasync def f(k):\n    return cache.get(k)\n    pass\n    pass\n",
        "import x\n\n\nasync def f(k):\n    return cache.get(k) + 1\n    pass\n",
        "import x\n\n\nasync def f(k):\n    return await sync_to_async(cache.get)()\n    pass\n",
        "import x\n\n\nasync def f(k):\r\n    return await sync_to_async(cache.get)(k)\n    pass\n",
    ] {
        assert!(changed_lines_only_wrap(before, bad).is_err(), "{bad:?} passed");
    }
}

#[track_caller]
fn assert_invariants(before: &str, after: &str) {
    if let Err(message) = check_invariants(before, after, true) {
        panic!("{message}\n--- before\n{before}\n--- after\n{after}");
    }
}

/// When `python3` is there, `CPython` compiles the output too.
#[track_caller]
fn assert_python_compiles(text: &str) {
    if let Some(Err(error)) = python_compiles(text) {
        panic!("CPython does not compile the output:\n{error}");
    }
}

// ---------------------------------------------------------------------------
// A temporary tree
// ---------------------------------------------------------------------------

/// `(exit code, stdout, stderr)`.
fn all(output: &Output) -> (u8, &str, &str) {
    (output.code, output.stdout.as_str(), output.stderr.as_str())
}

/// Runs the CLI on another thread and fails instead of hanging.
fn run_with_watchdog(args: Vec<String>, limit: Duration) -> Output {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = sender.send(run(&args, ""));
    });
    receiver.recv_timeout(limit).unwrap_or_else(|_| panic!("asyncfix did not finish within {limit:?}"))
}

const CACHE_IMPORT: &str = "from django.core.cache import cache";
const WRAPPER_IMPORT: &str = "from asgiref.sync import sync_to_async";

/// `fix -` and the invariants; returns the fixed source.
#[track_caller]
fn fixed(before: &str) -> String {
    let output = fix_stdin(before);
    assert_ne!(output.code, 2, "fix failed: {}", output.stderr);
    assert_invariants(before, &output.stdout);
    output.stdout
}

// ---------------------------------------------------------------------------
// Line endings and whitespace
// ---------------------------------------------------------------------------

#[test]
fn mixed_crlf_and_lf_keep_every_line_ending_of_their_own() {
    let tree = Project::new();
    let before = "from django.core.cache import cache\r\n\
                  from django.contrib.auth.models import User\n\
                  \n\
                  \r\n\
                  async def view(key):\r\n    \
                  value = cache.get(key)\n    \
                  user = User.objects.get(pk=key)\r\n    \
                  exists = (User.objects\n              \
                  .filter(pk=key)\r\n              \
                  .exists())\n    \
                  return value, user, exists\r\n";
    // The new import line takes the file's first line ending; every other line keeps its own.
    let after = "from django.core.cache import cache\r\n\
                 from django.contrib.auth.models import User\n\
                 from asgiref.sync import sync_to_async\r\n\
                 \n\
                 \r\n\
                 async def view(key):\r\n    \
                 value = await sync_to_async(cache.get)(key)\n    \
                 user = await sync_to_async(User.objects.get)(pk=key)\r\n    \
                 exists = (await sync_to_async(lambda: User.objects\n              \
                 .filter(pk=key)\r\n              \
                 .exists())())\n    \
                 return value, user, exists\r\n";
    let path = tree.write("views.py", before);

    let output = run(&["fix", &path], "");

    assert_eq!(
        all(&output),
        (0, "2  DJ001  django-orm-query-in-async\n1  DJ003  django-cache-in-async\nFixed 3 sites in 1 file.\n", "")
    );
    assert_eq!(tree.read_text("views.py"), after);
    assert_invariants(before, after);
    assert_python_compiles(after);
}

#[test]
fn tabs_and_form_feeds_in_indentation_are_kept() {
    // A form feed resets the indentation count (CPython and tree-sitter agree):
    // `\x0c    ` and `  \x0c    ` both indent by four.
    let before = "from django.core.cache import cache\n\
                  \x0c\n\
                  \n\
                  async def view(key):\n\
                  \x0c    value = cache.get(key)\n  \
                  \x0c    other = 1 \x0c+ cache.get(key)\n    \
                  return value, other\n\
                  \x0c\n\
                  class Service:\n\
                  \tasync def method(self, key):\n\
                  \t\tif cache.get(key):\n\
                  \t\t\treturn cache.get_many(\n\
                  \t  \t\t[key])\n";
    let after = "from django.core.cache import cache\n\
                 from asgiref.sync import sync_to_async\n\
                 \x0c\n\
                 \n\
                 async def view(key):\n\
                 \x0c    value = await sync_to_async(cache.get)(key)\n  \
                 \x0c    other = 1 \x0c+ await sync_to_async(cache.get)(key)\n    \
                 return value, other\n\
                 \x0c\n\
                 class Service:\n\
                 \tasync def method(self, key):\n\
                 \t\tif await sync_to_async(cache.get)(key):\n\
                 \t\t\treturn await sync_to_async(cache.get_many)(\n\
                 \t  \t\t[key])\n";

    assert_eq!(fixed(before), after);
    assert_python_compiles(after);
}

#[test]
fn backslash_continuations_are_kept() {
    let before = format!(
        "{CACHE_IMPORT}\n\n\nasync def view(key):\n    x = cache.get(\\\n        key)\n    y = cache \\\n        \
         .get(key)\n    return x, y\n"
    );
    let after = format!(
        "{CACHE_IMPORT}\n{WRAPPER_IMPORT}\n\n\nasync def view(key):\n    x = await sync_to_async(cache.get)(\\\n        \
         key)\n    y = await sync_to_async(cache \\\n        .get)(key)\n    return x, y\n"
    );

    assert_eq!(fixed(&before), after);
    assert_python_compiles(&after);
}

/// Whatever asyncfix makes of classic Mac line endings, it never corrupts them.
#[test]
fn cr_only_line_endings_are_never_corrupted() {
    let before = "from django.core.cache import cache\r\rasync def view(key):\r    return cache.get(key)\r";

    let output = fix_stdin(before);

    assert_ne!(output.code, 2, "{}", output.stderr);
    if output.stdout != before {
        assert!(parses(&output.stdout));
        assert!(!output.stdout.contains('\n'), "a LF was added: {:?}", output.stdout);
    }
}

#[test]
fn cr_only_line_endings_are_fixed() {
    let before = "from django.core.cache import cache\r\rasync def view(key):\r    return cache.get(key)\r";
    let after = "from django.core.cache import cache\rfrom asgiref.sync import sync_to_async\r\rasync def view(key):\r    \
                 return await sync_to_async(cache.get)(key)\r";
    assert_python_compiles(before);

    let output = fix_stdin(before);

    assert_eq!(all(&output), (0, after, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n"));
}

// ---------------------------------------------------------------------------
// Empty, BOM-only and broken files
// ---------------------------------------------------------------------------

#[test]
fn empty_and_bom_only_files_are_left_alone() {
    let tree = Project::new();
    tree.write("empty.py", "");
    tree.write("bom.py", "\u{feff}");
    tree.write("bom_newline.py", "\u{feff}\n");

    let check = run(&["check", &tree.root()], "");
    let fix = run(&["fix", &tree.root()], "");

    assert_eq!(all(&check), (0, "No sites found.\n", ""));
    assert_eq!(all(&fix), (0, "Fixed 0 sites in 0 files.\n", ""));
    assert_eq!(tree.read("empty.py"), b"");
    assert_eq!(tree.read("bom.py"), b"\xef\xbb\xbf");
    assert_eq!(tree.read("bom_newline.py"), b"\xef\xbb\xbf\n");
    assert_eq!(all(&fix_stdin("")), (0, "", "Fixed 0 sites in 0 files.\n"));
    assert_eq!(all(&fix_stdin("\u{feff}")), (0, "\u{feff}", "Fixed 0 sites in 0 files.\n"));
}

#[test]
fn syntax_errors_of_every_kind_are_reported_and_left_untouched() {
    let tree = Project::new();
    let site = "from django.core.cache import cache\n\n\nasync def view(key):\n    value = cache.get(key)\n";
    // (file, source, where the error is reported)
    let broken = [
        ("unclosed.py", format!("{site}    return (value\n"), "6:5"),
        ("unclosed_at_end.py", format!("{site}    return (\n"), ""),
        ("bad_def.py", format!("def helper(:\n    pass\n{site}"), "1:"),
        ("half_def.py", format!("{site}async def\n"), "6:1"),
        ("stray_bracket.py", format!("{site}    return value]\n"), "6:5"),
        ("unterminated.py", format!("{site}    return 'value\n"), "6:12"),
        ("error_first.py", format!("x = = 1\n{site}"), "1:"),
    ];
    for (name, source, _) in &broken {
        tree.write(name, source);
    }
    tree.write("views.py", site);

    let output = run(&["fix", &tree.root()], "");

    assert_eq!(output.code, 1, "{}", output.stderr);
    let skipped = broken.len();
    assert_eq!(
        output.stdout,
        format!(
            "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file; {skipped} files skipped: syntax error (listed above).\n"
        )
    );
    for (name, source, position) in &broken {
        // `unclosed_at_end.py` is reported at 1:1 (see `unclosed_bracket_at_the_end_is_located`).
        let line = format!("asyncfix: {}: {position}", tree.path(name));
        assert!(
            output
                .stderr
                .lines()
                .any(|reported| reported.starts_with(&line) && reported.ends_with("file left untouched")),
            "{name} is not reported at {position}:\n{}",
            output.stderr
        );
        assert_eq!(&tree.read_text(name), source, "{name} changed");
    }
    assert!(output.stderr.ends_with(&format!("asyncfix: {} files could not be processed.\n", broken.len())));
    assert_eq!(tree.read_text("views.py"), fixed(site));
}

#[test]
fn unclosed_bracket_at_the_end_is_located() {
    let source = format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    value = cache.get(key)\n    return (\n");

    let output = run(&["check", "-"], &source);

    assert_eq!(
        all(&output),
        (
            1,
            "No sites found; 1 file skipped: syntax error (listed above).\n",
            "asyncfix: -: 6:12: syntax error; file left untouched\nasyncfix: 1 file could not be processed.\n"
        )
    );
}

/// tree-sitter-python does not track indentation as strictly as `CPython`.
#[test]
fn indentation_errors_are_reported_and_left_untouched() {
    let sources = [
        format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    value = cache.get(key)\n      return value\n"),
        format!("{CACHE_IMPORT}\n\n    async def view(key):\n        return cache.get(key)\n"),
        // The form feed resets the column: `y = ...` is at module level and `return` is indented.
        format!(
            "{CACHE_IMPORT}\n\n\nasync def view(key):\n    x = cache.get(key)\n    \x0cy = cache.get(key)\n    return x\n"
        ),
    ];
    for source in &sources {
        if let Some(compiled) = python_compiles(source) {
            assert!(compiled.is_err(), "CPython compiles {source:?}");
        }

        let output = fix_stdin(source);

        assert_eq!(output.code, 1, "{source:?}: {}", output.stderr);
        assert_eq!(&output.stdout, source);
        assert!(output.stderr.contains("syntax error; file left untouched"), "{}", output.stderr);
    }
}

// ---------------------------------------------------------------------------
// The file system
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlink_loops_in_the_tree_end_the_walk() {
    use std::os::unix::fs::symlink;

    let tree = Project::new();
    let views =
        tree.write("app/views.py", format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    return cache.get(key)\n"));
    symlink(tree.full("app"), tree.full("app/loop")).unwrap();
    fs::create_dir_all(tree.full("app/sub")).unwrap();
    symlink(tree.full(""), tree.full("app/sub/up")).unwrap();
    symlink(tree.full("app/self.py"), tree.full("app/self.py")).unwrap();
    symlink(tree.full("app/pong.py"), tree.full("app/ping.py")).unwrap();
    symlink(tree.full("app/ping.py"), tree.full("app/pong.py")).unwrap();

    let output = run_with_watchdog(vec!["fix".into(), tree.root()], Duration::from_mins(1));

    // Symlinks are not followed while walking: each link to a folder or a
    // `.py` name is named, and the loops end nothing.
    let root = tree.root();
    let mut notes = String::new();
    for link in ["app/loop", "app/ping.py", "app/pong.py", "app/self.py", "app/sub/up"] {
        writeln!(notes, "asyncfix: {root}/{link}: symbolic link not followed; name its target to check it").unwrap();
    }
    assert_eq!(all(&output), (0, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", notes.as_str()));
    let quiet = run_with_watchdog(vec!["check".into(), "--quiet".into(), tree.root()], Duration::from_mins(1));
    assert_eq!(all(&quiet), (0, "", ""));
    assert!(tree.read_text("app/views.py").contains("await sync_to_async(cache.get)(key)"));
    assert!(fs::symlink_metadata(tree.full("app/loop")).unwrap().file_type().is_symlink());

    // Named on the command line, a looping link is an error, not a hang.
    let named = run_with_watchdog(vec!["check".into(), tree.path("app/self.py"), views], Duration::from_mins(1));
    assert_eq!(named.code, 2, "{}", named.stderr);
    assert!(named.stderr.starts_with(&format!("asyncfix: {}: ", tree.path("app/self.py"))), "{}", named.stderr);
}

/// Permissions do not stop root from reading, and CI runs as root: there
/// the test runs the built binary as `nobody` (through `setpriv`), so the
/// file really cannot be read. It never passes without testing.
#[cfg(unix)]
#[test]
fn unreadable_file_is_reported_and_the_others_are_fixed() {
    use std::os::unix::fs::PermissionsExt;

    let tree = Project::new();
    let source = format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    return cache.get(key)\n");
    let locked = tree.write("app/locked.py", &source);
    tree.write("app/views.py", &source);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let output = if fs::read(&locked).is_ok() {
        // Root: run as `nobody`, who may enter the tree and replace files in
        // `app/` but cannot read `locked.py`.
        for dir in [tree.root(), tree.path("app")] {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        }
        let root = tree.root();
        let mut parent = Path::new(&root).parent();
        while let Some(dir) = parent {
            let mode = fs::metadata(dir).unwrap().permissions().mode();
            assert!(mode & 0o001 != 0, "{} must be searchable by others for this test", dir.display());
            parent = dir.parent();
        }
        let child = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_asyncfix"))
            .args(["fix", &tree.root()])
            .output()
            .expect("running as root, the test needs `setpriv` (util-linux) to drop privileges");
        Output {
            code: child.status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(u8::MAX),
            stdout: String::from_utf8(child.stdout).unwrap(),
            stderr: String::from_utf8(child.stderr).unwrap(),
        }
    } else {
        run(&["fix", &tree.root()], "")
    };

    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
    let stderr =
        format!("asyncfix: {locked}: cannot read: permission denied\nasyncfix: 1 file could not be processed.\n");
    assert_eq!(all(&output), (2, "1  DJ003  django-cache-in-async\nFixed 1 site in 1 file.\n", stderr.as_str()));
    assert_eq!(tree.read_text("app/locked.py"), source);
    assert_eq!(tree.read_text("app/views.py"), fixed(&source));
}

#[test]
fn write_refuses_a_file_changed_since_it_was_read() {
    let tree = Project::new();
    let source = format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    return cache.get(key)\n");
    let path = tree.write("views.py", &source);
    let read = asyncfix::files::read(Path::new(&path)).unwrap().unwrap();
    let fixed_text = fixed(&source);
    // Someone saves the file meanwhile (same length, one byte differs).
    let edited = source.replace("key)", "kex)");
    fs::write(&path, &edited).unwrap();

    let result = asyncfix::files::write(Path::new(&path), &read, &fixed_text);

    assert!(matches!(result, Err(asyncfix::files::FileError::Changed)), "{result:?}");
    assert_eq!(result.unwrap_err().to_string(), "file changed while asyncfix was working on it; left untouched");
    assert_eq!(tree.read_text("views.py"), edited);
    assert_eq!(tree.listing(""), ["views.py"], "no temporary file is left behind");

    // A `SourceFile` whose bytes differ from the disk (here: a BOM the disk lacks) is refused too.
    let stale = asyncfix::files::decode(format!("\u{feff}{edited}").into_bytes()).unwrap();
    assert_eq!(stale.text, edited);
    assert!(asyncfix::files::write(Path::new(&path), &stale, &fixed_text).is_err());
    assert_eq!(tree.read_text("views.py"), edited);

    // Deleted meanwhile: refused, nothing recreated.
    fs::remove_file(&path).unwrap();
    assert!(asyncfix::files::write(Path::new(&path), &read, &fixed_text).is_err());
    assert_eq!(tree.listing(""), Vec::<String>::new());

    // Unchanged: written.
    fs::write(&path, &source).unwrap();
    let read = asyncfix::files::read(Path::new(&path)).unwrap().unwrap();
    asyncfix::files::write(Path::new(&path), &read, &fixed_text).unwrap();
    assert_eq!(tree.read_text("views.py"), fixed_text);
    assert_eq!(tree.listing(""), ["views.py"]);
}

/// Another writer appends at each moment of the write where it could slip
/// in: the append is never lost. Before the last check, the write is refused;
/// between the check and the rename, the file with the append is put back.
#[test]
fn a_write_landing_while_fix_writes_is_never_lost() {
    use asyncfix::files::{Moment, write_racing};
    use std::io::Write as _;

    for moment in [Moment::BeforeLastCheck, Moment::BeforeReplace] {
        let tree = Project::new();
        let source = format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    return cache.get(key)\n");
        let path = tree.write("views.py", &source);
        let read = asyncfix::files::read(Path::new(&path)).unwrap().unwrap();
        let append = |at: Moment| {
            if at == moment {
                let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
                file.write_all(b"# appended\n").unwrap();
            }
        };

        let result = write_racing(Path::new(&path), &read, &fixed(&source), append);

        assert!(matches!(result, Err(asyncfix::files::FileError::Changed)), "{moment:?}: {result:?}");
        assert_eq!(tree.read_text("views.py"), format!("{source}# appended\n"), "{moment:?}");
        assert_eq!(tree.listing(""), ["views.py"], "{moment:?}: no temporary file is left behind");
    }
}

/// A file with two names (a hard link) is fixed under both; a file of
/// another owner keeps its owner and group (run as root, as CI is; a user
/// cannot give a file away, which the test then skips).
#[cfg(unix)]
#[test]
fn hard_links_and_owners_are_kept() {
    use std::os::unix::fs::MetadataExt;

    let tree = Project::new();
    let source = format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    return cache.get(key)\n");
    let linked = tree.write("app/views.py", &source);
    fs::hard_link(&linked, tree.full("app/alias.py")).unwrap();
    let owned = tree.write("owned/views.py", &source);
    let given_away = std::os::unix::fs::chown(&owned, Some(65534), Some(65534)).is_ok();

    let output = run(&["fix", &tree.path("app/views.py"), &owned], "");

    assert_eq!(output.code, 0, "{}", output.stderr);
    let link = fs::metadata(&linked).unwrap();
    assert_eq!(link.nlink(), 2, "the link was split");
    assert_eq!(link.ino(), fs::metadata(tree.full("app/alias.py")).unwrap().ino());
    assert_eq!(tree.read_text("app/alias.py"), fixed(&source));
    assert_eq!(tree.read_text("owned/views.py"), fixed(&source));
    if given_away {
        let owner = fs::metadata(&owned).unwrap();
        assert_eq!((owner.uid(), owner.gid()), (65534, 65534), "the owner changed");
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root, where this test must give a file away");
    }
}

/// Every kind of file above in one tree, fixed in one parallel run: each
/// failure is reported and leaves its file alone, every other file is fixed.
#[cfg(unix)]
#[test]
fn torture_corpus_in_one_tree() {
    use std::os::unix::fs::PermissionsExt;

    let tree = Project::new();
    let site = format!("{CACHE_IMPORT}\n\n\nasync def view(key):\n    return cache.get(key)\n");
    let good: Vec<(String, String)> = vec![
        ("crlf.py".into(), site.replace('\n', "\r\n")),
        ("mixed.py".into(), site.replacen('\n', "\r\n", 2)),
        ("tabs.py".into(), site.replace("    ", "\t")),
        ("formfeed.py".into(), site.replace("\n\n\n", "\n\x0c\n\n").replace("    return", "\x0c    return")),
        ("unicode.py".into(), site.replace("return", "café = '🦀'; return")),
        (
            "deep.py".into(),
            site.replace("cache.get(key)", &format!("{}cache.get(key){}", "(".repeat(500), ")".repeat(500))),
        ),
        ("pkg/__init__.py".into(), site.clone()),
    ];
    let untouched: Vec<(String, Vec<u8>)> = vec![
        ("empty.py".into(), Vec::new()),
        ("bom.py".into(), b"\xef\xbb\xbf".to_vec()),
        ("no_async.py".into(), b"from django.core.cache import cache\nx = cache.get(1)\n".to_vec()),
        ("latin1.py".into(), b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".to_vec()),
    ];
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("syntax.py", format!("{site}    return value]\n").into_bytes(), "6:5: syntax error"),
        ("not_utf8.py", [site.as_bytes(), b"x = '\xe9'\n"].concat(), "6:6: not valid UTF-8"),
        ("readonly.py", site.replace('\n', "\r\n").into_bytes(), "file is read-only"),
    ];
    for (name, text) in &good {
        tree.write(name, text);
    }
    for (name, bytes) in &untouched {
        tree.write(name, bytes);
    }
    for (name, bytes, _) in &bad {
        tree.write(name, bytes);
    }
    fs::set_permissions(tree.full("readonly.py"), fs::Permissions::from_mode(0o444)).unwrap();
    std::os::unix::fs::symlink(tree.full(""), tree.full("pkg/loop")).unwrap();
    let before: Vec<(String, Vec<u8>)> = bad.iter().map(|(name, _, _)| ((*name).to_owned(), tree.read(name))).collect();

    let output =
        run_with_watchdog(vec!["fix".into(), tree.root(), "--jobs".into(), "4".into()], Duration::from_mins(2));

    assert_eq!(output.code, 2, "{}", output.stderr);
    // The one file that does not parse is skipped; the others could not be read or written.
    assert_eq!(
        output.stdout,
        format!(
            "{0}  DJ003  django-cache-in-async\nFixed {0} sites in {0} files; 1 file skipped: syntax error (listed above).\n",
            good.len()
        )
    );
    for (name, _, reason) in &bad {
        let prefix = format!("asyncfix: {}: {reason}", tree.path(name));
        assert!(output.stderr.lines().any(|line| line.starts_with(&prefix)), "{prefix} missing:\n{}", output.stderr);
    }
    assert!(output.stderr.ends_with("asyncfix: 3 files could not be processed.\n"), "{}", output.stderr);
    for (name, text) in &good {
        let after = tree.read_text(name);
        assert_ne!(&after, text, "{name} was not fixed");
        assert_invariants(text, &after);
    }
    for (name, bytes) in untouched.iter().chain(&before) {
        assert_eq!(&tree.read(name), bytes, "{name} changed");
    }
    let mut leftovers = Vec::new();
    for dir in ["", "pkg"] {
        leftovers.extend(tree.listing(dir).into_iter().filter(|name| name.starts_with(".asyncfix-")));
    }
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

// ---------------------------------------------------------------------------
// Size and depth
// ---------------------------------------------------------------------------

const BIG_HEADER: &str = "from django.core.cache import cache\n\
                          from django.contrib.auth.models import User\n\
                          from rest_framework_simplejwt.tokens import RefreshToken\n";

/// One generated async function (a method when `indent` is not empty), as
/// `(input, expected output, sites)`: sites of every rewrite style, nested
/// sites, a multi-line chain, non-ASCII text and look-alikes in strings and
/// comments, `filler` blocks of plain code, and a sync twin that must stay as
/// it is.
fn generated_function(i: usize, indent: &str, self_param: &str, filler: usize) -> (String, String, usize) {
    let plain = format!(
        "{indent}    # ---- plain code: nothing here reaches the database ----\n\
         {indent}    data = {{'a': 1, 'b': [1, 2, 3], 'c': {{'d': 'é', 'e': None}}}}\n\
         {indent}    for n in range(10):\n\
         {indent}        total += n * 2 if n % 2 else n // 3\n\
         {indent}    text = 'cache.get(key) ' * 3 + \"User.objects.get(pk=pk)\"\n\
         {indent}    pairs = [(a, b) for a in range(3) for b in 'xyz' if a]\n\
         {indent}    words = {{w: len(w) for w in text.split()}}\n"
    )
    .repeat(filler);
    let body = |value: &str, nested: &str, token: &str, rows: &str, exists: &str| {
        format!(
            "\n{indent}async def view_{i}({self_param}key, pk):\n\
             {indent}    \"\"\"Views № {i}: cache.get(key) here is text.\"\"\"\n\
             {indent}    # ünïcödé 中文 🦀 cache.get(key) in a comment\n\
             {indent}    label = f\"{{key!r:>10}} ✓ {i}\" + 'User.objects.get(pk=pk)'\n\
             {indent}    total = sum(n * 2 for n in range({i} % 7)) + len(label)\n\
             {plain}\
             {indent}    value = {value}\n\
             {indent}    email = {nested}\n\
             {indent}    token = {token}\n\
             {indent}    rows = {rows}\n\
             {indent}    exists = {exists}\n\
             {indent}    return value, email, token, rows, exists, total\n\
             \n\
             {indent}def sync_view_{i}({self_param}key):\n\
             {indent}    return cache.get(key), User.objects.get(pk=key), RefreshToken(key)\n"
        )
    };
    let chain = format!("(User.objects\n{indent}              .filter(pk=pk)\n{indent}              .exists())");
    let input = body(
        "cache.get(key)",
        "cache.get(User.objects.get(pk=pk).email)",
        "RefreshToken(key)",
        "[cache.get(k) for k in (key, label)]",
        &chain,
    );
    let output = body(
        "await sync_to_async(cache.get)(key)",
        // The query in its argument runs in the same thread hop as the call.
        "await sync_to_async(lambda: cache.get(User.objects.get(pk=pk).email))()",
        "await sync_to_async(RefreshToken)(key)",
        "[await sync_to_async(cache.get)(k) for k in (key, label)]",
        &chain.replacen("(User", "(await sync_to_async(lambda: User", 1).replacen(".exists())", ".exists())())", 1),
    );
    // Six sites; the one inside `cache.get(...)`'s argument is fixed with it.
    (input, output, 5)
}

/// A file of about `size` bytes: `(input, expected output, sites)`. With
/// `classes`, the functions are methods of classes of 100 methods each.
fn generated_file(size: usize, classes: bool, filler: usize) -> (String, String, usize) {
    let mut input = BIG_HEADER.to_owned();
    let mut output = format!("{BIG_HEADER}{WRAPPER_IMPORT}\n");
    let mut sites = 0;
    let mut i = 0;
    while input.len() < size {
        let (indent, self_param) = if classes { ("    ", "self, ") } else { ("", "") };
        if classes && i % 100 == 0 {
            let class = format!("\n\nclass Service{}:\n    \"\"\"Generated.\"\"\"\n", i / 100);
            input += &class;
            output += &class;
        }
        let (function_input, function_output, function_sites) = generated_function(i, indent, self_param, filler);
        input += &function_input;
        output += &function_output;
        sites += function_sites;
        i += 1;
    }
    (input, output, sites)
}

#[test]
fn generated_function_is_fixed_as_expected() {
    // One class with two methods and their sync twins.
    let (input, output, sites) = generated_file(BIG_HEADER.len() + 1, true, 1);
    let before = format!("{input}{}", generated_function(1, "    ", "self, ", 2).0);
    let after = format!("{output}{}", generated_function(1, "    ", "self, ", 2).1);
    assert_eq!(sites, 5);

    let result = fix_stdin(&before);

    assert_eq!(
        all(&result),
        (
            0,
            after.as_str(),
            "6  DJ003  django-cache-in-async\n2  DJ001  django-orm-query-in-async\n2  DJ002  jwt-token-db-in-async\nFixed 10 sites in 1 file.\n"
        )
    );
    assert_invariants(&before, &after);
    assert_python_compiles(&after);
}

/// What `fix` prints for a generated file: three cache sites for each query
/// and each token.
fn generated_summary(sites: usize) -> String {
    let kind = sites / 5;
    let width = (3 * kind).to_string().len();
    format!(
        "{:>width$}  DJ003  django-cache-in-async\n{kind:>width$}  DJ001  django-orm-query-in-async\n\
         {kind:>width$}  DJ002  jwt-token-db-in-async\nFixed {sites} sites in 1 file.\n",
        3 * kind
    )
}

/// About 5 MB, 1,400 async methods and 8,000 sites in one file, fixed in place.
#[test]
fn five_megabyte_file_is_fixed_exactly() {
    let (input, expected, sites) = generated_file(5_000_000, true, 8);
    assert!(input.len() >= 5_000_000);
    let tree = Project::new();
    let path = tree.write("big.py", &input);

    let output = run(&["fix", &path], "");

    assert_eq!(all(&output), (0, generated_summary(sites).as_str(), ""));
    let after = tree.read_text("big.py");
    if after != expected {
        let line = after.lines().zip(expected.lines()).position(|(a, b)| a != b);
        panic!("the output differs from the expected one, first at line {line:?}");
    }
    check_invariants(&input, &after, true).unwrap();
}

/// The same size with every function at module level: correct, but the time
/// grows with sites x module-level names (`Importer::import` collects and
/// sorts every module binding for every site) and with sites² in
/// `apply_fixes` (overlap and duplicate checks against every fix taken).
#[test]
fn five_megabyte_file_of_module_level_functions_is_fixed_exactly() {
    let (input, expected, sites) = generated_file(5_000_000, false, 0);
    let tree = Project::new();
    let path = tree.write("big.py", &input);

    let output = run(&["fix", &path], "");

    assert_eq!(all(&output), (0, generated_summary(sites).as_str(), ""));
    assert!(tree.read_text("big.py") == expected, "the output differs from the expected one");
}

/// `(name, input, expected output)` for expressions nested thousands deep.
fn deep_cases() -> Vec<(&'static str, String, String)> {
    let wrap =
        |expression: &str| format!("{CACHE_IMPORT}\n\n\nasync def view(a):\n    x = {expression}\n    return x\n");
    let fixed = |expression: &str| {
        format!("{CACHE_IMPORT}\n{WRAPPER_IMPORT}\n\n\nasync def view(a):\n    x = {expression}\n    return x\n")
    };
    let site = "cache.get(a)";
    let wrapped = "await sync_to_async(cache.get)(a)";
    let nested = |open: &str, close: &str, depth: usize, inner: &str| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    let sum = |terms: usize, last: &str| format!("{}{last}", "a + ".repeat(terms));
    let mut cases = vec![
        ("5,000 parentheses", nested("(", ")", 5000, site), nested("(", ")", 5000, wrapped)),
        ("20,000-term sum", sum(20_000, site), sum(20_000, wrapped)),
        ("5,000 nested lists", nested("[", "]", 5000, site), nested("[", "]", 5000, wrapped)),
        ("3,000 nested calls", nested("f(", ")", 3000, site), nested("f(", ")", 3000, wrapped)),
        ("20,000 `not`", format!("{}{site}", "not ".repeat(20_000)), format!("{}{wrapped}", "not ".repeat(20_000))),
        ("20,000 unary minus", format!("{}{site}", "-".repeat(20_000)), format!("{}{wrapped}", "-".repeat(20_000))),
        (
            "1,000 nested conditionals",
            format!("{}{site}", "a if a else ".repeat(1000)),
            format!("{}{wrapped}", "a if a else ".repeat(1000)),
        ),
        (
            "3,000 nested lambdas",
            format!("{}{site}", "lambda: ".repeat(3000)),
            format!("{}{site}", "lambda: ".repeat(3000)),
        ),
        (
            "1,000 sites in one sum",
            format!("{}a", "cache.get(a) + ".repeat(1000)),
            format!("{}a", format!("{wrapped} + ").repeat(1000)),
        ),
    ];
    let mut cases: Vec<(&'static str, String, String)> =
        cases.drain(..).map(|(name, input, output)| (name, wrap(&input), fixed(&output))).collect();
    // `lambda` bodies are not sites: nothing to import, nothing to change.
    let unchanged = cases[7].1.clone();
    cases[7].2 = unchanged;
    // 90 nested async functions, each with a site (CPython allows 100 levels).
    let mut input = format!("{CACHE_IMPORT}\n");
    let mut output = format!("{CACHE_IMPORT}\n{WRAPPER_IMPORT}\n");
    for depth in 0..90 {
        let indent = "    ".repeat(depth);
        let _ = write!(input, "{indent}async def f{depth}(k):\n{indent}    x{depth} = cache.get(k)\n");
        let _ = write!(
            output,
            "{indent}async def f{depth}(k):
{indent}    x{depth} = await sync_to_async(cache.get)(k)
"
        );
    }
    cases.push(("90 nested async functions", input, output));
    cases
}

/// On standard input the file is checked on the calling thread: a test
/// thread has a 2 MiB stack, less than a main thread's.
#[test]
fn deeply_nested_expressions_do_not_overflow_the_stack_on_stdin() {
    for (name, input, output) in deep_cases() {
        let result = fix_stdin(&input);
        assert_eq!(result.code, 0, "{name}: {}", result.stderr);
        assert!(result.stdout == output, "{name}: unexpected output");
        check_invariants(&input, &result.stdout, true).unwrap_or_else(|message| panic!("{name}: {message}"));
    }
}

/// In a tree the files are checked on rayon's worker threads.
#[test]
fn deeply_nested_expressions_do_not_overflow_the_stack_in_a_tree() {
    let tree = Project::new();
    let cases = deep_cases();
    for (index, (_, input, _)) in cases.iter().enumerate() {
        tree.write(&format!("deep_{index:02}.py"), input);
    }

    let output = run(&["fix", &tree.root()], "");

    let changed = cases.iter().filter(|(_, input, output)| input != output).count();
    let sites = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1000 + 90;
    assert_eq!(
        all(&output),
        (0, format!("{sites}  DJ003  django-cache-in-async\nFixed {sites} sites in {changed} files.\n").as_str(), "")
    );
    for (index, (name, _, expected)) in cases.iter().enumerate() {
        assert!(&tree.read_text(&format!("deep_{index:02}.py")) == expected, "{name}: unexpected output");
    }
}

#[test]
fn very_long_lines_are_fixed_and_located() {
    // A 1 MB line of plain code before a site, and a line of 5,000 sites.
    let filler = "a + ".repeat(250_000);
    let before = format!(
        "{CACHE_IMPORT}\n\n\nasync def view(a):\n    x = {filler}cache.get(a)\n    y = [{}]\n    return x, y\n",
        "cache.get(a), ".repeat(5000)
    );
    let after = format!(
        "{CACHE_IMPORT}\n{WRAPPER_IMPORT}\n\n\nasync def view(a):\n    x = {filler}await sync_to_async(cache.get)(a)\n    \
         y = [{}]\n    return x, y\n",
        "await sync_to_async(cache.get)(a), ".repeat(5000)
    );

    let check = run(&["check", "-"], &before);
    let output = fix_stdin(&before);

    let first = check.stdout.lines().next().unwrap();
    assert!(first.starts_with(&format!("-:5:{}: DJ003", 9 + filler.len())), "{first}");
    assert!(check.stdout.contains(&format!("-:6:{}: DJ003", 10 + 14 * 4999)));
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(output.stdout == after, "unexpected output");
    check_invariants(&before, &after, true).unwrap();
}

// ---------------------------------------------------------------------------
// Non-ASCII text before sites
// ---------------------------------------------------------------------------

#[test]
fn columns_count_characters_after_non_ascii_identifiers_and_strings() {
    // é is 2 bytes, 中 3, 🦀 4 (one character, two UTF-16 units), é as e + U+0301 is two characters.
    let before = "from django.core.cache import cache\n\n\n\
                  async def vue(clé):\n    \
                  café = '🦀中文'; x = cache.get(clé)\n    \
                  ñandú = \"🦀🦀\" + cache.get(café)\n    \
                  e\u{301}t\u{e9} = f'{clé!r} → {cache.get(\"🦀\")}'\n    \
                  return x, ñandú, e\u{301}t\u{e9}\n";
    let after = "from django.core.cache import cache\nfrom asgiref.sync import sync_to_async\n\n\n\
                 async def vue(clé):\n    \
                 café = '🦀中文'; x = await sync_to_async(cache.get)(clé)\n    \
                 ñandú = \"🦀🦀\" + await sync_to_async(cache.get)(café)\n    \
                 e\u{301}t\u{e9} = f'{clé!r} → {await sync_to_async(cache.get)(\"🦀\")}'\n    \
                 return x, ñandú, e\u{301}t\u{e9}\n";
    let message = "DJ003 [*] `cache.get(...)` talks to the cache backend synchronously inside `async def`";

    let check = run(&["check", "-", "--stdin-filename", "vue.py"], before);
    let json = run(&["check", "-", "--output-format", "json"], before);

    // Worked out by hand: 4 + `café = '🦀中文'; x = ` is 22 characters, and so on.
    assert_eq!(
        check.stdout,
        format!(
            "vue.py:5:23: {message}\nvue.py:6:20: {message}\nvue.py:7:25: {message}\n\
             Found 3 sites (3 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n"
        )
    );
    let sites: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let columns: Vec<(u64, u64, u64)> = sites
        .as_array()
        .unwrap()
        .iter()
        .map(|site| {
            let (start, end) = (&site["location"], &site["end_location"]);
            assert_eq!(start["line"], end["line"]);
            (start["line"].as_u64().unwrap(), start["column"].as_u64().unwrap(), end["column"].as_u64().unwrap())
        })
        .collect();
    // The same, counted by the test: character offsets of each `cache.get(...)` in its line.
    let expected: Vec<(u64, u64, u64)> = before
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let start = line.find("cache.get(")?;
            let end = start + line[start..].find(')')? + 1;
            let column = |offset: usize| line[..offset].chars().count() as u64 + 1;
            Some((index as u64 + 1, column(start), column(end)))
        })
        .collect();
    assert_eq!(columns, [(5, 23, 37), (6, 20, 35), (7, 25, 39)]);
    assert_eq!(columns, expected);
    assert_eq!(fixed(before), after);
    assert_python_compiles(after);
}

// ---------------------------------------------------------------------------
// Limits of the analysis
// ---------------------------------------------------------------------------

#[test]
fn long_lazy_chains_are_still_certain_sites() {
    let before = "from django.contrib.auth.models import User\n\n\n\
                  async def view(pk):\n    \
                  return User.objects.filter(pk=pk).exclude(is_active=False).select_related('profile')\
                  .order_by('-id').only('id').distinct().values('id').first()\n";
    let after = "from django.contrib.auth.models import User\nfrom asgiref.sync import sync_to_async\n\n\n\
                 async def view(pk):\n    \
                 return await sync_to_async(lambda: User.objects.filter(pk=pk).exclude(is_active=False)\
                 .select_related('profile').order_by('-id').only('id').distinct().values('id').first())()\n";

    assert_eq!(fixed(before), after);
}

#[test]
fn async_comprehension_is_not_moved_into_a_lambda() {
    let before = "from django.contrib.auth.models import User\n\n\n\
                  async def view(items):\n    \
                  return User.objects.filter(pk__in=[i async for i in items]).exists()\n";
    // As with `await` in the chain: the lazy part stays on the event loop.
    let after = "from django.contrib.auth.models import User\nfrom asgiref.sync import sync_to_async\n\n\n\
                 async def view(items):\n    \
                 return await sync_to_async(User.objects.filter(pk__in=[i async for i in items]).exists)()\n";
    assert_python_compiles(before);

    let output = fix_stdin(before);

    assert_python_compiles(&output.stdout);
    assert_eq!(output.stdout, after);
}

#[test]
fn unevaluated_annotations_are_not_sites() {
    let postponed = "from __future__ import annotations\nfrom django.core.cache import cache\n\n\n\
                     async def view(k):\n    \
                     def inner(x: cache.get(k)) -> cache.get(k):\n        \
                     pass\n    \
                     return inner\n";
    // PEP 526: the annotation of a local variable is not evaluated.
    let local =
        "from django.core.cache import cache\n\n\nasync def view(k):\n    value: cache.get(k) = 1\n    return value\n";
    for source in [postponed, local] {
        assert_python_compiles(source);

        let check = run(&["check", "-"], source);
        let output = fix_stdin(source);

        assert_eq!(all(&check), (0, "No sites found.\n", ""), "{source}");
        assert_eq!(output.stdout, source);
    }
}

#[test]
fn unpacking_a_queryset_is_a_site() {
    let before = "from django.contrib.auth.models import User\n\n\n\
                  async def view(pk):\n    \
                  qs = User.objects.filter(pk=pk)\n    \
                  rows = [*qs]\n    \
                  print(*qs)\n    \
                  first, second = qs\n    \
                  return rows, first, second\n";
    let after = "from django.contrib.auth.models import User\nfrom asgiref.sync import sync_to_async\n\n\n\
                 async def view(pk):\n    \
                 qs = User.objects.filter(pk=pk)\n    \
                 rows = [*await sync_to_async(list)(qs)]\n    \
                 print(*await sync_to_async(list)(qs))\n    \
                 first, second = await sync_to_async(list)(qs)\n    \
                 return rows, first, second\n";

    assert_eq!(fixed(before), after);
    assert_python_compiles(after);
}
