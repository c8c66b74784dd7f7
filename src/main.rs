use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let is_terminal = stdout.is_terminal();
    let mut streams = asyncfix::Streams {
        stdin: &mut std::io::stdin().lock(),
        stdout: &mut std::io::BufWriter::new(stdout.lock()),
        stderr: &mut std::io::stderr().lock(),
        stdout_is_terminal: is_terminal,
    };
    let code = asyncfix::run(std::env::args_os(), &mut streams);
    let _ = streams.stdout.flush();
    ExitCode::from(code)
}
