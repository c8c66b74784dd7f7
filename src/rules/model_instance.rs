//! DJ102 `model-instance-query-in-async`: `save()`, `delete()`,
//! `refresh_from_db()`, `full_clean()`, `validate_unique()` on a value known
//! to be a model instance, and writes through a related manager
//! (`user.groups.add(group)`). The method lists are in
//! `recipes/model-instance.toml`.

use tree_sitter::Node;

use super::orm_query::Matched;
use super::{Site, SiteTwin, rule_twin};
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let found = instance_call(call.child_by_field_id(FIELD.function)?, scope, evaluator)?;
    Some(Site::new(found.rule, call, found.method, evaluator).twin(found.twin))
}

/// `instance.method` or `related_manager.method` of the recipes' lists.
pub fn instance_call<'t>(callee: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Matched<'t>> {
    // Which classes are models is known only once the index is complete.
    evaluator.index?;
    if callee.kind() != "attribute" {
        return None;
    }
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let rule = match evaluator.eval(callee.child_by_field_id(FIELD.object)?, scope) {
        Value::Instance { class, .. } => {
            evaluator.rules.instance_methods.get(method).filter(|_| evaluator.is_model_class(&class))
        }
        Value::Manager { model: Some(_), certainty: Certainty::Certain, .. } => {
            evaluator.rules.related_manager_methods.get(method)
        }
        // `self` in a related manager class of a library (Django's own
        // `RelatedManager`); a project manager's methods are its own.
        Value::Manager { model: None, certainty: Certainty::Certain, classes, .. }
            if !classes.is_empty()
                && (classes.iter().any(|class| evaluator.rules.orm.manager_classes.contains(class))
                    || evaluator.index.is_some_and(|index| !classes.iter().any(|class| index.is_class(class)))) =>
        {
            evaluator.rules.related_manager_methods.get(method)
        }
        _ => None,
    };
    let rule = *rule?;
    let twin = rule_twin(evaluator.rules, rule, method).map(|index| SiteTwin {
        index,
        at_least: None,
        import_from: None,
        constructor: None,
    });
    Some(Matched { rule, method, certainty: Certainty::Certain, twin })
}
