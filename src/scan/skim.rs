//! Skimming: the check of a file needs its async functions and the code
//! around them, not the body of every sync function. Before a file is parsed
//! for its check, the bodies nothing can need are blanked (every byte but
//! line breaks becomes a space and the body becomes `0`), so the parser
//! skips most of a module whose async code is a small part of it. Offsets,
//! lines and columns stay those of the file: the tree's ranges point into it.
//!
//! A sync function's body is blanked when its name is not a dunder, a test
//! set-up method (`setUp`, `setUpClass`, `setUpTestData`) or a hook a
//! library template method runs (the recipes' `[[dispatch]]`), the body
//! holds no line starting with `async`, it is not inside an `async def`, and
//! its name appears as a word nowhere else in the text that stays (strings
//! and comments count: `getattr(self, "name")`), the bodies kept for their
//! names included. Rules read sync code only through calls, by name, so a
//! body no name reaches cannot change a finding; `--full-parse` turns this
//! off and the tests compare both.
//!
//! The scan follows Python's logical lines: strings (prefixes, triple
//! quotes, escapes, f-string replacement fields), brackets, comments and
//! backslash continuations. Where it cannot be sure it skims nothing: tabs
//! and spaces mixed in indentation, a form feed or lone carriage return, a
//! Python 3.12 f-string whose replacement field holds the string's own quote,
//! an unterminated string or bracket.

use rustc_hash::FxHashMap;
use std::ops::Range;

/// A file's text with some sync function bodies left out of the parse.
pub struct Skimmed {
    /// The text with each left-out body's first character replaced by `0`
    /// (and spaces, for the rest of a multi-byte character).
    pub text: String,
    /// What the parser reads: everything but each left-out body after its `0`.
    pub ranges: Vec<tree_sitter::Range>,
    /// Where each left-out body's `0` stands: the parse must show each as the
    /// whole body of a sync `def`, or the skim is not trusted.
    pub stubs: Vec<usize>,
}

/// The text to parse for the check, or `None` when nothing is left out.
/// The bodies of functions named in `hooks` always stay: code runs them by
/// no name the file spells.
pub fn skim(text: &str, hooks: &[&str]) -> Option<Skimmed> {
    let bytes = text.as_bytes();
    let lines = logical_lines(bytes)?;
    let candidates = candidates(bytes, &lines, hooks);
    if candidates.is_empty() {
        return None;
    }
    let blank = unreferenced(bytes, &candidates);
    if blank.iter().all(|&blank| !blank) {
        return None;
    }
    let mut out = bytes.to_vec();
    let mut stubs = Vec::new();
    let mut ranges = Vec::new();
    let mut points = Points { text: bytes, at: 0, point: tree_sitter::Point::new(0, 0) };
    let mut from = 0;
    for (candidate, _) in candidates.iter().zip(&blank).filter(|(_, blank)| **blank) {
        let stub = candidate.body.start;
        out[stub] = b'0';
        let mut rest = stub + 1;
        while rest < out.len() && out[rest] & 0b1100_0000 == 0b1000_0000 {
            out[rest] = b' ';
            rest += 1;
        }
        let start_point = points.at(from);
        ranges.push(tree_sitter::Range {
            start_byte: from,
            end_byte: stub + 1,
            start_point,
            end_point: points.at(stub + 1),
        });
        stubs.push(stub);
        from = candidate.body.end;
    }
    let start_point = points.at(from);
    ranges.push(tree_sitter::Range {
        start_byte: from,
        end_byte: bytes.len(),
        start_point,
        end_point: points.at(bytes.len()),
    });
    // Only a character's first byte became `0`, its other bytes spaces: still UTF-8.
    let text = String::from_utf8(out).ok()?;
    Some(Skimmed { text, ranges, stubs })
}

/// Rows and columns of increasing offsets, counted once.
struct Points<'a> {
    text: &'a [u8],
    at: usize,
    point: tree_sitter::Point,
}

impl Points<'_> {
    fn at(&mut self, offset: usize) -> tree_sitter::Point {
        let skipped = &self.text[self.at..offset];
        match memchr::memrchr(b'\n', skipped) {
            Some(last) => {
                self.point.row += memchr::memchr_iter(b'\n', skipped).count();
                self.point.column = skipped.len() - last - 1;
            }
            None => self.point.column += skipped.len(),
        }
        self.at = offset;
        self.point
    }
}

/// Whether the parse of a skimmed text shows every stub as the whole body
/// of a sync function, as the scan meant.
pub fn stubs_hold(tree: &tree_sitter::Tree, stubs: &[usize]) -> bool {
    let root = tree.root_node();
    !root.has_error()
        && stubs.iter().all(|&stub| {
            let Some(integer) = root.descendant_for_byte_range(stub, stub + 1) else { return false };
            let statement = integer.parent().filter(|node| node.kind() == "expression_statement");
            let block = statement.and_then(|node| node.parent()).filter(|node| node.kind() == "block");
            let function = block.and_then(|node| node.parent()).filter(|node| node.kind() == "function_definition");
            integer.kind() == "integer"
                && integer.byte_range() == (stub..stub + 1)
                // Comments after the body may join its block.
                && block.is_some_and(|block| {
                    let mut cursor = block.walk();
                    block.named_children(&mut cursor).filter(|child| child.kind() != "comment").count() == 1
                })
                && function.is_some_and(|function| function.child(0).is_some_and(|first| first.kind() == "def"))
        })
}

/// One logical line: a statement's text, continuation lines included.
#[derive(Debug)]
struct Line {
    /// Bytes of indentation (all spaces or all tabs in a skimmed file).
    indent: usize,
    /// The first byte of the statement.
    start: usize,
    /// Where the logical line ends, before its line break (a trailing
    /// comment is inside).
    end: usize,
    /// The last token is `:`, so a block follows on the next lines.
    opens_block: bool,
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

/// The logical lines of a module, or `None` where the scan is unsure.
fn logical_lines(text: &[u8]) -> Option<Vec<Line>> {
    let mut lines = Vec::new();
    let mut indent_bytes = (false, false);
    let mut i = 0;
    while i < text.len() {
        let line_start = i;
        while i < text.len() && matches!(text[i], b' ' | b'\t') {
            i += 1;
        }
        match text.get(i) {
            None => break,
            Some(b'\n') => {
                i += 1;
                continue;
            }
            Some(b'\r') => {
                i = after_line_break(text, i)?;
                continue;
            }
            Some(b'#') => {
                i = comment_end(text, i);
                continue;
            }
            // A form feed resets the column; a backslash first on a line joins
            // it with the next in ways not worth following.
            Some(b'\x0c' | b'\\') => return None,
            Some(_) => {}
        }
        for &byte in &text[line_start..i] {
            if byte == b' ' {
                indent_bytes.0 = true;
            } else {
                indent_bytes.1 = true;
            }
        }
        if indent_bytes.0 && indent_bytes.1 {
            return None;
        }
        let start = i;
        let mut depth = 0usize;
        let mut last = 0u8;
        let end = loop {
            let Some(&byte) = text.get(i) else {
                if depth > 0 {
                    return None;
                }
                break i;
            };
            match byte {
                b'\n' | b'\r' => {
                    let at = i;
                    i = after_line_break(text, i)?;
                    if depth == 0 {
                        break at;
                    }
                }
                b'#' => i = comment_end(text, i),
                b'\\' => i = after_line_break(text, i + 1)?,
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    last = byte;
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    last = byte;
                    i += 1;
                }
                b'\'' | b'"' => {
                    i = string_end(text, i, false)?;
                    last = byte;
                }
                b' ' | b'\t' | b'\x0c' => i += 1,
                _ if is_word_byte(byte) => {
                    let word_start = i;
                    while i < text.len() && is_word_byte(text[i]) {
                        i += 1;
                    }
                    if let Some(&quote @ (b'\'' | b'"')) = text.get(i) {
                        let prefix = &text[word_start..i];
                        if is_string_prefix(prefix) {
                            let formatted = prefix.iter().any(|byte| matches!(byte.to_ascii_lowercase(), b'f' | b't'));
                            i = string_end(text, i, formatted)?;
                            last = quote;
                            continue;
                        }
                    }
                    last = text[i - 1];
                }
                _ => {
                    last = byte;
                    i += 1;
                }
            }
        };
        lines.push(Line { indent: start - line_start, start, end, opens_block: last == b':' });
    }
    Some(lines)
}

/// Past the line break at `at` (`\n` or `\r\n`); a lone `\r` is not trusted.
/// The offset of the first bracket never closed, outside strings and
/// comments, as `CPython` reports it (`'(' was never closed`); `None` when
/// every bracket closes or a string or a stray closer makes the scan unsure.
pub fn unclosed_bracket(text: &[u8]) -> Option<usize> {
    let mut open = Vec::new();
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        match byte {
            b'#' => i = comment_end(text, i),
            b'(' | b'[' | b'{' => {
                open.push(i);
                i += 1;
            }
            b')' | b']' | b'}' => {
                open.pop()?;
                i += 1;
            }
            b'\'' | b'"' => i = string_end(text, i, false)?,
            _ if is_word_byte(byte) => {
                let word_start = i;
                while i < text.len() && is_word_byte(text[i]) {
                    i += 1;
                }
                if matches!(text.get(i), Some(b'\'' | b'"')) && is_string_prefix(&text[word_start..i]) {
                    let prefix = &text[word_start..i];
                    let formatted = prefix.iter().any(|byte| matches!(byte.to_ascii_lowercase(), b'f' | b't'));
                    i = string_end(text, i, formatted)?;
                }
            }
            _ => i += 1,
        }
    }
    open.first().copied()
}

fn after_line_break(text: &[u8], at: usize) -> Option<usize> {
    match text.get(at) {
        Some(b'\n') => Some(at + 1),
        Some(b'\r') if text.get(at + 1) == Some(&b'\n') => Some(at + 2),
        _ => None,
    }
}

/// Where a comment starting at `at` ends: at its line break.
fn comment_end(text: &[u8], at: usize) -> usize {
    memchr::memchr2(b'\n', b'\r', &text[at..]).map_or(text.len(), |offset| at + offset)
}

fn is_string_prefix(word: &[u8]) -> bool {
    let lower: Vec<u8> = word.iter().map(u8::to_ascii_lowercase).collect();
    matches!(lower.as_slice(), b"r" | b"u" | b"b" | b"f" | b"t" | b"br" | b"rb" | b"fr" | b"rf" | b"tr" | b"rt")
}

/// Past the string whose opening quote is at `at`. In an f-string, the
/// replacement fields are followed so that the string ends where Python
/// 3.11 and 3.12 agree it does; where they might not, `None`.
fn string_end(text: &[u8], at: usize, formatted: bool) -> Option<usize> {
    let quote = text[at];
    let triple = text[at..].starts_with(&[quote; 3]);
    let mut i = at + if triple { 3 } else { 1 };
    // Depth of replacement fields (`{...}`) in an f-string.
    let mut field = 0usize;
    loop {
        let byte = *text.get(i)?;
        match byte {
            b'\\' => {
                if field > 0 {
                    return None;
                }
                i += 1;
                match text.get(i)? {
                    b'\r' => i = after_line_break(text, i)?,
                    _ => i += 1,
                }
            }
            _ if byte == quote => {
                if field > 0 {
                    return None;
                }
                if !triple {
                    return Some(i + 1);
                }
                if text[i..].starts_with(&[quote; 3]) {
                    return Some(i + 3);
                }
                i += 1;
            }
            b'\n' | b'\r' => {
                if !triple {
                    return None;
                }
                i = after_line_break(text, i)?;
            }
            b'{' if formatted => {
                if field == 0 && text.get(i + 1) == Some(&b'{') {
                    i += 2;
                } else {
                    field += 1;
                    i += 1;
                }
            }
            b'}' if formatted => {
                field = field.saturating_sub(1);
                i += 1;
            }
            // A string of the other quote inside a field: its braces do not count.
            b'\'' | b'"' if field > 0 => {
                let close = memchr::memchr3(byte, b'\n', b'\r', &text[i + 1..])? + i + 1;
                if text[close] != byte {
                    return None;
                }
                i = close + 1;
            }
            b'#' if field > 0 => return None,
            _ => i += 1,
        }
    }
}

/// A sync function whose body may be blanked.
struct Candidate<'a> {
    name: &'a [u8],
    /// From the first byte of the body's first statement to the end of its
    /// last logical line.
    body: Range<usize>,
}

/// The first word of a logical line, and the word after it.
fn leading_words<'a>(text: &'a [u8], line: &Line) -> (&'a [u8], &'a [u8]) {
    let word = |from: usize| -> (&'a [u8], usize) {
        let mut end = from;
        while end < line.end && is_word_byte(text[end]) {
            end += 1;
        }
        (&text[from..end], end)
    };
    let (first, mut at) = word(line.start);
    // Between two words: spaces, tabs, and backslash continuations.
    while at < line.end && matches!(text[at], b' ' | b'\t' | b'\\' | b'\r' | b'\n') {
        at += 1;
    }
    (first, word(at).0)
}

/// Methods the test runner calls by no name the file spells, whose
/// `self.x = ...` the async tests read.
const SET_UP: &[&[u8]] = &[b"setUp", b"setUpClass", b"setUpTestData"];

/// Sync functions outside any `async def` whose body holds no line starting
/// with `async`, outermost first; a dunder's or a set-up method's body always
/// stays.
fn candidates<'a>(text: &'a [u8], lines: &[Line], hooks: &[&str]) -> Vec<Candidate<'a>> {
    // The logical lines after `header` that are indented deeper: its block.
    let block_end = |header: usize| {
        let indent = lines[header].indent;
        lines[header + 1..].iter().position(|line| line.indent <= indent).map_or(lines.len(), |end| header + 1 + end)
    };
    let mut found = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let line = &lines[at];
        let (first, second) = leading_words(text, line);
        let has_block = line.opens_block && lines.get(at + 1).is_some_and(|next| next.indent > line.indent);
        if !has_block {
            at += 1;
            continue;
        }
        let end = block_end(at);
        if first == b"async" && second == b"def" {
            at = end;
            continue;
        }
        let holds_async = || lines[at + 1..end].iter().any(|line| leading_words(text, line).0 == b"async");
        let dunder = second.starts_with(b"__") && second.ends_with(b"__");
        let kept = dunder || SET_UP.contains(&second) || hooks.iter().any(|hook| hook.as_bytes() == second);
        if first == b"def" && !second.is_empty() && !kept && !holds_async() {
            found.push(Candidate { name: second, body: lines[at + 1].start..lines[end - 1].end });
            at = end;
            continue;
        }
        at += 1;
    }
    found
}

/// Which candidates no kept text names: to be blanked. A kept body's words
/// count too, until nothing changes.
fn unreferenced(text: &[u8], candidates: &[Candidate<'_>]) -> Vec<bool> {
    let mut by_name: FxHashMap<&[u8], Vec<usize>> = FxHashMap::default();
    for (id, candidate) in candidates.iter().enumerate() {
        by_name.entry(candidate.name).or_default().push(id);
    }
    let mut blank = vec![true; candidates.len()];
    // The text around the candidates' bodies, then each body kept.
    let mut pending: Vec<Range<usize>> = Vec::new();
    let mut from = 0;
    for candidate in candidates {
        pending.push(from..candidate.body.start);
        from = candidate.body.end;
    }
    pending.push(from..text.len());
    while let Some(range) = pending.pop() {
        let mut previous: &[u8] = b"";
        let mut i = range.start;
        while i < range.end {
            if !is_word_byte(text[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < range.end && is_word_byte(text[i]) {
                i += 1;
            }
            let word = &text[start..i];
            // `def name` defines the name; it does not use it.
            if previous != b"def"
                && let Some(ids) = by_name.get(word)
            {
                for &id in ids {
                    if std::mem::replace(&mut blank[id], false) {
                        pending.push(candidates[id].body.clone());
                    }
                }
            }
            previous = word;
        }
    }
    blank
}

#[cfg(test)]
#[path = "skim_tests.rs"]
mod tests;
