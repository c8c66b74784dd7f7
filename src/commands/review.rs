//! `fix --interactive`: the files one after another, each fix shown as a
//! hunk and applied only if the user says so (`y`, `n`, `a` for the rest of
//! the file, `q` to stop). Answers are read a line at a time from standard
//! input, which must be a terminal.

use std::io::{self, BufRead, BufReader, Write};

use super::Failure;
use crate::output::{self, Painter};
use crate::pipeline::review::{Choice, Offer, review_source};
use crate::pipeline::{FileInfo, FileResult};
use crate::project::Project;
use crate::settings::PerFile;
use crate::{Streams, files};

/// Reviews `files` in order; stops at `q` (the files reviewed so far keep
/// what was accepted).
pub(super) fn review(
    files: &[std::path::PathBuf],
    project: &Project,
    per_file: &PerFile<'_>,
    painter: Painter,
    streams: &mut Streams<'_>,
) -> Result<Vec<FileResult>, Failure> {
    let mut input = BufReader::new(&mut *streams.stdin);
    let stdout = &mut *streams.stdout;
    let mut results = Vec::new();
    let mut failed: Option<io::Error> = None;
    for path in files {
        let view = project.view(path);
        let file = FileInfo { module: &view.module, index: view.index };
        let read = if view.cannot_hold_sites || view.inert { Ok(None) } else { files::read(path) };
        let mut choose = |offer: &Offer<'_>| match ask(offer, painter, stdout, &mut input) {
            Ok(choice) => choice,
            Err(err) => {
                failed = Some(err);
                Choice::Quit
            }
        };
        let (result, quit) = review_source(path, file, view.self_contained, read, per_file.get(path), &mut choose);
        results.push(result);
        if let Some(err) = failed {
            return Err(Failure::from(err));
        }
        if quit {
            break;
        }
    }
    Ok(results)
}

/// Shows one fix and reads the answer; asks again until it is one of the four.
fn ask(offer: &Offer<'_>, painter: Painter, out: &mut dyn Write, input: &mut dyn BufRead) -> io::Result<Choice> {
    let site = offer.site;
    writeln!(out, "{}", output::text::site_line(site, painter))?;
    out.write_all(
        output::diff::unified(std::path::Path::new(&site.path), offer.before, offer.after, painter).as_bytes(),
    )?;
    loop {
        write!(out, "Apply this fix? [y,n,a,q] ")?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok(Choice::Quit);
        }
        match line.trim() {
            "y" => return Ok(Choice::Accept),
            "n" => return Ok(Choice::Skip),
            "a" => return Ok(Choice::AcceptRest),
            "q" => return Ok(Choice::Quit),
            _ => writeln!(out, "y: apply this fix, n: skip it, a: apply it and the rest of this file, q: stop")?,
        }
    }
}
