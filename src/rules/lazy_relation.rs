//! DJ103 `lazy-relation-in-async`: reading a foreign key or one-to-one
//! relation (forward or reverse) on a model instance loads it with a query,
//! unless `select_related` loaded it with the instance. Relations come from
//! the project index.

use tree_sitter::Node;

use super::Site;
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(attribute: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.lazy_relation?;
    let index = evaluator.index?;
    let object = attribute.child_by_field_id(FIELD.object)?;
    let name = evaluator.model.text(attribute.child_by_field_id(FIELD.attribute)?);
    let Value::Instance { class, preloaded } = evaluator.eval(object, scope) else { return None };
    let relation = index.relation(&class, name)?;
    if relation.many || preloaded.iter().any(|loaded| loaded == name) {
        return None;
    }
    Some(
        Site::new(rule, attribute, name.to_owned(), evaluator)
            .via(relation.target.rsplit('.').next().unwrap_or(&relation.target).to_owned()),
    )
}
