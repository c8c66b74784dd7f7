//! DJ102 `model-instance-query-in-async`: `save()`, `delete()`,
//! `refresh_from_db()`, `full_clean()`, `validate_unique()` on a value known
//! to be a model instance, and writes through a related manager
//! (`user.groups.add(group)`), and `super().save()` in a model's method
//! when no project class after it defines `save`. The method lists are in
//! `recipes/model-instance.toml`.

use tree_sitter::Node;

use super::orm_query::Matched;
use super::{Site, SiteTwin, enclosing_class, rule_twin};
use crate::fix::rewrite::WrapStyle;
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::{MethodKind, ScopeId};

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let callee = call.child_by_field_id(FIELD.function)?;
    let found = instance_call(callee, scope, evaluator)?;
    let site = Site::new(found.rule, call, found.method, evaluator).twin(found.twin);
    // `super()` needs the method's frame: `w(super().save)(args)`; the
    // two-argument form is wrapped the same way.
    let on_super = callee.child_by_field_id(FIELD.object).is_some_and(|object| is_super(object, evaluator));
    Some(if on_super { site.style(WrapStyle::Callee) } else { site })
}

/// `super().save` (any of the instance methods) in a method of a model
/// class, when no class after it in the index defines the method: Django's
/// own runs, and queries. A project override decides for itself (DJ101
/// when it touches the database). Never a twin: `super().asave()` runs
/// `self.save` in a thread, the subclass's own `save` (and a subclass of
/// this one, anywhere, may override it), not the one `super()` names.
///
/// `super(C, self)` starts after `C` instead of the enclosing class. In a
/// plain mixin, `super()` walks the MRO of the class it is mixed into: a
/// site when every project class using the mixin is a model and none
/// defines the method after the mixin (as a mixin's call of what its
/// subclasses define is judged by all of them).
fn super_call<'t>(callee: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Matched<'t>> {
    let index = evaluator.index?;
    if callee.kind() != "attribute" {
        return None;
    }
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let &rule = evaluator.rules.instance_methods.get(method)?;
    let enclosing = enclosing_class(scope, evaluator)?;
    let after = super_start(callee.child_by_field_id(FIELD.object)?, &enclosing, scope, evaluator)?;
    // The classes whose MRO `super()` walks at run time.
    let walked = if evaluator.is_model_class(&enclosing) {
        vec![enclosing]
    } else {
        index.mixed_into_models(&enclosing, evaluator.rules)?
    };
    let reaches_django = walked.iter().all(|class| {
        let mro = index.ancestors(class);
        mro.iter()
            .position(|base| index.same_class(base, &after))
            .is_some_and(|at| !mro[at + 1..].iter().any(|base| index.method_returns_classes(base, method).is_some()))
    });
    reaches_django.then_some(Matched { rule, method, certainty: Certainty::Certain, twin: None })
}

/// The class after which `super()` starts looking: the enclosing class for
/// a bare `super()`, `C` for `super(C, self)` where `self` is the method's
/// own first parameter and `C` is the class or one of its bases.
fn super_start(object: Node<'_>, enclosing: &str, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    if is_bare_super(object, evaluator) {
        return Some(enclosing.to_owned());
    }
    if !is_super(object, evaluator) {
        return None;
    }
    let arguments = object.child_by_field_id(FIELD.arguments)?;
    let (Some(class), Some(receiver), 2) =
        (arguments.named_child(0), arguments.named_child(1), arguments.named_child_count())
    else {
        return None;
    };
    let first_parameter = method_first_parameter(scope, evaluator)?;
    if receiver.kind() != "identifier" || evaluator.model.text(receiver) != first_parameter {
        return None;
    }
    let Value::Qualified(class) = evaluator.eval(class, scope) else { return None };
    let index = evaluator.index?;
    index.ancestors(enclosing).iter().any(|base| index.same_class(base, &class)).then_some(class)
}

/// The first parameter (`self`) of the instance method enclosing `scope`.
fn method_first_parameter<'s>(scope: ScopeId, evaluator: &Evaluator<'_, 's>) -> Option<&'s str> {
    let mut current = Some(scope);
    while let Some(id) = current {
        let data = evaluator.model.scope(id);
        if let Some(method) = &data.method {
            return method
                .first_parameter
                .filter(|_| matches!(method.kind, MethodKind::Instance | MethodKind::Property));
        }
        current = data.parent;
    }
    None
}

/// A `super(...)` call, with or without arguments.
fn is_super(node: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    node.kind() == "call"
        && node.child_by_field_id(FIELD.function).is_some_and(|function| evaluator.model.text(function) == "super")
}

/// A zero-argument `super()` call.
fn is_bare_super(node: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    is_super(node, evaluator)
        && node.child_by_field_id(FIELD.arguments).is_some_and(|arguments| arguments.named_child_count() == 0)
}

/// `instance.method` or `related_manager.method` of the recipes' lists.
pub fn instance_call<'t>(callee: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Matched<'t>> {
    if let Some(found) = super_call(callee, scope, evaluator) {
        return Some(found);
    }
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
