//! Whether a method is abstract: a placeholder its subclasses override, so a
//! call of it on the base class runs one of the overrides
//! (class-hierarchy dispatch, in the index's call graph).

use tree_sitter::Node;

use crate::parse::FIELD;

/// `@abstractmethod` (`@abc.abstractmethod`), or a body that only holds a
/// docstring, `pass`, `...` or `raise NotImplementedError` (with or
/// without a message). A body the skim left out (`0`) is not one.
pub(super) fn is_abstract(function: Node<'_>, source: &str) -> bool {
    let text = |node: Node<'_>| &source[node.byte_range()];
    if let Some(decorated) = function.parent().filter(|parent| parent.kind() == "decorated_definition") {
        let mut cursor = decorated.walk();
        let marked = decorated.named_children(&mut cursor).any(|child| {
            child.kind() == "decorator"
                && child.named_child(0).is_some_and(|name| text(name).rsplit('.').next() == Some("abstractmethod"))
        });
        if marked {
            return true;
        }
    }
    let Some(body) = function.child_by_field_id(FIELD.body) else { return false };
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).filter(|node| node.kind() != "comment").collect();
    let placeholder = |statement: &Node<'_>| match statement.kind() {
        "pass_statement" => true,
        "expression_statement" => statement
            .named_child(0)
            .is_some_and(|value| matches!(value.kind(), "string" | "ellipsis") && statement.named_child_count() == 1),
        "raise_statement" => statement.named_child(0).is_some_and(|raised| {
            let class = if raised.kind() == "call" { raised.child_by_field_id(FIELD.function) } else { Some(raised) };
            class.is_some_and(|class| text(class) == "NotImplementedError")
        }),
        _ => false,
    };
    !statements.is_empty() && statements.iter().all(placeholder)
}
