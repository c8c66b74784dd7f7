//! DJ110 `wrapped-call-has-native-twin` (only under `--style native`): an
//! awaited wrapper around a call the target Django has a native twin for,
//! `await sync_to_async(User.objects.get)(id=uid)` or `await
//! sync_to_async(lambda: qs.exists())()`, becomes the twin. Which call has
//! which twin is what the other rules say of the same call unwrapped.

use tree_sitter::Node;

use super::{Site, SiteTwin, model_instance, orm_query, sync_callable};
use crate::fix::Style;
use crate::fix::native::{ASYNC_ITERATORS, Unwrap, inside_definition_of};
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;
use crate::settings::Native;

/// `awaited`: the operand of an `await` in the async function's own body.
pub fn check<'t>(
    awaited: Node<'t>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, 't>,
    native: &Native,
) -> Option<Site<'t>> {
    let rule = evaluator.rules.native_migration?;
    let wrapper_call = awaited.child_by_field_id(FIELD.function).filter(|_| awaited.kind() == "call")?;
    let wrapper = wrapper_call.child_by_field_id(FIELD.function).filter(|_| wrapper_call.kind() == "call")?;
    if !evaluator.is_wrapper(wrapper, scope) {
        return None;
    }
    let wrapped = only_wrapped(wrapper_call, evaluator)?;
    let (inner, twin, certainty, lambda) = if wrapped.kind() == "lambda" {
        // `w(lambda: call)()`: the call, as the other rules see it.
        let body = wrapped.child_by_field_id(FIELD.body).filter(|body| body.kind() == "call")?;
        let called_with = awaited.child_by_field_id(FIELD.arguments)?;
        if wrapped.child_by_field_id(FIELD.parameters).is_some() || called_with.named_child_count() != 0 {
            return None;
        }
        let inner_scope = evaluator.model.scope_opened_by(wrapped).unwrap_or(scope);
        let site = super::check_call(body, inner_scope, evaluator)?;
        (body, site.twin?, site.certainty, true)
    } else {
        let (twin, certainty) = callee_twin(wrapped, scope, evaluator)?;
        (wrapped, twin, certainty, false)
    };
    let name = native.twin(twin.index, twin.at_least)?;
    // A twin on another receiver switches state (a client's session): never
    // silently, and not call by call.
    if evaluator.rules.twins[twin.index].receiver.is_some() {
        return None;
    }
    if inside_definition_of(awaited, name, evaluator.model.source) || ASYNC_ITERATORS.contains(&name) {
        return None;
    }
    // The twin's name, for the message.
    let method = evaluator.rules.twins[twin.index].name.clone();
    let site = Site::new(rule, awaited, method, evaluator)
        .certainty(certainty)
        .callee(super::summarize(inner, evaluator.model.source))
        .twin(Some(twin));
    Some(Site { style: Style::Unwrap(Unwrap { inner, lambda }), ..site })
}

/// The one thing a wrapper call wraps: its first argument, with no other
/// argument but `thread_sensitive=True` (`False` asks for another thread on
/// purpose).
fn only_wrapped<'t>(wrapper_call: Node<'t>, evaluator: &Evaluator<'_, 't>) -> Option<Node<'t>> {
    let arguments = wrapper_call.child_by_field_id(FIELD.arguments)?;
    let mut cursor = arguments.walk();
    let mut wrapped = None;
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "keyword_argument" => {
                let name = argument.child_by_field_id(FIELD.name).map(|name| evaluator.model.text(name));
                let value = argument.child_by_field_id(FIELD.value).map(|value| evaluator.model.text(value));
                if name != Some("thread_sensitive") || value != Some("True") {
                    return None;
                }
            }
            "comment" => {}
            _ if wrapped.is_none() => wrapped = Some(argument),
            _ => return None,
        }
    }
    wrapped
}

/// `w(callee)(args)`: the twin `callee(args)` would have as a site, and how
/// certain that site would be, by the rules' own reading of a callee.
fn callee_twin(callee: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<(SiteTwin, Certainty)> {
    if let Value::Qualified(name) = evaluator.eval(callee, scope) {
        evaluator.recipe_callable(&name).filter(|callable| callable.site)?;
        return Some((sync_callable::callable_twin(callee, &name, evaluator)?, Certainty::Certain));
    }
    let found = orm_query::evaluating(callee, scope, evaluator)
        .or_else(|| model_instance::instance_call(callee, scope, evaluator))?;
    Some((found.twin?, found.certainty))
}
