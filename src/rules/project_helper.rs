//! DJ101 `project-db-helper-in-async`: a call of a sync function or method
//! of the project that touches the database, directly or through other
//! project functions (`OTP.create_otp(...)`, `validate_token(...)`,
//! `self.get_user_sync()`). The project index knows which ones do.

use tree_sitter::Node;

use super::{Site, enclosing_class};
use crate::infer::facts::{Effect, Touch, call_target};
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

/// Method names too common to guess from: on an unknown receiver they are
/// more likely a form's, a file's or a dict's than a model's.
/// The names of `list`, `dict`, `set` and `logging.Logger` methods are never
/// a basis either: a project method called `append` or `info` is far less
/// likely than the builtin.
const TOO_COMMON: [&str; 27] = [
    "get",
    "save",
    "delete",
    "update",
    "create",
    "set",
    "add",
    "remove",
    "clear",
    "run",
    "process",
    "validate",
    "append",
    "extend",
    "insert",
    "pop",
    "items",
    "keys",
    "values",
    "copy",
    "setdefault",
    "debug",
    "info",
    "warning",
    "error",
    "exception",
    "critical",
];

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let index = evaluator.index?;
    let callee = call.child_by_field_id(FIELD.function)?;
    let class = enclosing_class(scope, evaluator);
    let (certainty, touch) = if let Some(target) = call_target(call, scope, evaluator, class.as_deref()) {
        let (_, touch) = index.touching_call(&target, evaluator.rules)?;
        (Certainty::Certain, touch)
    } else {
        // An unknown receiver calling a method only the project's touching classes define.
        // Only a plain name: `self.client.post()` is too far from anything we know.
        let object = callee.child_by_field_id(FIELD.object)?;
        let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
        if object.kind() != "identifier"
            || TOO_COMMON.contains(&method)
            || evaluator.eval(object, scope) != Value::Unknown
        {
            return None;
        }
        let (owner, touch) = index.touching_method_named(method)?;
        let reason = format!("if it is a `{}`", owner.rsplit('.').nth(1).unwrap_or(&owner));
        (Certainty::Guess, Touch { reason, ..touch })
    };
    // DJ101 for the database, DJ112 for `async_to_sync`: the same wrapper fixes both.
    let rule = match touch.effect {
        Effect::Database => evaluator.rules.project_helpers?,
        Effect::AsyncToSync => evaluator.rules.async_to_sync?,
        // Only the lazy user's first load: not once this function loaded it.
        Effect::LazyUser if super::lazy_request_user::user_loaded_before(call, scope, evaluator) => return None,
        Effect::LazyUser => evaluator.rules.project_helpers?,
    };
    let method = match callee.kind() {
        "attribute" => evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?),
        _ => evaluator.model.text(callee),
    };
    Some(Site::new(rule, call, method.to_owned(), evaluator).certainty(certainty).via(touch.reason))
}
