//! `await x`: what an awaited wrapper, an async twin or Django's own
//! coroutines return.

use tree_sitter::Node;

use super::{Evaluator, USER_TAG, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

impl<'t> Evaluator<'_, 't> {
    /// `await x`: `await wrapper(f)(args)` is what `f(args)` returns,
    /// `await wrapper(lambda: e)()` is `e`, and `await qs.aget()` is `qs.get()`.
    pub(super) fn awaited(&self, inner: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        if inner.kind() != "call" {
            return Value::Unknown;
        }
        let Some(callee) = inner.child_by_field_id(FIELD.function) else { return Value::Unknown };
        if callee.kind() == "call" {
            let wrapper = callee.child_by_field_id(FIELD.function);
            if !wrapper.is_some_and(|wrapper| self.is_wrapper(wrapper, scope)) {
                return Value::Unknown;
            }
            let Some(wrapped) =
                callee.child_by_field_id(FIELD.arguments).and_then(|arguments| arguments.named_child(0))
            else {
                return Value::Unknown;
            };
            if wrapped.kind() == "lambda" {
                let body = wrapped.child_by_field_id(FIELD.body);
                let lambda_scope = self.model.scope_opened_by(wrapped).unwrap_or(scope);
                return body.map_or(Value::Unknown, |body| self.eval_at(body, lambda_scope, depth + 1));
            }
            return self.call_result_at(wrapped, inner.child_by_field_id(FIELD.arguments), scope, depth + 1);
        }
        // `await load(pk)` of an `async def load` (or a wrapped `def`) nested here.
        if let Some((definition, true)) = self.nested_function(callee, scope) {
            return self.nested_returns(definition, None, depth);
        }
        // `await request.auser()` (Django 5.0): the request's user.
        if callee.kind() == "attribute"
            && callee.child_by_field_id(FIELD.attribute).is_some_and(|method| self.model.text(method) == "auser")
            && callee.child_by_field_id(FIELD.object).is_some_and(|object| {
                let text = self.model.text(object);
                matches!(object.kind(), "identifier" | "attribute") && (text == "request" || text.ends_with(".request"))
            })
        {
            return Value::Instance { class: self.user_model(), preloaded: Vec::new() };
        }
        // Native async ORM methods: `aget`, `afirst`, ...
        if callee.kind() == "attribute" {
            let method = callee.child_by_field_id(FIELD.attribute).map_or("", |method| self.model.text(method));
            // The recipe's async twins say which sync method `aget` stands for.
            let sync_name = self.rules.orm.async_twins.get(method).map(|twin| twin.sync.as_str());
            if let (Some(sync_name), Some(object)) = (sync_name, callee.child_by_field_id(FIELD.object))
                && self.rules.orm.fetching.contains(sync_name)
            {
                // What `select_related` loaded comes with the object, however the query ends.
                let (Value::Manager { model, certainty, mut preloaded, .. }
                | Value::QuerySet { model, certainty, mut preloaded, .. }) = self.eval_at(object, scope, depth + 1)
                else {
                    return Value::Unknown;
                };
                if super::CONSTRUCTING.contains(&sync_name) {
                    preloaded.extend(self.keyword_names(inner.child_by_field_id(FIELD.arguments)));
                }
                return super::fetched(model, certainty, preloaded);
            }
        }
        // `await self.load()` of a project `async def` method: what its
        // annotation or `return` says.
        if callee.kind() == "attribute"
            && let (Some(object), Some(method), Some(index)) =
                (callee.child_by_field_id(FIELD.object), callee.child_by_field_id(FIELD.attribute), self.index)
            && let Value::Instance { class, .. } = self.eval_at(object, scope, depth + 1)
            && let Some(returned) = index.method_returns(&class, self.model.text(method))
        {
            return self.returned_value(returned);
        }
        // `await Stream.objects.aget_free()` of a project manager's `async def`.
        if callee.kind() == "attribute"
            && let Some(object) = callee.child_by_field_id(FIELD.object)
            && matches!(self.eval_at(object, scope, depth + 1), Value::Manager { .. } | Value::QuerySet { .. })
        {
            return self.call_result_at(callee, inner.child_by_field_id(FIELD.arguments), scope, depth + 1);
        }
        if let Value::Qualified(name) = self.eval_at(callee, scope, depth + 1) {
            // A recipe callable's async twin returns what the callable does.
            if let Some(sync) = self.rules.callable_twins.get(&name)
                && let Some(fetched) =
                    self.returned_from_argument(sync, inner.child_by_field_id(FIELD.arguments), scope, depth)
            {
                return fetched;
            }
            if let Some(sync) = self.rules.callable_twins.get(&name)
                && let Some(tag) = self.recipe_callable(sync).and_then(|callable| callable.returns)
            {
                if self.rules.tags[tag.0] == USER_TAG {
                    return Value::Instance { class: self.user_model(), preloaded: Vec::new() };
                }
                return Value::tagged(tag);
            }
            // `await load(pk)` of a project function (an `async def`, or one
            // decorated with a wrapper) is what its annotation or `return` says.
            if let Some(returned) = self.index.and_then(|index| index.function_returns(&name)) {
                return self.returned_value(returned);
            }
        }
        Value::Unknown
    }
}
