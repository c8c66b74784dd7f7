//! Which parameters a sync function reads on every path through it: `def
//! describe(user): return user.username` reads `user` whatever it is
//! called with. A lazy object passed for such a parameter (Django's
//! `request.user`) is loaded by the call.
//!
//! A read counts when it runs each time the function does: not in the body
//! of an `if`, loop, `except` or `case` (a test, the first iterable and
//! the left operand of `and`/`or` always run), not in a nested function,
//! lambda or comprehension, and after no `if` that may return or raise.

use tree_sitter::Node;

use super::guards::Guarded;
use crate::infer::facts::GuardParameter;
use crate::parse::FIELD;
use crate::semantic::arguments::slot;
use crate::semantic::{Binding, ScopeId};

/// Adds to `forces` the parameter `node` reads on every path, if any.
pub fn note<'t>(forces: &mut Vec<GuardParameter>, node: Node<'t>, scope: ScopeId, guarded: &Guarded<'_, 't>) {
    if let Some(parameter) = forced_parameter(node, scope, guarded)
        && !forces.contains(&parameter)
    {
        forces.push(parameter);
    }
}

/// The parameter `read` reads on every path, when it is one: `read` is an
/// attribute (`user.email`, a method's callee too) or a call of the
/// builtin `hasattr` or `getattr` on a parameter.
fn forced_parameter<'t>(read: Node<'t>, scope: ScopeId, guarded: &Guarded<'_, 't>) -> Option<GuardParameter> {
    let model = guarded.model;
    let object = match read.kind() {
        "attribute" => read.child_by_field_id(FIELD.object)?,
        "call" => {
            let callee = model.text(read.child_by_field_id(FIELD.function)?);
            if !matches!(callee, "hasattr" | "getattr") || model.lookup(callee, scope).is_some() {
                return None;
            }
            read.child_by_field_id(FIELD.arguments)?.named_child(0)?
        }
        _ => return None,
    };
    if object.kind() != "identifier" || scope != guarded.scope {
        return None;
    }
    let name = model.text(object);
    if !matches!(model.scope(scope).bindings.get(name).map(Vec::as_slice), Some([Binding::Parameter { .. }])) {
        return None;
    }
    // `self` has no slot: no call passes it.
    let slot = slot(guarded.definition, name, guarded.skip_first, |node| model.text(node)).filter(|slot| !slot.star)?;
    runs_every_time(read, guarded).then(|| GuardParameter {
        name: name.to_owned(),
        position: slot.position,
        star: false,
        negated: false,
    })
}

/// Whether `node` runs each time the function's body does.
fn runs_every_time(node: Node<'_>, guarded: &Guarded<'_, '_>) -> bool {
    let Some(body) = guarded.definition.child_by_field_id(FIELD.body) else { return false };
    let is = |field, parent: Node<'_>, child: Node<'_>| {
        parent.child_by_field_id(field).is_some_and(|found| found.id() == child.id())
    };
    let mut child = node;
    while let Some(parent) = child.parent() {
        let always = match parent.kind() {
            "block" => !may_leave_before(parent, child),
            "if_statement" | "while_statement" => is(FIELD.condition, parent, child),
            "for_statement" => is(FIELD.right, parent, child),
            "boolean_operator" => is(FIELD.left, parent, child),
            // `a if test else b`: the test.
            "conditional_expression" => parent.named_child(1).is_some_and(|test| test.id() == child.id()),
            "elif_clause"
            | "else_clause"
            | "except_clause"
            | "case_clause"
            | "match_statement"
            | "lambda"
            | "function_definition"
            | "class_definition"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => false,
            _ => true,
        };
        if !always {
            return false;
        }
        if parent.id() == body.id() {
            return true;
        }
        child = parent;
    }
    false
}

/// Whether a statement of `block` before `statement` may return or raise.
fn may_leave_before(block: Node<'_>, statement: Node<'_>) -> bool {
    let mut cursor = block.walk();
    block.named_children(&mut cursor).take_while(|earlier| earlier.id() != statement.id()).any(leaves)
}

/// Whether a statement holds a `return` or `raise` (not in a nested definition).
fn leaves(statement: Node<'_>) -> bool {
    let mut stack = vec![statement];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "return_statement" | "raise_statement" => return true,
            "function_definition" | "lambda" | "class_definition" | "decorated_definition" => {}
            _ => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
    }
    false
}
