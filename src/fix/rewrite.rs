//! The rewrite styles: how a site becomes an awaited wrapper call.

use std::ops::Range;

use tree_sitter::Node;

use super::Edit;
use crate::parse::FIELD;

/// How a call is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapStyle {
    /// `await w(callee)(args)`: the callee is evaluated here, called in a thread.
    Callee,
    /// `await w(lambda: expr)()`: the whole expression runs in a thread.
    Lambda,
    /// `await w(list)(expr)`: a builtin evaluates the value in a thread.
    Builtin(&'static str),
    /// `await w(lambda: list(expr))()`: a generator made and consumed in
    /// the thread (`qs.iterator()`).
    ListInLambda,
}

/// Whether the node sits where `await x` needs parentheses: as the object of
/// an attribute, the value of a subscript or the callee of a call.
pub fn needs_parentheses(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else { return false };
    let field = match parent.kind() {
        "attribute" => "object",
        "subscript" => "value",
        "call" => "function",
        _ => return false,
    };
    parent.child_by_field_name(field).is_some_and(|child| child.id() == node.id())
}

/// The edits that wrap `node` (a call, or for `Lambda` any expression), and
/// the span the fix owns.
pub fn wrap(node: Node<'_>, style: WrapStyle, wrapper: &str) -> Option<(Vec<Edit>, Range<usize>)> {
    let parens = needs_parentheses(node);
    let open = if parens { "(" } else { "" };
    let close = if parens { ")" } else { "" };
    let start = node.start_byte();
    let end = node.end_byte();
    match style {
        WrapStyle::Callee => {
            let callee = node.child_by_field_id(FIELD.function)?;
            let mut edits =
                vec![Edit::insert(start, format!("{open}await {wrapper}(")), Edit::insert(callee.end_byte(), ")")];
            let mut span_end = callee.end_byte();
            if parens {
                edits.push(Edit::insert(end, ")"));
                span_end = end;
            }
            Some((edits, start..span_end))
        }
        WrapStyle::Builtin(builtin) => Some((
            vec![
                Edit::insert(start, format!("{open}await {wrapper}({builtin})(")),
                Edit::insert(end, format!("){close}")),
            ],
            start..end,
        )),
        WrapStyle::ListInLambda => Some((
            vec![
                Edit::insert(start, format!("{open}await {wrapper}(lambda: list(")),
                Edit::insert(end, format!("))(){close}")),
            ],
            start..end,
        )),
        WrapStyle::Lambda => Some((
            vec![
                Edit::insert(start, format!("{open}await {wrapper}(lambda: ")),
                Edit::insert(end, format!(")(){close}")),
            ],
            start..end,
        )),
    }
}

/// `driver(f)(args)` -> `await f(args)`: the coroutine function awaited on
/// the running loop instead of run by a sync driver (`async_to_sync`). The
/// edits and the span the fix owns; `None` unless the driver has `f` alone.
pub fn await_driven(call: Node<'_>) -> Option<(Vec<Edit>, Range<usize>)> {
    let driver = call.child_by_field_id(FIELD.function)?;
    let function = driven_function(driver)?;
    let parens = needs_parentheses(call);
    let mut edits = vec![
        Edit {
            range: driver.start_byte()..function.start_byte(),
            content: format!("{}await ", if parens { "(" } else { "" }),
        },
        Edit { range: function.end_byte()..driver.end_byte(), content: String::new() },
    ];
    if parens {
        edits.push(Edit::insert(call.end_byte(), ")"));
    }
    Some((edits, call.byte_range()))
}

/// The coroutine function of `driver(f)` when `f` is its only argument and
/// an expression `await f(...)` keeps whole (a name, an attribute, a call).
pub fn driven_function(driver: Node<'_>) -> Option<Node<'_>> {
    if driver.kind() != "call" {
        return None;
    }
    let arguments = driver.child_by_field_id(FIELD.arguments)?;
    let function = arguments.named_child(0).filter(|_| arguments.named_child_count() == 1)?;
    matches!(function.kind(), "identifier" | "attribute" | "subscript" | "call").then_some(function)
}
