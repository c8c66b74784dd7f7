//! DJ001 `django-orm-query-in-async`: a manager or `QuerySet` chain that ends in
//! an evaluating method. The vocabulary is `[orm]` in `recipes/django-orm.toml`.

use tree_sitter::Node;

use super::{Site, SiteTwin, rule_twin};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;
use crate::target::DjangoVersion;

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
    let value = evaluator.eval(receiver, scope);
    let (Value::Manager { certainty, .. } | Value::QuerySet { certainty, .. }) = value else {
        return None;
    };
    let at_least = related_at_least(receiver, &value, method, evaluator);
    let twin = rule_twin(rules, rule, method).map(|index| SiteTwin { index, at_least, import_from: None });
    Some(Site::new(rule, call, method.to_owned(), evaluator).certainty(certainty).callee_fallback().twin(twin))
}

/// A related manager (`shelf.book_set`, not `Book.objects`) gained its
/// creating twins in 4.1.4, after the managers' 4.1.
pub fn related_at_least(
    receiver: Node<'_>,
    value: &Value,
    method: &str,
    evaluator: &Evaluator<'_, '_>,
) -> Option<DjangoVersion> {
    let named_manager = receiver.kind() == "attribute"
        && receiver
            .child_by_field_id(FIELD.attribute)
            .is_some_and(|name| evaluator.rules.orm.managers.contains(evaluator.model.text(name)));
    let related = matches!(value, Value::Manager { .. }) && !named_manager;
    (related && RELATED_CREATING.contains(&method)).then_some(DjangoVersion([4, 1, 4]))
}

/// The related-manager methods whose twins came in 4.1.4.
const RELATED_CREATING: [&str; 3] = ["create", "get_or_create", "update_or_create"];
