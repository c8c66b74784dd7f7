//! tree-sitter-python parsing: one parser per thread, and syntax-error lookup.

use std::cell::RefCell;
use std::fmt::Write;
use std::sync::LazyLock;

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

/// The grammar's field ids, looked up once: `child_by_field_name` compares
/// the name with each field's name on every call, and the rules ask for
/// fields on every node they visit.
pub struct Fields {
    pub function: u16,
    pub attribute: u16,
    pub object: u16,
    pub name: u16,
    pub arguments: u16,
    pub left: u16,
    pub value: u16,
    pub body: u16,
    pub right: u16,
    pub parameters: u16,
    pub r#type: u16,
    pub alias: u16,
    pub superclasses: u16,
    pub return_type: u16,
    pub subscript: u16,
    pub module_name: u16,
    pub definition: u16,
    pub condition: u16,
    pub consequence: u16,
    pub operator: u16,
    pub alternative: u16,
    pub key: u16,
}

pub static FIELD: LazyLock<Fields> = LazyLock::new(|| {
    let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
    let id = |name: &str| {
        language.field_id_for_name(name).unwrap_or_else(|| panic!("tree-sitter-python has no field `{name}`")).get()
    };
    Fields {
        function: id("function"),
        attribute: id("attribute"),
        object: id("object"),
        name: id("name"),
        arguments: id("arguments"),
        left: id("left"),
        value: id("value"),
        body: id("body"),
        right: id("right"),
        parameters: id("parameters"),
        r#type: id("type"),
        alias: id("alias"),
        superclasses: id("superclasses"),
        return_type: id("return_type"),
        subscript: id("subscript"),
        module_name: id("module_name"),
        definition: id("definition"),
        condition: id("condition"),
        consequence: id("consequence"),
        operator: id("operator"),
        alternative: id("alternative"),
        key: id("key"),
    }
});

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

/// The first statement whose indentation `CPython` would refuse with an
/// `IndentationError` where tree-sitter-python, more lenient, accepts it:
/// a statement of a block (or of the module) that starts its line at another
/// column than the block's first one. Columns are counted as `CPython`'s
/// tokenizer counts them: a tab to the next multiple of 8, a form feed back
/// to 0. Only statement nodes are walked: expressions hold no blocks.
pub fn misindented(tree: &Tree, text: &str) -> Option<usize> {
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        if matches!(node.kind(), "module" | "block") {
            let mut expected = if node.kind() == "module" { Some(0) } else { None };
            for statement in node.named_children(&mut cursor) {
                if statement.kind() == "comment" {
                    continue;
                }
                if let Some(column) = line_start_column(text, statement.start_byte()) {
                    match expected {
                        Some(want) if want != column => return Some(statement.start_byte()),
                        None => expected = Some(column),
                        _ => {}
                    }
                }
                stack.push(statement);
            }
        } else {
            stack.extend(node.named_children(&mut cursor).filter(|child| holds_blocks(child.kind())));
        }
    }
    None
}

/// Whether a node kind can hold a block: statements and their clauses.
fn holds_blocks(kind: &str) -> bool {
    kind == "block"
        || kind.ends_with("_statement")
        || kind.ends_with("_clause")
        || kind.ends_with("_definition")
        || kind == "case_clause"
}

/// The indentation column of the statement starting at `offset`, if nothing
/// but indentation comes before it on its line (`if x: y` and `a; b` put a
/// statement after other code, where its column means nothing).
fn line_start_column(text: &str, offset: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let start = bytes[..offset].iter().rposition(|&byte| byte == b'\n' || byte == b'\r').map_or(0, |at| at + 1);
    let mut column = 0;
    for &byte in &bytes[start..offset] {
        match byte {
            b' ' => column += 1,
            b'\t' => column = (column / 8 + 1) * 8,
            b'\x0c' => column = 0,
            _ => return None,
        }
    }
    Some(column)
}

/// The source text of a node.
pub fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    &source[node.byte_range()]
}

/// The value of a plain string literal: no prefix that changes it, no
/// interpolation, no implicit concatenation; escapes are kept as written.
pub fn string_literal(node: Node<'_>, source: &str) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let mut value = String::new();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "string_start" if source[child.byte_range()].to_ascii_lowercase().contains('f') => return None,
            "string_start" | "string_end" => {}
            "string_content" => value.push_str(&source[child.byte_range()]),
            _ => return None,
        }
    }
    Some(value)
}

/// A node's last named child (a block's last statement, an `as` pattern's
/// alias).
pub fn last_named_child(node: Node<'_>) -> Option<Node<'_>> {
    let count = u32::try_from(node.named_child_count()).ok()?;
    node.named_child(count.checked_sub(1)?)
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
