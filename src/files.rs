//! Reading and writing source files: decoding, the BOM, and atomic writes
//! that keep permissions and never overwrite a file changed meanwhile.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::source::Locator;

/// A decoded source file.
pub struct SourceFile {
    /// The text after the BOM, if there was one.
    pub text: String,
    pub bom: bool,
    /// The bytes as read, to detect a change before writing.
    pub raw: Vec<u8>,
}

const BOM: &str = "\u{feff}";

/// Why a file could not be read, decoded or written. Printed after the
/// file's path: `asyncfix: PATH: REASON`.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{line}:{column}: not valid UTF-8; file left untouched")]
    NotUtf8 { line: usize, column: usize },
    /// What was being done (`read`, `write`, `stat`, ...) and why it failed.
    #[error("cannot {action}: {}", io_reason(.source))]
    Io { action: &'static str, source: std::io::Error },
    #[error("file is read-only; left untouched")]
    ReadOnly,
    #[error("file changed while asyncfix was working on it; left untouched")]
    Changed,
}

/// `map_err` for an I/O step: `cannot ACTION: reason`.
fn failed(action: &'static str) -> impl FnOnce(std::io::Error) -> FileError {
    move |source| FileError::Io { action, source }
}

pub fn decode(raw: Vec<u8>) -> Result<SourceFile, FileError> {
    match std::str::from_utf8(&raw) {
        Ok(text) => {
            let (text, bom) = match text.strip_prefix(BOM) {
                Some(rest) => (rest.to_owned(), true),
                None => (text.to_owned(), false),
            };
            Ok(SourceFile { text, bom, raw })
        }
        Err(err) => {
            let valid = &raw[..err.valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let valid = valid.strip_prefix(BOM).unwrap_or(valid);
            let (line, column) = Locator::new(valid).line_col(valid.len());
            Err(FileError::NotUtf8 { line, column })
        }
    }
}

/// Reads a file; `Ok(None)` for a file that is not UTF-8 but cannot hold a
/// site either (no `async def` in its bytes), such as a PEP 263 Latin-1 module.
pub fn read(path: &Path) -> Result<Option<SourceFile>, FileError> {
    let raw = fs::read(path).map_err(failed("read"))?;
    if std::str::from_utf8(&raw).is_err() && !crate::scan::may_have_sites(&raw) {
        return Ok(None);
    }
    decode(raw).map(Some)
}

/// Runs `scan` over a file's bytes, read into a buffer each thread reuses:
/// the first pass over a tree reads every file once and keeps nothing, and a
/// fresh allocation per file costs more than the read (the allocator zeroes
/// new pages).
pub fn with_bytes<T>(path: &Path, scan: impl FnOnce(&[u8]) -> T) -> std::io::Result<T> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        fs::File::open(path)?.read_to_end(&mut buffer)?;
        let result = scan(&buffer);
        // One huge file should not pin its size for the rest of the run.
        if buffer.capacity() > 8 << 20 {
            *buffer = Vec::new();
        }
        Ok(result)
    })
}

/// Writes `text` (with the BOM if the file had one) in place of `path`,
/// through a temporary file and a rename.
pub fn write(path: &Path, file: &SourceFile, text: &str) -> Result<(), FileError> {
    let target = fs::canonicalize(path).map_err(failed("resolve path"))?;
    let metadata = fs::metadata(&target).map_err(failed("stat"))?;
    if metadata.permissions().readonly() {
        return Err(FileError::ReadOnly);
    }
    let current = fs::read(&target).map_err(failed("read"))?;
    if current != file.raw {
        return Err(FileError::Changed);
    }
    let directory = target.parent().unwrap_or_else(|| Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".asyncfix-")
        .tempfile_in(directory)
        .map_err(failed("create a temporary file"))?;
    if file.bom {
        temporary.write_all(BOM.as_bytes()).map_err(failed("write"))?;
    }
    temporary.write_all(text.as_bytes()).map_err(failed("write"))?;
    temporary.as_file().sync_all().map_err(failed("write"))?;
    fs::set_permissions(temporary.path(), metadata.permissions()).map_err(failed("set permissions"))?;
    temporary.persist(&target).map_err(|err| failed("replace the file")(err.error))?;
    Ok(())
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}
