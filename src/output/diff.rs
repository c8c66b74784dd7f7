//! The unified diff of what `fix` would write, as `git apply` reads it.

use std::fmt::Write;
use std::path::Path;

use similar::{DiffTag, TextDiff};

use super::{Painter, path_bytes};

/// Lines of context around each change, as `diff -u` and git print.
const CONTEXT: usize = 3;

pub fn unified(path: &Path, before: &str, after: &str, painter: Painter) -> String {
    // Lines end at `\n` alone, as git reads them: a lone `\r` stays inside
    // its line (splitting there would print a hunk line git runs on).
    let (old, new) = (crate::files::lines(before), crate::files::lines(after));
    let diff = TextDiff::from_slices(&old, &new);
    let (old_name, new_name) = (header_name("a/", path), header_name("b/", path));
    let mut out = String::new();
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        if out.is_empty() {
            out.push_str(&painter.bold(&format!("--- {old_name}\n")));
            out.push_str(&painter.bold(&format!("+++ {new_name}\n")));
        }
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!("@@ -{} +{} @@\n", hunk_range(&old_range), hunk_range(&new_range));
        out.push_str(&painter.cyan(&header));
        for op in &group {
            let (tag, old_lines, new_lines) = (op.tag(), &old[op.old_range()], &new[op.new_range()]);
            if tag == DiffTag::Equal {
                for line in old_lines {
                    push_line(&mut out, ' ', line, painter);
                }
                continue;
            }
            for line in old_lines {
                push_line(&mut out, '-', line, painter);
            }
            for line in new_lines {
                push_line(&mut out, '+', line, painter);
            }
        }
    }
    out
}

/// `start,length` of a hunk side, 1-based; an empty side names the line
/// before it, and a length of one is left out, as `diff -u` prints them.
fn hunk_range(range: &std::ops::Range<usize>) -> String {
    match range.len() {
        0 => format!("{},0", range.start),
        1 => format!("{}", range.start + 1),
        length => format!("{},{length}", range.start + 1),
    }
}

fn push_line(out: &mut String, sign: char, line: &str, painter: Painter) {
    let mut text = format!("{sign}{line}");
    if !line.ends_with('\n') {
        text.push('\n');
    }
    let painted = match sign {
        '+' => painter.green(&text),
        '-' => painter.red(&text),
        _ => text,
    };
    out.push_str(&painted);
    if !line.ends_with('\n') {
        let _ = writeln!(out, "\\ No newline at end of file");
    }
}

/// `a/PATH` as git writes it in a header: as is when the path is UTF-8
/// without quotes, backslashes or control characters, else in double quotes
/// with C escapes and each other byte in octal (`"a/caf\351.py"`), which
/// `git apply` reads back to the same bytes.
fn header_name(prefix: &str, path: &Path) -> String {
    let bytes = path_bytes(path);
    let bytes = bytes.strip_prefix(b"/").unwrap_or(&bytes);
    let plain = std::str::from_utf8(bytes)
        .ok()
        .filter(|text| !text.contains(|c: char| c == '"' || c == '\\' || c.is_control()));
    if let Some(text) = plain {
        return format!("{prefix}{text}");
    }
    let mut out = format!("\"{prefix}");
    for &byte in bytes {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b' '..=b'~' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\{byte:03o}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::header_name;
    use std::path::Path;

    #[test]
    fn header_names_are_quoted_as_git_quotes_them() {
        assert_eq!(header_name("a/", Path::new("app/views.py")), "a/app/views.py");
        assert_eq!(header_name("b/", Path::new("/srv/café.py")), "b/srv/café.py");
        assert_eq!(header_name("a/", Path::new("say \"hi\".py")), r#""a/say \"hi\".py""#);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
            assert_eq!(header_name("a/", Path::new(latin1)), r#""a/caf\351.py""#);
        }
    }
}
