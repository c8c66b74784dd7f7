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

pub fn decode(raw: Vec<u8>) -> Result<SourceFile, String> {
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
            Err(format!("{line}:{column}: not valid UTF-8; file left untouched"))
        }
    }
}

/// Reads a file; `Ok(None)` for a file that is not UTF-8 but cannot hold a
/// site either (no `async def` in its bytes), such as a PEP 263 Latin-1 module.
pub fn read(path: &Path) -> Result<Option<SourceFile>, String> {
    let raw = fs::read(path).map_err(|err| format!("cannot read: {}", io_reason(&err)))?;
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
pub fn write(path: &Path, file: &SourceFile, text: &str) -> Result<(), String> {
    let target = fs::canonicalize(path).map_err(|err| format!("cannot resolve path: {}", io_reason(&err)))?;
    let metadata = fs::metadata(&target).map_err(|err| format!("cannot stat: {}", io_reason(&err)))?;
    if metadata.permissions().readonly() {
        return Err("file is read-only; left untouched".to_owned());
    }
    let current = fs::read(&target).map_err(|err| format!("cannot read: {}", io_reason(&err)))?;
    if current != file.raw {
        return Err("file changed while asyncfix was working on it; left untouched".to_owned());
    }
    let directory = target.parent().unwrap_or_else(|| Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".asyncfix-")
        .tempfile_in(directory)
        .map_err(|err| format!("cannot create a temporary file: {}", io_reason(&err)))?;
    if file.bom {
        temporary.write_all(BOM.as_bytes()).map_err(|err| format!("cannot write: {}", io_reason(&err)))?;
    }
    temporary.write_all(text.as_bytes()).map_err(|err| format!("cannot write: {}", io_reason(&err)))?;
    temporary.as_file().sync_all().map_err(|err| format!("cannot write: {}", io_reason(&err)))?;
    fs::set_permissions(temporary.path(), metadata.permissions())
        .map_err(|err| format!("cannot set permissions: {}", io_reason(&err)))?;
    temporary.persist(&target).map_err(|err| format!("cannot replace the file: {}", io_reason(&err.error)))?;
    Ok(())
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}
