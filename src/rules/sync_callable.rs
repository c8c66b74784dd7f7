//! Calls of recipe `[[callable]]` entries: functions, constructors, class
//! methods and methods of module-level objects, matched by qualified name
//! through the module's imports (DJ002 tokens, DJ003 cache, DJ004 auth, DJ106
//! DRF, and users' own recipes); and a recipe's `Base.method` called on an
//! instance of a project class that inherits it (`self.get_object()` in a
//! subclass of DRF's `GenericAPIView`, `super().get_object()`); and a
//! library model's manager methods (`ContentType.objects.get_for_model`).

use tree_sitter::Node;

use super::{Site, SiteTwin, enclosing_class};
use crate::fix::rewrite::WrapStyle;
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::Callable;
use crate::semantic::ScopeId;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let callee = call.child_by_field_id(FIELD.function)?;
    let mut twin = None;
    let (callable, method, on_super) = match evaluator.eval(callee, scope) {
        Value::Qualified(name) => {
            let method = name.rsplit('.').next().unwrap_or(&name).to_owned();
            // A twin that takes only some keywords keeps the wrapper for the others.
            twin = callable_twin(callee, &name, evaluator).filter(|twin| {
                let keywords = evaluator.rules.twins[twin.index].keywords.as_deref();
                super::sync_method::takes_arguments(call, keywords, evaluator.model.source)
            });
            (evaluator.recipe_callable(&name)?, method, false)
        }
        _ => inherited_method(callee, scope, evaluator).or_else(|| manager_method(callee, scope, evaluator))?,
    };
    if !callable.site || (callable.with_only && !entered_by_with(call)) {
        return None;
    }
    let site = Site::new(callable.rule, call, method, evaluator).twin(twin);
    // `super()` needs the method's frame: inside a lambda it has no arguments
    // and raises, so `super().m` is evaluated here and called in the thread.
    Some(if on_super { site.style(WrapStyle::Callee) } else { site })
}

/// The twin of the recipe callable `name` that `callee` names; a bare name's
/// twin is imported from the callable's module.
pub fn callable_twin(callee: Node<'_>, name: &str, evaluator: &Evaluator<'_, '_>) -> Option<SiteTwin> {
    let &index = evaluator.rules.sync_twins.get(name)?;
    let import_from =
        (callee.kind() == "identifier").then(|| name.rsplit_once('.').map(|(module, _)| module.to_owned())).flatten();
    Some(SiteTwin { index, at_least: None, import_from, constructor: None })
}

/// `x.method` where `x` is an instance of a project class (or `super()` in
/// one) that inherits `method` from a recipe's `Base.method` without a
/// project class overriding it; whether it is called on `super()`.
fn inherited_method(
    callee: Node<'_>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
) -> Option<(Callable, String, bool)> {
    let index = evaluator.index?;
    if callee.kind() != "attribute" {
        return None;
    }
    let object = callee.child_by_field_id(FIELD.object)?;
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let is_super = object.kind() == "call"
        && object.child_by_field_id(FIELD.function).is_some_and(|function| evaluator.model.text(function) == "super");
    let (class, skip_self) = if is_super {
        (enclosing_class(scope, evaluator)?, true)
    } else {
        let Value::Instance { class, .. } = evaluator.eval(object, scope) else { return None };
        (class, false)
    };
    let callable = index.inherited_method(&class, method, skip_self, evaluator.rules)?;
    Some((callable, method.to_owned(), is_super))
}

/// `Model.manager.method` on a library model whose manager the recipes
/// describe by name: `ContentType.objects.get_for_model` matches the entry
/// `django.contrib.contenttypes.models.ContentType.objects.get_for_model`.
fn manager_method(callee: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<(Callable, String, bool)> {
    if callee.kind() != "attribute" {
        return None;
    }
    let object = callee.child_by_field_id(FIELD.object).filter(|object| object.kind() == "attribute")?;
    let manager = evaluator.model.text(object.child_by_field_id(FIELD.attribute)?);
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let Value::Manager { model: Some(model), .. } = evaluator.eval(object, scope) else { return None };
    let callable = evaluator.recipe_callable(&format!("{model}.{manager}.{method}"))?;
    Some((callable, method.to_owned(), false))
}

/// `with call():` or `with call() as name:`.
fn entered_by_with(call: Node<'_>) -> bool {
    let mut parent = call.parent();
    if parent.is_some_and(|node| node.kind() == "as_pattern") {
        parent = parent.and_then(|node| node.parent());
    }
    parent.is_some_and(|node| node.kind() == "with_item")
}
