//! Byte scans: what can be known about a file before (or instead of)
//! parsing it. [`may_have_sites`] says whether a file can hold a site at
//! all, [`reach`] what a module imports and spells (so the index parses only
//! what can matter), and [`skim`] which sync bodies a check can leave out.

pub mod reach;
pub mod skim;

/// Whether a file can hold a site at all: sites live in `async def`.
pub fn may_have_sites(text: &[u8]) -> bool {
    // Every site is inside `async def`; `async` alone (`async with`, a word in
    // a docstring) is not enough. A definition starts a logical line, so
    // `async` comes first on its line (after indentation, or a BOM on the
    // first line); between the two words only white space and line
    // continuations can stand. `async def` inside a one-line string (the
    // standard library's 750 kB `pydoc_data/topics.py`) does not count.
    memchr::memmem::find_iter(text, b"async").any(|start| {
        if !crate::scan::reach::first_on_line(text, start) {
            return false;
        }
        let mut at = start + "async".len();
        let gap = at;
        while at < text.len() && matches!(text[at], b' ' | b'\t' | b'\x0c' | b'\\' | b'\r' | b'\n') {
            at += 1;
        }
        at > gap
            && text[at..].starts_with(b"def")
            && text.get(at + 3).is_none_or(|&byte| !(byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80))
    })
}

#[cfg(test)]
mod tests {
    use super::may_have_sites;

    #[test]
    fn only_a_definition_can_hold_sites() {
        let holds = [
            "async def f():\n    pass\n",
            "class C:\n\tasync def f(self): ...\n",
            "if x:\n    async  \\\n  def f(): ...\n",
            "@decorator\r\nasync def f(): ...\r\n",
            "\u{feff}async def f(): ...\n",
            "\x0casync def f(): ...\n",
            // A docstring line that looks like a definition counts too: the
            // scan does not know it is in a string.
            "\"\"\"Example:\n\n    async def f(): ...\n\"\"\"\n",
        ];
        let holds_not = [
            "",
            "async with lock:\n    pass\n",
            "x = 'async def f(): ...'\n",
            "topics = {'x': '\\n    async def f(): ...\\n'}\n",
            "notasync def f(): ...\n",
            "async define = 1\n",
            "# see async def\n",
            "y = 1; async def f(): ...\n",
        ];
        for text in holds {
            assert!(may_have_sites(text.as_bytes()), "{text:?}");
        }
        for text in holds_not {
            assert!(!may_have_sites(text.as_bytes()), "{text:?}");
        }
    }
}
