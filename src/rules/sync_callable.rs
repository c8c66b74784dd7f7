//! Calls of recipe `[[callable]]` entries: functions, constructors, class
//! methods and methods of module-level objects, matched by qualified name
//! through the module's imports (DJ002 tokens, DJ003 cache, DJ004 auth, and
//! users' own recipes).

use tree_sitter::Node;

use super::Site;
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let callee = call.child_by_field_id(FIELD.function)?;
    let Value::Qualified(name) = evaluator.eval(callee, scope) else {
        return None;
    };
    let callable = evaluator.recipe_callable(&name)?;
    if !callable.site || (callable.with_only && !entered_by_with(call)) {
        return None;
    }
    let method = name.rsplit('.').next().unwrap_or(&name).to_owned();
    Some(Site::new(callable.rule, call, method, evaluator))
}

/// `with call():` or `with call() as name:`.
fn entered_by_with(call: Node<'_>) -> bool {
    let mut parent = call.parent();
    if parent.is_some_and(|node| node.kind() == "as_pattern") {
        parent = parent.and_then(|node| node.parent());
    }
    parent.is_some_and(|node| node.kind() == "with_item")
}
