//! What a function defined inside another returns, read from its
//! `return`s where it is called: the index summarises only module-level
//! functions and methods, and a helper nested in an `async def` (often
//! decorated with `@sync_to_async`) is how much real code fetches.
//!
//! The value is the meet of every `return` (all must give the same kind of
//! value; a bare `return`, or one the evaluator cannot read, gives
//! nothing), or of one element of the tuple each returns. A generator, or
//! a decorator other than a thread wrapper, gives nothing.

use tree_sitter::Node;

use super::names::meet;
use super::{Evaluator, Value, decorator_callees};
use crate::parse::FIELD;
use crate::semantic::{Binding, ScopeId, ScopeKind};

impl<'t> Evaluator<'_, 't> {
    /// The `def` a called name is bound to, once, inside an enclosing
    /// function, and whether calling it gives an awaitable (an `async def`,
    /// or one decorated with a thread wrapper).
    pub(super) fn nested_function(&self, callee: Node<'t>, scope: ScopeId) -> Option<(Node<'t>, bool)> {
        if callee.kind() != "identifier" {
            return None;
        }
        let name = self.model.text(callee);
        let (found, bindings) = self.model.lookup(name, scope)?;
        if !matches!(bindings, [Binding::Function])
            || !matches!(self.model.scope(found).kind, ScopeKind::Function { .. })
        {
            return None;
        }
        let owner = self.model.scope(found).node?;
        let definition = definition_in(owner.child_by_field_id(FIELD.body)?, name, self)?;
        let awaitable_def = definition.child(0).is_some_and(|first| first.kind() == "async");
        let mut wrapped = false;
        if let Some(decorated) = definition.parent().filter(|parent| parent.kind() == "decorated_definition") {
            // Any other decorator may return something else.
            if !decorator_callees(decorated).into_iter().all(|callee| self.is_wrapper(callee, found)) {
                return None;
            }
            wrapped = true;
        }
        Some((definition, awaitable_def || wrapped))
    }

    /// What `definition` returns: the meet of its `return`s, or of element
    /// `element` of the tuple each returns.
    pub(super) fn nested_returns(&self, definition: Node<'t>, element: Option<usize>, depth: usize) -> Value {
        let Some(body) = definition.child_by_field_id(FIELD.body) else { return Value::Unknown };
        let mut agreed: Option<Value> = None;
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "function_definition" | "lambda" | "class_definition" | "decorated_definition" => {}
                // A generator: calling it runs none of the body.
                "yield" => return Value::Unknown,
                "return_statement" => {
                    let Some(value) = node.named_child(0) else { return Value::Unknown };
                    let value = match element {
                        None => Some(value),
                        Some(index) if matches!(value.kind(), "expression_list" | "tuple") => {
                            let mut cursor = value.walk();
                            value.named_children(&mut cursor).filter(|child| child.kind() != "comment").nth(index)
                        }
                        Some(_) => None,
                    };
                    let Some(value) = value else { return Value::Unknown };
                    let found = self.eval_at(value, self.model.scope_at(value), depth + 1);
                    agreed = match agreed {
                        None => Some(found),
                        Some(previous) => meet(previous, found),
                    };
                    if matches!(agreed, None | Some(Value::Unknown)) {
                        return Value::Unknown;
                    }
                }
                _ => {
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor));
                }
            }
        }
        agreed.unwrap_or(Value::Unknown)
    }
}

/// The `def name` among the statements of `body` (in its blocks too, not
/// in nested definitions).
fn definition_in<'t>(body: Node<'t>, name: &str, evaluator: &Evaluator<'_, 't>) -> Option<Node<'t>> {
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "function_definition" => {
                if node.child_by_field_id(FIELD.name).is_some_and(|found| evaluator.model.text(found) == name) {
                    return Some(node);
                }
            }
            "lambda" | "class_definition" => {}
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
    }
    None
}
