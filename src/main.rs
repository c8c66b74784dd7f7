use std::io::IsTerminal;
use std::process::ExitCode;

// Semantic models and summaries allocate many small maps and strings; the
// system allocator spent about a tenth of a `check` run, and fragments on
// large trees (5 copies of the benchmark corpus: 11.8 s with it, 7.7 s with
// mimalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // tree-sitter allocates through libc unless told otherwise, and its
    // trees and parse stacks are most of what a run allocates: mimalloc for
    // them too takes about 4% off a `check`'s CPU time. Set before any
    // parser exists, so nothing allocated by one allocator is freed by the
    // other.
    // SAFETY: the four functions are mimalloc's malloc family, which
    // tree-sitter's allocator hooks expect, and no tree-sitter object
    // exists yet.
    #[allow(unsafe_code)]
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
    let stdout = std::io::stdout();
    let is_terminal = stdout.is_terminal();
    let stderr = std::io::stderr();
    let stderr_is_terminal = stderr.is_terminal();
    let stdin = std::io::stdin();
    let stdin_is_terminal = stdin.is_terminal();
    let mut streams = asyncfix::Streams {
        stdin: &mut stdin.lock(),
        stdout: &mut std::io::BufWriter::new(stdout.lock()),
        // Not locked for the whole run: the progress bar draws on stderr
        // from other threads. Report through `Streams` or results anyway.
        stderr: &mut &stderr,
        stdout_is_terminal: is_terminal,
        stderr_is_terminal,
        stdin_is_terminal,
    };
    let code = asyncfix::run(std::env::args_os(), &mut streams);
    // What is still buffered must reach its reader, or the run failed.
    match streams.stdout.flush() {
        Ok(()) => ExitCode::from(code),
        // The run has said why already (`fix -` flushes its output itself).
        Err(_) if code == asyncfix::EXIT_ERROR => ExitCode::from(code),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(asyncfix::EXIT_BROKEN_PIPE),
        Err(err) => {
            let _ = writeln!(streams.stderr, "asyncfix: cannot write output: {err}");
            ExitCode::from(asyncfix::EXIT_ERROR)
        }
    }
}
