//! DJ001 `django-orm-query-in-async`: a manager or `QuerySet` chain that ends in
//! an evaluating method. The vocabulary is `[orm]` in `recipes/django-orm.toml`.

use tree_sitter::Node;

use super::{Site, SiteTwin, rule_twin};
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::RuleId;
use crate::semantic::ScopeId;
use crate::target::DjangoVersion;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let found = evaluating(call.child_by_field_id(FIELD.function)?, scope, evaluator)?;
    Some(
        Site::new(found.rule, call, found.method, evaluator)
            .certainty(found.certainty)
            .callee_fallback()
            .twin(found.twin),
    )
}

/// What a call's callee says of it (the call itself is not needed: an
/// awaited wrapper's callee, `w(qs.get)`, is read the same way).
pub struct Matched<'t> {
    pub rule: RuleId,
    pub method: &'t str,
    pub certainty: Certainty,
    pub twin: Option<SiteTwin>,
}

/// `receiver.method` where the receiver is a manager or `QuerySet` and the
/// method evaluates it.
pub fn evaluating<'t>(callee: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Matched<'t>> {
    let rules = evaluator.rules;
    let rule = rules.orm.rule?;
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
    let twin =
        rule_twin(rules, rule, method).map(|index| SiteTwin { index, at_least, import_from: None, constructor: None });
    Some(Matched { rule, method, certainty, twin })
}

/// A related manager (`shelf.book_set`, not `Book.objects`) gained its
/// creating twins in 4.1.4, after the managers' 4.1.
fn related_at_least(
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
