//! DJ112 `async-to-sync-in-async`, written in the async function:
//! `async_to_sync(f)(args)` raises `RuntimeError` on the event loop's
//! thread; `await f(args)` runs the same coroutine on the loop already
//! there. (A project function that runs one is found by the call graph and
//! reported by [`super::project_helper`] under the same rule.)

use tree_sitter::Node;

use super::Site;
use crate::fix::Style;
use crate::fix::rewrite::driven_function;
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rules = evaluator.rules;
    let rule = rules.async_to_sync?;
    let driver_call = call.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "call")?;
    let driver = driver_call.child_by_field_id(FIELD.function)?;
    let Value::Qualified(name) = evaluator.eval(driver, scope) else { return None };
    if !rules.async_drivers.contains(&name) {
        return None;
    }
    let site = Site::new(rule, call, "async_to_sync", evaluator).via("directly");
    // With options (`force_new_loop=True`) it is wrapped whole instead: in
    // a worker thread the driver works.
    Some(if driven_function(driver_call).is_some() { Site { style: Style::Await, ..site } } else { site })
}
