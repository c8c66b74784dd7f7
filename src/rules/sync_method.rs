//! Recipe `[[method]]` entries: a method that hits the database, called on a
//! value a recipe callable produced (`token = RefreshToken(raw)` then
//! `token.blacklist()`).

use tree_sitter::Node;

use super::{Site, SiteTwin};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let callee = call.child_by_field_id(FIELD.function)?;
    if callee.kind() != "attribute" {
        return None;
    }
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let Value::Tagged(tag) = evaluator.eval(callee.child_by_field_id(FIELD.object)?, scope) else {
        return None;
    };
    let key = (tag, method.to_owned());
    let rule = *evaluator.rules.methods.get(&key)?;
    let twin =
        evaluator.rules.method_twins.get(&key).map(|&index| SiteTwin { index, at_least: None, import_from: None });
    Some(Site::new(rule, call, method.to_owned(), evaluator).twin(twin))
}
