//! `fix --interactive` on the built binary through a pseudo-terminal
//! (rexpect): only the fixes answered `y` (or `a`) are written.

use std::process::Command;

use rexpect::session::spawn_command;

use super::support::{Project, run_binary};

/// Three sites in file order: DJ001 at 6:12, DJ003 at 7:5, DJ003 at 8:12.
const VIEWS: &str = "\
from django.core.cache import cache
from app.models import Item


async def view(pk):
    item = Item.objects.get(pk=pk)
    cache.set(pk, item)
    return cache.get(pk)
";

const PROMPT: &str = "Apply this fix? [y,n,a,q] ";

/// Runs `fix views.py --interactive` on a terminal, answering each prompt
/// in turn; returns the exit status (`Exited(PID, CODE)`'s code, read from
/// nix's `WaitStatus`, which rexpect does not re-export) and the file as written.
fn review(answers: &[&str]) -> (i32, String) {
    let project = Project::new();
    project.write("views.py", VIEWS);
    let mut command = Command::new(env!("CARGO_BIN_EXE_asyncfix"));
    command.args(["fix", "views.py", "--interactive", "--color", "never"]).current_dir(project.full(""));
    // The timeout only keeps a broken run from hanging the suite.
    let mut session = spawn_command(command, Some(30_000)).unwrap();
    for answer in answers {
        session.exp_string(PROMPT).unwrap();
        session.send_line(answer).unwrap();
    }
    session.exp_eof().unwrap();
    let status = format!("{:?}", session.process().wait().unwrap());
    let code = status
        .strip_prefix("Exited(")
        .and_then(|rest| rest.rsplit_once(", "))
        .and_then(|(_, code)| code.strip_suffix(')'))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("asyncfix did not exit: {status}"));
    (code, project.read_text("views.py"))
}

#[test]
fn only_the_accepted_fixes_are_written() {
    let (code, written) = review(&["n", "y", "n"]);

    assert_eq!(code, 1, "two sites are left");
    assert_eq!(
        written,
        VIEWS.replace("    cache.set(pk, item)", "    await sync_to_async(cache.set)(pk, item)").replace(
            "from app.models import Item\n",
            "from app.models import Item\nfrom asgiref.sync import sync_to_async\n"
        )
    );
}

#[test]
fn accept_all_takes_the_rest_of_the_file_and_quit_keeps_what_was_accepted() {
    let (all_code, all) = review(&["n", "a"]);
    let (quit_code, quit) = review(&["y", "q"]);
    let (none_code, none) = review(&["q"]);

    let fixed_all = "\
from django.core.cache import cache
from app.models import Item
from asgiref.sync import sync_to_async


async def view(pk):
    item = Item.objects.get(pk=pk)
    await sync_to_async(cache.set)(pk, item)
    return await sync_to_async(cache.get)(pk)
";
    assert_eq!((all_code, all.as_str()), (1, fixed_all));
    let fixed_first = VIEWS
        .replace("    item = Item.objects.get(pk=pk)", "    item = await sync_to_async(Item.objects.get)(pk=pk)")
        .replace(
            "from app.models import Item\n",
            "from app.models import Item\nfrom asgiref.sync import sync_to_async\n",
        );
    assert_eq!((quit_code, quit.as_str()), (1, fixed_first.as_str()));
    assert_eq!((none_code, none.as_str()), (1, VIEWS));
}

#[test]
fn interactive_refuses_without_a_terminal_and_outside_fix() {
    let project = Project::new();
    project.write("views.py", VIEWS);

    let piped = run_binary(&project.full(""), &["fix", "views.py", "--interactive"]);
    let diff = run_binary(&project.full(""), &["diff", "views.py", "--interactive"]);

    let refused = "asyncfix: --interactive asks on a terminal, and standard input is not one\n";
    assert_eq!((piped.code, piped.stdout.as_str(), piped.stderr.as_str()), (2, "", refused));
    let fix_only = "asyncfix: --interactive works with `fix` only\n";
    assert_eq!((diff.code, diff.stdout.as_str(), diff.stderr.as_str()), (2, "", fix_only));
    assert_eq!(project.read_text("views.py"), VIEWS);
}
