//! tree-sitter-python parsing: one parser per thread, and syntax-error lookup.

use std::cell::RefCell;
use std::fmt::Write;

use tree_sitter::{Node, Parser, Tree};

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(new_parser());
}

fn new_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled tree-sitter-python grammar matches the tree-sitter ABI");
    parser
}

/// Parses Python source. tree-sitter always returns a tree (with `ERROR`
/// nodes where the text is not Python); `None` only if parsing was cancelled.
pub fn parse(text: &str) -> Option<Tree> {
    PARSER.with(|parser| parser.borrow_mut().parse(text, None))
}

/// Parses only `ranges` of `text`, as if the rest were not there; node
/// positions are still those of `text`.
pub fn parse_ranges(text: &str, ranges: &[tree_sitter::Range]) -> Option<Tree> {
    PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.set_included_ranges(ranges).ok()?;
        let tree = parser.parse(text, None);
        // The parser is the thread's: back to whole texts.
        parser.set_included_ranges(&[]).expect("no ranges means the whole text");
        tree
    })
}

/// The byte offset of the first syntax error in the tree, if any.
pub fn first_error(tree: &Tree) -> Option<usize> {
    let root = tree.root_node();
    if !root.has_error() {
        return None;
    }
    let mut node = root;
    // Descend towards the first child that carries the error.
    'descend: loop {
        if node.is_error() || node.is_missing() {
            return Some(node.start_byte());
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.has_error() {
                node = child;
                continue 'descend;
            }
        }
        return Some(node.start_byte());
    }
}

/// The source text of a node.
pub fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// An indented dump of the tree with field names and positions, for people
/// writing recipes (`asyncfix dump-tree`).
pub fn dump(tree: &Tree, source: &str) -> String {
    let mut out = String::new();
    let mut cursor = tree.walk();
    let mut depth = 0;
    loop {
        let node = cursor.node();
        if node.is_named() {
            let field = cursor.field_name().map(|field| format!("{field}: ")).unwrap_or_default();
            let start = node.start_position();
            let end = node.end_position();
            let leaf = if node.named_child_count() == 0 { format!(" {:?}", text(node, source)) } else { String::new() };
            let _ = writeln!(
                out,
                "{}{field}{} [{}:{}-{}:{}]{leaf}",
                "  ".repeat(depth),
                node.kind(),
                start.row + 1,
                start.column + 1,
                end.row + 1,
                end.column + 1
            );
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
            depth -= 1;
        }
    }
}
