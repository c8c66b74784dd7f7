//! `check --report-unused-suppressions`: suppression comments that
//! suppress nothing are reported as AF100, on the built binary.

use super::support::{Project, run_binary};

const VIEWS: &str = "\
from django.core.cache import cache
from app.models import Item


async def view(pk):
    item = Item.objects.get(pk=pk)  # noqa: DJ001
    cache.set(pk, item)  # noqa: DJ001, E501
    # asyncfix: ignore[DJ003]
    other = 1  # noqa
    # asyncfix: ignore
    return item  # noqa: DJ001,DJ003


async def kept(pk):
    return Item.objects.count()  # asyncfix: ignore[DJ001, dj003]
";

const SITE: &str =
    "views.py:7:5: DJ003 [*] `cache.set(...)` talks to the cache backend synchronously inside `async def`\n";

#[test]
fn unused_suppressions_are_reported_only_when_asked_and_only_for_asyncfix_codes() {
    let project = Project::new();
    project.write("views.py", VIEWS);
    let root = project.full("");

    let plain = run_binary(&root, &["check", "."]);
    let audited = run_binary(&root, &["check", ".", "--report-unused-suppressions"]);
    let selected = run_binary(&root, &["check", ".", "--report-unused-suppressions", "--select", "DJ001"]);
    let fix = run_binary(&root, &["diff", ".", "--report-unused-suppressions", "--select", "DJ001"]);

    // Line 6 suppresses its site; line 7's DJ001 does not (E501 is another
    // tool's); line 8 covers line 9, which holds nothing; the bare `# noqa`
    // is left alone; line 10 covers line 11; line 15's DJ001 is used, its
    // dj003 is not.
    let summary = "Found 1 site (1 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n";
    assert_eq!(
        (plain.code, plain.stdout.as_str(), plain.stderr.as_str()),
        (1, format!("{SITE}{summary}").as_str(), "")
    );
    let expected = format!(
        "{SITE}\
         views.py:7:26: AF100 unused suppression of `DJ001`: no such site here\n\
         views.py:8:5: AF100 unused suppression of `DJ003`: no such site here\n\
         views.py:10:5: AF100 `# asyncfix: ignore` suppresses nothing here\n\
         views.py:11:18: AF100 unused suppression of `DJ001`, `DJ003`: no such site here\n\
         views.py:15:34: AF100 unused suppression of `dj003`: no such site here\n\
         Found 6 sites (1 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n"
    );
    assert_eq!((audited.code, audited.stdout.as_str(), audited.stderr.as_str()), (1, expected.as_str(), ""));
    // A rule not run cannot be judged: DJ003's codes are left alone.
    let expected = "\
views.py:7:26: AF100 unused suppression of `DJ001`: no such site here
views.py:10:5: AF100 `# asyncfix: ignore` suppresses nothing here
views.py:11:18: AF100 unused suppression of `DJ001`: no such site here
Found 3 sites (0 fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).
";
    assert_eq!((selected.code, selected.stdout.as_str(), selected.stderr.as_str()), (1, expected, ""));
    // `diff` and `fix` take the flag and ignore it: nothing to change.
    assert_eq!((fix.code, fix.stdout.as_str(), fix.stderr.as_str()), (0, "", "Would fix 0 sites in 0 files.\n"));
}
