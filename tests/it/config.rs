//! Configuration files (`[tool.asyncfix]` in `pyproject.toml`,
//! `asyncfix.toml`): each key's effect on the built binary's exact output,
//! how files are found, how flags override keys, and broken files.

use super::support::{Output, Project, run_binary};

/// A DJ001 site at 6:12 and a DJ003 site at 7:5.
const VIEWS: &str = "\
from django.core.cache import cache
from app.models import Item


async def view(pk):
    item = Item.objects.get(pk=pk)
    cache.set(pk, item)
";

/// A DJ003 site at 5:12.
const LEGACY: &str = "\
from django.core.cache import cache


async def view(key):
    return cache.get(key)
";

const ORM: &str =
    "app/views.py:6:12: DJ001 [*] `Item.objects.get(...)` runs a database query synchronously inside `async def`\n";
const SET: &str =
    "app/views.py:7:5: DJ003 [*] `cache.set(...)` talks to the cache backend synchronously inside `async def`\n";
const OLD: &str =
    "legacy/old.py:5:12: DJ003 [*] `cache.get(...)` talks to the cache backend synchronously inside `async def`\n";

fn found(count: usize) -> String {
    let sites = if count == 1 { "1 site".to_owned() } else { format!("{count} sites") };
    format!("Found {sites} ({count} fixable with `asyncfix fix`, 0 more with `--unsafe-fixes`).\n")
}

/// `(exit code, stdout, stderr)`.
fn all(output: &Output) -> (u8, &str, &str) {
    (output.code, output.stdout.as_str(), output.stderr.as_str())
}

/// A project with `app/views.py` and `legacy/old.py`, and `files` beside them.
fn project(files: &[(&str, &str)]) -> Project {
    let project = Project::new();
    project.write("app/views.py", VIEWS);
    project.write("legacy/old.py", LEGACY);
    for (path, text) in files {
        project.write(path, text);
    }
    project
}

/// `check .` from the project root under each configuration: the keys
/// that choose rules and files, and the flags that override them.
#[test]
fn each_selection_and_exclusion_key_changes_what_check_reports() {
    let all_three = format!("{ORM}{SET}{OLD}{}", found(3));
    let cases: &[(&str, &str, &[&str], String)] = &[
        ("no configuration", "", &[], all_three.clone()),
        ("select", "select = [\"DJ001\"]", &[], format!("{ORM}{}", found(1))),
        ("select a prefix", "select = [\"dj00\"]", &[], all_three.clone()),
        ("ignore", "ignore = [\"DJ003\"]", &[], format!("{ORM}{}", found(1))),
        ("extend-select", "select = [\"DJ001\"]\nextend-select = [\"DJ003\"]", &[], all_three.clone()),
        ("--select replaces select", "select = [\"DJ001\"]", &["--select", "DJ003"], format!("{SET}{OLD}{}", found(2))),
        ("--ignore adds to ignore", "ignore = [\"DJ001\"]", &["--ignore", "DJ003"], "No sites found.\n".to_owned()),
        ("--select starts over", "ignore = [\"DJ001\"]", &["--select", "DJ"], all_three.clone()),
        ("exclude", "exclude = [\"legacy\"]", &[], format!("{ORM}{SET}{}", found(2))),
        ("exclude with a slash", "exclude = [\"legacy/old.py\"]", &[], format!("{ORM}{SET}{}", found(2))),
        ("--exclude replaces exclude", "exclude = [\"legacy\"]", &["--exclude", "app"], format!("{OLD}{}", found(1))),
        (
            "extend-exclude stays under --exclude",
            "extend-exclude = [\"legacy\"]",
            &["--exclude", "app"],
            "No sites found.\n".to_owned(),
        ),
        (
            "per-file-ignores",
            "[per-file-ignores]\n\"legacy/*.py\" = [\"DJ003\"]",
            &[],
            format!("{ORM}{SET}{}", found(2)),
        ),
        ("per-file-ignores by name", "[per-file-ignores]\n\"views.py\" = [\"DJ\"]", &[], format!("{OLD}{}", found(1))),
        ("--isolated", "select = [\"DJ001\"]", &["--isolated"], all_three.clone()),
    ];
    for (name, config, extra, expected) in cases {
        for (file, text) in [("asyncfix.toml", (*config).to_owned()), ("pyproject.toml", pyproject(config))] {
            let project = project(&[(file, &text)]);
            let mut args = vec!["check", "."];
            args.extend_from_slice(extra);
            let output = run_binary(&project.full(""), &args);
            let code = u8::from(expected != "No sites found.\n");
            assert_eq!(all(&output), (code, expected.as_str(), ""), "{name} in {file}");
        }
    }
}

/// The same keys under `[tool.asyncfix]`, between other tools' tables
/// (whose keys asyncfix never reads).
fn pyproject(config: &str) -> String {
    let config = config.replace("[per-file-ignores]", "[tool.asyncfix.per-file-ignores]");
    format!("[project]\nname = \"demo\"\n\n[tool.ruff]\nline-length = 100\n\n[tool.asyncfix]\n{config}\n")
}

/// One `self.model.objects.get` (an unsafe fix) and one cache call (a safe one).
const MIXED: &str = "\
from django.core.cache import cache


class ItemView:
    model = None

    async def get_object(self, pk):
        cache.get(pk)
        return self.model.objects.get(pk=pk)
";

/// The keys that change the fixes, each seen in `diff`'s exact patch.
#[test]
fn each_fix_key_changes_what_diff_prints() {
    let header = "--- a/views.py\n+++ b/views.py\n";
    let wrapped = |wrapper: &str, module: &str| {
        format!(
            "{header}@@ -1,9 +1,10 @@\n from django.core.cache import cache\n+from {module} import {wrapper}\n \n \n \
             class ItemView:\n     model = None\n \n     async def get_object(self, pk):\n\
             -        cache.get(pk)\n+        await {wrapper}(cache.get)(pk)\n         return self.model.objects.get(pk=pk)\n"
        )
    };
    let safe_only = "views.py:9:16: DJ001 [?] `self.model.objects.get(...)` runs a database query synchronously inside \
                     `async def` (not fixed: unsafe fix; apply with --unsafe-fixes)\n1  DJ003  django-cache-in-async\n\
                     Would fix 1 site in 1 file; 1 site left.\n";
    let both = format!(
        "{header}@@ -1,9 +1,10 @@\n from django.core.cache import cache\n+from asgiref.sync import sync_to_async\n \n \n \
         class ItemView:\n     model = None\n \n     async def get_object(self, pk):\n\
         -        cache.get(pk)\n-        return self.model.objects.get(pk=pk)\n\
         +        await sync_to_async(cache.get)(pk)\n+        return await sync_to_async(self.model.objects.get)(pk=pk)\n"
    );
    let native = format!(
        "{header}@@ -5,5 +5,5 @@\n     model = None\n \n     async def get_object(self, pk):\n\
         -        cache.get(pk)\n+        await cache.aget(pk)\n         return self.model.objects.get(pk=pk)\n"
    );
    let both_fixed =
        "1  DJ001  django-orm-query-in-async\n1  DJ003  django-cache-in-async\nWould fix 2 sites in 1 file.\n";
    let cases: &[(&str, &[&str], String, &str)] = &[
        ("", &[], wrapped("sync_to_async", "asgiref.sync"), safe_only),
        ("unsafe-fixes = true", &[], both.clone(), both_fixed),
        ("unsafe-fixes = true", &["--no-unsafe-fixes"], wrapped("sync_to_async", "asgiref.sync"), safe_only),
        ("", &["--unsafe-fixes"], both, both_fixed),
        ("wrapper = \"database_sync_to_async\"", &[], wrapped("database_sync_to_async", "channels.db"), safe_only),
        ("wrapper = \"project.threads.run_sync\"", &[], wrapped("run_sync", "project.threads"), safe_only),
        (
            "wrapper = \"database_sync_to_async\"",
            &["--wrapper", "sync_to_async"],
            wrapped("sync_to_async", "asgiref.sync"),
            safe_only,
        ),
        ("target-django = \"4.0\"", &[], native.clone(), safe_only),
        ("target-django = \"4.0\"", &["--target-django", "3.2"], wrapped("sync_to_async", "asgiref.sync"), safe_only),
    ];
    for (config, extra, patch, stderr) in cases {
        let project = Project::new();
        project.write("views.py", MIXED);
        project.write("asyncfix.toml", config);
        let mut args = vec!["diff", "."];
        args.extend_from_slice(extra);
        let output = run_binary(&project.full(""), &args);
        assert_eq!(all(&output), (1, patch.as_str(), *stderr), "{config} {extra:?}");
    }
}

/// SA001's fix style from `sqlalchemy-fix`, and `--sqlalchemy-fix` over it.
#[test]
fn sqlalchemy_fix_key_chooses_the_rewrite() {
    let source = "\
from sqlalchemy import ForeignKey
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = \"author\"
    id: Mapped[int] = mapped_column(primary_key=True)
    books: Mapped[list[\"Book\"]] = relationship(back_populates=\"author\")


class Book(Base):
    __tablename__ = \"book\"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey(\"author.id\"))
    author: Mapped[Author] = relationship(back_populates=\"books\")


async def titles(session: AsyncSession, pk: int):
    author = await session.get(Author, pk)
    return author.books
";
    let refresh = "--- a/shop.py\n+++ b/shop.py\n@@ -22,4 +22,5 @@\n \n async def titles(session: AsyncSession, pk: int):\n     \
                   author = await session.get(Author, pk)\n+    await session.refresh(author, attribute_names=[\"books\"])\n     \
                   return author.books\n";
    let project = Project::new();
    project.write("shop.py", source);
    project.write("pyproject.toml", "[tool.asyncfix]\nsqlalchemy-fix = \"refresh\"\n");

    let configured = run_binary(&project.full(""), &["diff", "."]);
    let overridden = run_binary(&project.full(""), &["diff", ".", "--sqlalchemy-fix", "explicit"]);

    assert_eq!(
        all(&configured),
        (1, refresh, "1  SA001  sqlalchemy-lazy-load-in-async\nWould fix 1 site in 1 file.\n")
    );
    assert!(!overridden.stdout.contains("refresh"), "{}", overridden.stdout);
    assert!(overridden.stdout.contains("+    books_result = await session.execute("), "{}", overridden.stdout);
}

const MSG_RECIPE: &str = r#"code = "MSG001"
name = "message-jwt-helper"
summary = "Project JWT helper called inside `async def`"
message = "`{callee}` reads the token cache"
doc = "Finds `validate_token`."

[[callable]]
names = ["message.utils.jwt"]
members = ["validate_token"]
"#;

/// `recipes` paths are relative to the configuration file, wherever
/// asyncfix runs from; `--recipe` adds to them.
#[test]
fn recipes_key_loads_user_recipes_relative_to_the_configuration() {
    let project = Project::new();
    project.write("config/recipes/msg.toml", MSG_RECIPE);
    project.write("config/asyncfix.toml", "recipes = [\"recipes/msg.toml\"]\n");
    project.write(
        "app/auth.py",
        "from message.utils.jwt import validate_token\n\n\nasync def auth(token):\n    return validate_token(token)\n",
    );
    let site = "app/auth.py:5:12: MSG001 [*] `validate_token(...)` reads the token cache\n";

    let configured = run_binary(&project.full(""), &["check", "app", "--config", "config/asyncfix.toml"]);
    let without = run_binary(&project.full(""), &["check", "app"]);

    assert_eq!(all(&configured), (1, format!("{site}{}", found(1)).as_str(), ""));
    assert_eq!(all(&without), (0, "No sites found.\n", ""));
}

/// Walking up: the nearest configuration wins, `asyncfix.toml` beats a
/// `pyproject.toml` beside it, a `pyproject.toml` without `[tool.asyncfix]`
/// is passed over, and `--config` beats them all.
#[test]
fn the_nearest_configuration_applies() {
    let project = project(&[
        ("pyproject.toml", "[tool.asyncfix]\nselect = [\"DJ001\"]\n"),
        ("legacy/pyproject.toml", "[project]\nname = \"legacy\"\n"),
        ("app/asyncfix.toml", "select = [\"DJ003\"]\n"),
        ("app/pyproject.toml", "[tool.asyncfix]\nselect = [\"DJ001\"]\n"),
        ("other.toml", "ignore = [\"DJ\"]\n"),
    ]);
    let root = project.full("");

    for (args, expected) in [
        (&["check", "app"][..], (1, format!("{SET}{}", found(1)))),
        (&["check", "app/views.py"][..], (1, format!("{SET}{}", found(1)))),
        (&["check", "legacy"][..], (0, "No sites found.\n".to_owned())),
        (&["check", "app", "--config", "other.toml"][..], (0, "No sites found.\n".to_owned())),
        (&["check", "legacy", "--isolated"][..], (1, format!("{OLD}{}", found(1)))),
    ] {
        let output = run_binary(&root, args);
        assert_eq!(all(&output), (expected.0, expected.1.as_str(), ""), "{args:?}");
    }
    let both = run_binary(&root, &["check", "app", "legacy"]);
    let stderr = format!(
        "asyncfix: invalid configuration: {}:1:1: the paths given fall under two configurations (this one and {}); \
         run asyncfix once per configuration or pass --config\n",
        project.path("pyproject.toml"),
        project.path("app/asyncfix.toml")
    );
    assert_eq!(all(&both), (2, "", stderr.as_str()));
}

/// A broken file stops the run (exit 2) with its path, line and column,
/// and nothing is written.
#[test]
fn a_broken_configuration_is_an_error_with_its_position() {
    let cases = [
        (
            "asyncfix.toml",
            "select = [\"DJ001\"]\nselekt = [\"DJ003\"]\n",
            "2:1: unknown field `selekt`, expected one of `select`, `ignore`, `extend-select`, `exclude`, \
             `extend-exclude`, `per-file-ignores`, `recipes`, `unsafe-fixes`, `wrapper`, `target-django`, \
             `sqlalchemy-fix`",
        ),
        (
            "pyproject.toml",
            "[tool.ruff]\nx = 1\n\n[tool.asyncfix]\nunsafe-fixes = \"yes\"\n",
            "5:16: invalid type: string \"yes\", expected a boolean",
        ),
        ("asyncfix.toml", "select = \"DJ001\"\n", "1:10: invalid type: string \"DJ001\", expected a sequence"),
        (
            "asyncfix.toml",
            "ignore = [\"DJ001\", \"XX9\"]\n",
            "1:20: unknown rule code `XX9`; `asyncfix recipes` lists them",
        ),
        (
            "asyncfix.toml",
            "[per-file-ignores]\n\"tests/*\" = [\"NOPE\"]\n",
            "2:14: unknown rule code `NOPE`; `asyncfix recipes` lists them",
        ),
        ("asyncfix.toml", "exclude = [\"a[\"]\n", "1:12: invalid glob: unclosed character class; missing ']'"),
        (
            "asyncfix.toml",
            "target-django = \"four\"\n",
            "1:17: invalid target-django: `four` is not a Django version like `4.2` or `4.1.4`",
        ),
        (
            "asyncfix.toml",
            "wrapper = \"run sync\"\n",
            "1:11: invalid wrapper: expected `sync_to_async`, `database_sync_to_async` or a dotted `module.name`",
        ),
        (
            "asyncfix.toml",
            "sqlalchemy-fix = \"eager\"\n",
            "1:18: unknown variant `eager`, expected one of `explicit`, `selectinload`, `refresh`",
        ),
    ];
    for (file, text, error) in cases {
        let project = project(&[(file, text)]);
        let output = run_binary(&project.full(""), &["fix", "."]);
        let stderr = format!("asyncfix: invalid configuration: {}:{error}\n", project.path(file));
        assert_eq!(all(&output), (2, "", stderr.as_str()), "{text}");
        assert_eq!(project.read_text("app/views.py"), VIEWS);
    }
    let missing = run_binary(&Project::new().full(""), &["check", ".", "--config", "nowhere.toml"]);
    let stderr =
        "asyncfix: invalid configuration: nowhere.toml:1:1: cannot read configuration: no such file or directory\n";
    assert_eq!(all(&missing), (2, "", stderr));
}
