//! The locator: byte offsets to line and column, and the file's line ending.

/// Maps byte offsets in one file to 1-based lines and columns.
pub struct Locator<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self { text, line_starts }
    }

    /// 1-based line and column; the column counts characters, not bytes.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset.min(self.text.len())].chars().count() + 1;
        (line, column)
    }

    /// The byte offset where the line holding `offset` starts.
    pub fn line_start(&self, offset: usize) -> usize {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        self.line_starts[line - 1]
    }

    /// The byte offset just past the end of the line holding `offset`,
    /// including its line break (or the end of the file).
    pub fn full_line_end(&self, offset: usize) -> usize {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        self.line_starts.get(line).copied().unwrap_or(self.text.len())
    }

    /// The leading whitespace of the line holding `offset`.
    pub fn indentation(&self, offset: usize) -> &'a str {
        let start = self.line_start(offset);
        let rest = &self.text[start..];
        let width = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        &rest[..width]
    }
}

/// The line ending a file uses, taken from its first line break.
pub fn line_ending(text: &str) -> &'static str {
    match memchr::memchr(b'\n', text.as_bytes()) {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        None if text.contains('\r') => "\r",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let locator = Locator::new("ab\né x\n");
        assert_eq!(locator.line_col(0), (1, 1));
        assert_eq!(locator.line_col(3), (2, 1));
        assert_eq!(locator.line_col(6), (2, 3));
        assert_eq!(locator.full_line_end(4), 8);
    }

    #[test]
    fn crlf_is_detected() {
        assert_eq!(line_ending("a\r\nb"), "\r\n");
        assert_eq!(line_ending("a\nb"), "\n");
    }
}
