//! Reading and writing source files: decoding, the BOM, and atomic writes
//! that keep permissions and never overwrite a file changed meanwhile.

use std::fs;
use std::io::{Read, Seek, Write};
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

/// Writes `text` (a fix of `file.text`) in place of `path`, in the file's
/// own BOM and line breaks: through a temporary file and a rename that keep
/// its permissions and, where allowed, its owner and group; a file with
/// several hard links is written in place, so the links keep sharing it.
/// A file changed since it was read is left as the other writer left it.
pub fn write(path: &Path, file: &SourceFile, text: &str) -> Result<(), FileError> {
    write_racing(path, file, text, |_| {})
}

/// The moments of a write where another writer can slip in; tests run one
/// there through [`write_racing`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// The new text is ready; the last check that the file is unchanged comes next.
    BeforeLastCheck,
    /// The file was found unchanged; it is replaced next.
    BeforeReplace,
}

/// [`write`], running `meanwhile` at each [`Moment`].
#[doc(hidden)]
pub fn write_racing(
    path: &Path,
    file: &SourceFile,
    text: &str,
    mut meanwhile: impl FnMut(Moment),
) -> Result<(), FileError> {
    let target = fs::canonicalize(path).map_err(failed("resolve path"))?;
    // The file stays open: its handle still reaches what was read after the
    // rename, which is how a write that lands in the last window is found.
    let mut original = fs::File::open(&target).map_err(failed("read"))?;
    let read = original.metadata().map_err(failed("stat"))?;
    if read.permissions().readonly() {
        return Err(FileError::ReadOnly);
    }
    let mut current = Vec::new();
    original.read_to_end(&mut current).map_err(failed("read"))?;
    if current != file.raw {
        return Err(FileError::Changed);
    }
    let written = file.as_written(text);
    if hard_links(&read) > 1 {
        meanwhile(Moment::BeforeLastCheck);
        unchanged(&original, &read, &target)?;
        meanwhile(Moment::BeforeReplace);
        return write_in_place(&target, written.as_bytes());
    }
    let temporary = temporary_copy(&target, written.as_bytes(), &read)?;
    meanwhile(Moment::BeforeLastCheck);
    unchanged(&original, &read, &target)?;
    meanwhile(Moment::BeforeReplace);
    temporary.persist(&target).map_err(|err| failed("replace the file")(err.error))?;
    // A write between the last check and the rename went to the file that
    // was replaced: put that file back, with the other writer's change.
    let replaced = original.metadata().map_err(failed("stat"))?;
    if replaced.len() != read.len() || replaced.modified().ok() != read.modified().ok() {
        let mut theirs = Vec::new();
        original.seek(std::io::SeekFrom::Start(0)).map_err(failed("read"))?;
        original.read_to_end(&mut theirs).map_err(failed("read"))?;
        let restored = temporary_copy(&target, &theirs, &read)?;
        restored.persist(&target).map_err(|err| failed("put the file back")(err.error))?;
        return Err(FileError::Changed);
    }
    Ok(())
}

/// A temporary file beside `target` holding `bytes`, with the permissions
/// (and, where allowed, the owner and group) of `like`.
fn temporary_copy(target: &Path, bytes: &[u8], like: &fs::Metadata) -> Result<tempfile::NamedTempFile, FileError> {
    let directory = target.parent().unwrap_or_else(|| Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".asyncfix-")
        .tempfile_in(directory)
        .map_err(failed("create a temporary file"))?;
    temporary.write_all(bytes).map_err(failed("write"))?;
    temporary.as_file().sync_all().map_err(failed("write"))?;
    fs::set_permissions(temporary.path(), like.permissions()).map_err(failed("set permissions"))?;
    keep_owner(temporary.as_file(), like);
    Ok(temporary)
}

/// Gives `file` the owner and group of `like` where the user may: root may
/// set both, an owner only a group they belong to; otherwise the new file
/// stays the user's, as with any editor that saves by renaming.
#[cfg(unix)]
fn keep_owner(file: &fs::File, like: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    if std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(like.gid()));
    }
}

#[cfg(not(unix))]
fn keep_owner(_: &fs::File, _: &fs::Metadata) {}

#[cfg(unix)]
fn hard_links(metadata: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(metadata)
}

#[cfg(not(unix))]
fn hard_links(_: &fs::Metadata) -> u64 {
    1
}

/// The last check before replacing: `target` still names the file that was
/// read, and nothing wrote to it since (size and modification time).
fn unchanged(original: &fs::File, read: &fs::Metadata, target: &Path) -> Result<(), FileError> {
    let now = original.metadata().map_err(failed("stat"))?;
    let named = fs::metadata(target).map_err(failed("stat"))?;
    if now.len() != read.len() || now.modified().ok() != read.modified().ok() || !same_file(&named, read) {
        return Err(FileError::Changed);
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

/// Overwrites a file with several hard links where it is, so every link
/// sees the fix (a rename would leave the others on the old text).
fn write_in_place(target: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut out = fs::OpenOptions::new().write(true).open(target).map_err(failed("write"))?;
    out.write_all(bytes).map_err(failed("write"))?;
    out.set_len(bytes.len() as u64).map_err(failed("write"))?;
    out.sync_all().map_err(failed("write"))
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}
