//! Recipe `[[attribute]]` entries: reading an attribute or property that
//! hits the database, on a value a recipe callable produced
//! (`serializer = UserSerializer(user)` then `serializer.data`).

use tree_sitter::Node;

use super::Site;
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(attribute: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    if evaluator.rules.attributes.is_empty() {
        return None;
    }
    let name = evaluator.model.text(attribute.child_by_field_id(FIELD.attribute)?);
    let Value::Tagged { tag, class } = evaluator.eval(attribute.child_by_field_id(FIELD.object)?, scope) else {
        return None;
    };
    let rule = *evaluator.rules.attributes.get(&(tag, name.to_owned()))?;
    let certainty = super::sync_method::queries_for_class(tag, name, class.as_deref(), evaluator)?;
    Some(Site::new(rule, attribute, name.to_owned(), evaluator).certainty(certainty))
}
