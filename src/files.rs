//! Reading and writing source files: decoding, the BOM, and atomic writes
//! that keep permissions and never overwrite a file changed meanwhile.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::source::Locator;

/// A decoded source file.
pub struct SourceFile {
    /// The text after the BOM, if there was one, as the parser reads it: a
    /// lone `\r` (a classic Mac line break, valid Python) is a `\n` here,
    /// which tree-sitter-python needs and which keeps every byte offset.
    pub text: String,
    pub bom: bool,
    /// The bytes as read, to detect a change before writing.
    pub raw: Vec<u8>,
    /// Whether `text` differs from the file by its lone `\r`s.
    lone_cr: bool,
}

impl SourceFile {
    /// The text as the file spells it, without the BOM.
    fn original(&self) -> &str {
        let text = std::str::from_utf8(&self.raw).expect("a decoded file is UTF-8");
        text.strip_prefix(BOM).unwrap_or(text)
    }

    /// `fixed` (a fix of `text`) in the file's own line breaks: the lines
    /// a fix did not touch come back byte for byte, and new line breaks take
    /// the file's `\r` where it breaks lines that way.
    pub fn restore<'a>(&self, fixed: &'a str) -> std::borrow::Cow<'a, str> {
        if !self.lone_cr {
            return fixed.into();
        }
        let original = self.original();
        let cr_only = crate::source::line_ending(original) == "\r";
        let (old, new) = (lines(&self.text), lines(fixed));
        let diff = similar::TextDiff::from_slices(&old, &new);
        let offsets = |slices: &[&str]| {
            let mut offsets = vec![0];
            offsets.extend(slices.iter().scan(0, |at, line| {
                *at += line.len();
                Some(*at)
            }));
            offsets
        };
        let old_offsets = offsets(&old);
        let mut out = String::with_capacity(fixed.len());
        for op in diff.ops() {
            if let similar::DiffOp::Equal { old_index, len, .. } = *op {
                out.push_str(&original[old_offsets[old_index]..old_offsets[old_index + len]]);
            } else {
                for line in &new[op.new_range()] {
                    match line.strip_suffix('\n') {
                        Some(body) if cr_only && !body.ends_with('\r') => {
                            out.push_str(body);
                            out.push('\r');
                        }
                        _ => out.push_str(line),
                    }
                }
            }
        }
        out.into()
    }

    /// What the file would hold with `fixed` in it, BOM included: both sides
    /// of a diff are shown this way, so `git apply` takes it.
    pub fn as_written(&self, fixed: &str) -> String {
        let bom = if self.bom { BOM } else { "" };
        format!("{bom}{}", self.restore(fixed))
    }
}

/// Lines split after each `\n` only, as git and Python's own tokenizer of
/// the normalized text see them.
pub fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Whether a `\r` in `bytes` breaks a line on its own.
fn has_lone_cr(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n'))
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
                Some(rest) => (rest, true),
                None => (text, false),
            };
            let lone_cr = has_lone_cr(text.as_bytes());
            let text = if lone_cr {
                let mut bytes = text.as_bytes().to_vec();
                for at in 0..bytes.len() {
                    if bytes[at] == b'\r' && bytes.get(at + 1) != Some(&b'\n') {
                        bytes[at] = b'\n';
                    }
                }
                String::from_utf8(bytes).expect("one ASCII byte for another keeps UTF-8")
            } else {
                text.to_owned()
            };
            Ok(SourceFile { text, bom, raw, lone_cr })
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
    temporary.write_all(file.as_written(text).as_bytes()).map_err(failed("write"))?;
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
