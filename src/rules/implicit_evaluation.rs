//! DJ104 `queryset-evaluated-in-async`: a `QuerySet` evaluated without a
//! method call: iterated (`for x in qs`, comprehensions), passed to `list`,
//! `len`, `bool` and friends, tested (`if qs:`), searched (`x in qs`) or
//! indexed (`qs[0]`). The builtins are listed in
//! `recipes/queryset-evaluation.toml`.

use tree_sitter::Node;

use super::Site;
use crate::fix::rewrite::WrapStyle;
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

/// How the value is used, which decides the rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Iterated or searched: becomes `await w(list)(qs)`.
    Iterated,
    /// Tested for truth: becomes `await w(bool)(qs)`.
    Tested,
}

fn queryset(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<Certainty> {
    match evaluator.eval(node, scope) {
        Value::QuerySet { certainty, .. } => Some(certainty),
        _ => None,
    }
}

/// `list(qs)`, `len(qs)`, `bool(qs)`, ...
pub fn check_call<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let callee = call.child_by_field_id(FIELD.function)?;
    if callee.kind() != "identifier" {
        return None;
    }
    let name = evaluator.model.text(callee);
    let &rule = evaluator.rules.evaluating_functions.get(name)?;
    // A builtin only while no binding shadows it.
    if evaluator.model.lookup(name, scope).is_some() {
        return None;
    }
    let argument = call.child_by_field_id(FIELD.arguments)?.named_child(0)?;
    let certainty = queryset(argument, scope, evaluator)?;
    Some(Site::new(rule, call, name.to_owned(), evaluator).certainty(certainty))
}

/// An expression used as an iterable or a condition.
pub fn check_use<'t>(node: Node<'t>, used: Use, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.implicit_evaluation?;
    let certainty = queryset(node, scope, evaluator)?;
    let builtin = match used {
        Use::Iterated => "list",
        Use::Tested => "bool",
    };
    Some(Site::new(rule, node, builtin.to_owned(), evaluator).certainty(certainty).style(WrapStyle::Builtin(builtin)))
}

/// `qs[0]`: indexing (not slicing) runs a query.
pub fn check_subscript<'t>(subscript: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.implicit_evaluation?;
    let index = subscript.child_by_field_id(FIELD.subscript)?;
    if index.kind() == "slice" {
        return None;
    }
    let certainty = queryset(subscript.child_by_field_id(FIELD.value)?, scope, evaluator)?;
    Some(Site::new(rule, subscript, "__getitem__".to_owned(), evaluator).certainty(certainty))
}
