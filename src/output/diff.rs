//! The unified diff of what `fix` would write, as `git apply` reads it.

use std::fmt::Write;

use similar::{DiffTag, TextDiff};

use super::Painter;

/// Lines of context around each change, as `diff -u` and git print.
const CONTEXT: usize = 3;

pub fn unified(path: &str, before: &str, after: &str, painter: Painter) -> String {
    // Lines end at `\n` alone, as git reads them: a lone `\r` stays inside
    // its line (splitting there would print a hunk line git runs on).
    let (old, new) = (crate::files::lines(before), crate::files::lines(after));
    let diff = TextDiff::from_slices(&old, &new);
    let path = path.trim_start_matches('/');
    let mut out = String::new();
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        if out.is_empty() {
            out.push_str(&painter.bold(&format!("--- a/{path}\n")));
            out.push_str(&painter.bold(&format!("+++ b/{path}\n")));
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
