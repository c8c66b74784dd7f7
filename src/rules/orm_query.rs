//! DJ001 `django-orm-query-in-async`: a manager or `QuerySet` chain that ends in
//! an evaluating method. The vocabulary is `[orm]` in `recipes/django-orm.toml`.

use tree_sitter::Node;

use super::Site;
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rules = evaluator.rules;
    let rule = rules.orm.rule?;
    let callee = call.child_by_field_id(FIELD.function)?;
    if callee.kind() != "attribute" {
        return None;
    }
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    if !rules.orm.evaluating.contains(method) {
        return None;
    }
    let receiver = callee.child_by_field_id(FIELD.object)?;
    let (Value::Manager { certainty, .. } | Value::QuerySet { certainty, .. }) = evaluator.eval(receiver, scope) else {
        return None;
    };
    Some(Site::new(rule, call, method.to_owned(), evaluator).certainty(certainty).callee_fallback())
}
