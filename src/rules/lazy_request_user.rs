//! DJ113 `lazy-request-user`: Django's authentication middleware sets
//! `request.user` to a lazy object that loads the session and the user the
//! first time it is used. Used first inside `async def`, it raises
//! `SynchronousOnlyOperation`. A site is the first use on every path
//! (`request.user.is_authenticated`, `request.user.get_username()`, the same
//! through `user = request.user`); later uses find it loaded. Views of the
//! recipe's `authenticated-in` packages (Django REST framework, adrf)
//! authenticate the request before their handlers: not sites there.

use tree_sitter::Node;

use super::lazy_relation::conditions;
use super::{Site, SiteTwin, enclosing_class};
use crate::fix::rewrite::WrapStyle;
use crate::infer::facts::{CallTarget, callee_target};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::arguments::{Passed, passed_for};
use crate::semantic::{Binding, ScopeId};

/// `request.user.X` read, or `user.X` with `user = request.user`.
pub fn check_attribute<'t>(attribute: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.lazy_request_user?;
    let object = attribute.child_by_field_id(FIELD.object)?;
    let direct = first_use(attribute, object, scope, evaluator)?;
    let name = evaluator.model.text(attribute.child_by_field_id(FIELD.attribute)?);
    let site = Site::new(rule, attribute, name.to_owned(), evaluator).callee(evaluator.model.text(attribute));
    // `request.user.X` -> `(await request.auser()).X` where it is the
    // function's only use: `auser()` caches the user apart from
    // `request.user`, so with later uses the wrapper (which loads
    // `request.user` itself) is the one fix. Through a name the twin would
    // go where the name is bound: that one stays wrapped too.
    let only = direct
        && evaluator
            .model
            .enclosing(attribute, "function_definition")
            .is_some_and(|function| only_use(object, function, evaluator));
    let twin = evaluator.rules.request_user_twin.filter(|_| only);
    Some(site.twin(twin.map(|index| SiteTwin { index, at_least: None, import_from: None, constructor: None })))
}

/// `request.user.method(...)`: the user loads before the method runs, so the
/// whole call goes to the thread (a method may query too: `has_perm`).
pub fn check_call<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.lazy_request_user?;
    let callee = call.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "attribute")?;
    let object = callee.child_by_field_id(FIELD.object)?;
    first_use(callee, object, scope, evaluator)?;
    let name = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    Some(Site::new(rule, call, name.to_owned(), evaluator).style(WrapStyle::Lambda))
}

/// Whether a request's user was loaded before `node` on every path in its
/// function (any spelling: `request.user`, `self.request.user`).
pub fn user_loaded_before(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    if replaced_by_middleware(evaluator) {
        return true;
    }
    let model = evaluator.model;
    let Some(function) = evaluator.model.enclosing(node, "function_definition") else { return false };
    let mut spellings = Vec::new();
    let mut stack = vec![function];
    while let Some(current) = stack.pop() {
        if is_request_user(current, model.source) && !spellings.contains(&model.text(current)) {
            spellings.push(model.text(current));
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    !spellings.is_empty() && used_before(node, function, &spellings, scope, evaluator)
}

/// Whether `node` passes a lazy request user that nothing loaded before
/// (`Book.objects.filter(owner=request.user)`): whatever runs the call loads it.
pub fn holds_lazy_user(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let model = evaluator.model;
    let Some(function) = evaluator.model.enclosing(node, "function_definition") else { return false };
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if is_request_user(current, model.source) {
            return in_django_module(evaluator)
                && !replaced_by_middleware(evaluator)
                && !authenticated_by_view(current, scope, evaluator)
                && !used_before(current, function, &[model.text(current)], scope, evaluator);
        }
        if !matches!(current.kind(), "lambda" | "function_definition") {
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor));
        }
    }
    false
}

/// Whether a project middleware in the settings replaces the lazy user
/// with a loaded one before any view runs.
fn replaced_by_middleware(evaluator: &Evaluator<'_, '_>) -> bool {
    evaluator.index.and_then(|index| index.django_settings()).is_some_and(|settings| settings.eager_request_user)
}

/// Whether `use_` (an attribute on `object`) is the first use of a lazy
/// request user on every path to it: `Some(true)` when `object` is
/// `request.user` itself, `Some(false)` through a name bound to it.
fn first_use(use_: Node<'_>, object: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<bool> {
    let model = evaluator.model;
    let (user, direct) = if is_request_user(object, model.source) {
        (object, true)
    } else if object.kind() == "identifier" {
        // `user = request.user` on some path (another may read a Channels
        // scope's user): the name may hold the lazy object.
        let (_, bindings) = model.lookup(model.text(object), scope)?;
        let lazy = bindings.iter().find_map(|binding| match binding {
            Binding::Assign(value) if is_request_user(*value, model.source) => Some(*value),
            _ => None,
        })?;
        (lazy, false)
    } else {
        return None;
    };
    if !in_django_module(evaluator)
        || authenticated_by_view(use_, scope, evaluator)
        || replaced_by_middleware(evaluator)
    {
        return None;
    }
    let function = evaluator.model.enclosing(use_, "function_definition")?;
    let mut spellings = vec![model.text(user)];
    if !direct {
        spellings.push(model.text(object));
    }
    (!used_before(use_, function, &spellings, scope, evaluator)).then_some(direct)
}

/// Whether `node` is an argument of a `QuerySet` or manager method
/// (`filter(owner=request.user)`, `get_or_create(owner=...)`): the lookup
/// reads the lazy object's class, which loads it where the call runs.
fn passed_to_query(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let Some(parent) = node.parent() else { return false };
    let call = match parent.kind() {
        "keyword_argument" => parent.parent().and_then(|arguments| arguments.parent()),
        "argument_list" => parent.parent(),
        _ => None,
    };
    call.filter(|call| call.kind() == "call")
        .and_then(|call| call.child_by_field_id(FIELD.function))
        // `sync_to_async(Order.objects.get_or_create)(owner=request.user)`.
        .map(|callee| match callee.kind() {
            "call" => callee
                .child_by_field_id(FIELD.arguments)
                .and_then(|arguments| arguments.named_child(0))
                .unwrap_or(callee),
            _ => callee,
        })
        .filter(|callee| callee.kind() == "attribute")
        .and_then(|callee| callee.child_by_field_id(FIELD.object))
        .is_some_and(|receiver| {
            matches!(evaluator.eval(receiver, scope), Value::QuerySet { .. } | Value::Manager { .. })
        })
}

/// Why `call` (of `target`) loads a lazy request user: it passes one
/// that nothing loaded before for a parameter the sync function reads on
/// every path (`describe(request.user)` of `def describe(user): return
/// user.email`).
pub fn passed_to_reader(
    call: Node<'_>,
    target: &CallTarget,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
) -> Option<String> {
    let arguments = call.child_by_field_id(FIELD.arguments)?;
    let text = |node| evaluator.model.text(node);
    evaluator.index?.forced_parameters(target, evaluator.rules).into_iter().find_map(|parameter| {
        let Passed::Argument(argument) = passed_for(arguments, &parameter.name, parameter.position, text) else {
            return None;
        };
        (is_request_user(argument, evaluator.model.source) && holds_lazy_user(argument, scope, evaluator))
            .then(|| format!("reads the lazy `{}` passed as `{}`", text(argument), parameter.name))
    })
}

/// Whether `node` (a `request.user` node) is an argument of a call that
/// loads it: a sync project function that reads that parameter on every path.
fn passed_to_reader_call(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let Some(index) = evaluator.index else { return false };
    let Some(parent) = node.parent() else { return false };
    let call = match parent.kind() {
        "keyword_argument" => parent.parent().and_then(|arguments| arguments.parent()),
        "argument_list" => parent.parent(),
        _ => return false,
    };
    let Some(call) = call.filter(|call| call.kind() == "call") else { return false };
    let Some(arguments) = call.child_by_field_id(FIELD.arguments) else { return false };
    let Some(mut callee) = call.child_by_field_id(FIELD.function) else { return false };
    // `await sync_to_async(describe)(request.user)`: the wrapped function runs.
    if callee.kind() == "call"
        && callee.child_by_field_id(FIELD.function).is_some_and(|wrapper| evaluator.is_wrapper(wrapper, scope))
        && let Some(wrapped) = callee.child_by_field_id(FIELD.arguments).and_then(|arguments| arguments.named_child(0))
    {
        callee = wrapped;
    }
    let class = enclosing_class(scope, evaluator);
    let Some(target) = callee_target(callee, scope, evaluator, class.as_deref()) else { return false };
    let text = |node| evaluator.model.text(node);
    index.forced_parameters(&target, evaluator.rules).iter().any(|parameter| {
        matches!(passed_for(arguments, &parameter.name, parameter.position, text), Passed::Argument(argument) if argument.id() == node.id())
    })
}

/// Whether `user` (a `request.user` node) is the only one spelled so in `function`.
fn only_use(user: Node<'_>, function: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    let model = evaluator.model;
    let spelling = model.text(user);
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.id() != user.id() && node.kind() == "attribute" && model.text(node) == spelling {
            return false;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    true
}

/// `request.user`, `self.request.user`, `info.context.request.user`.
fn is_request_user(node: Node<'_>, source: &str) -> bool {
    node.kind() == "attribute"
        && node.child_by_field_id(FIELD.attribute).is_some_and(|name| &source[name.byte_range()] == "user")
        && node.child_by_field_id(FIELD.object).is_some_and(|request| {
            let text = &source[request.byte_range()];
            matches!(request.kind(), "identifier" | "attribute") && (text == "request" || text.ends_with(".request"))
        })
}

/// The module imports Django (or a Django integration): a Starlette or
/// Flask `request.user` is not Django's lazy one.
fn in_django_module(evaluator: &Evaluator<'_, '_>) -> bool {
    let module = evaluator.model.scope(ScopeId::MODULE);
    module.bindings.values().flatten().any(|binding| match binding {
        Binding::Import(name) => name.split('.').next().is_some_and(|root| root.contains("django")),
        _ => false,
    })
}

/// Whether the enclosing method's class, or a decorator of the enclosing
/// function, comes from a package that authenticates the request before
/// the handler runs.
pub fn authenticated_by_view(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let prefixes = &evaluator.rules.authenticated_in;
    let under = |name: &str| {
        prefixes.iter().any(|prefix| {
            name == prefix || name.strip_prefix(prefix.as_str()).is_some_and(|rest| rest.starts_with('.'))
        })
    };
    if let (Some(class), Some(index)) = (enclosing_class(scope, evaluator), evaluator.index)
        && index.ancestors(&class).iter().any(|ancestor| under(ancestor))
    {
        return true;
    }
    for ancestor in evaluator.model.ancestors(node) {
        if ancestor.kind() == "decorated_definition" {
            let mut cursor = ancestor.walk();
            let decorated =
                ancestor.named_children(&mut cursor).filter(|child| child.kind() == "decorator").any(|decorator| {
                    let Some(mut expression) = decorator.named_child(0) else { return false };
                    if expression.kind() == "call" {
                        match expression.child_by_field_id(FIELD.function) {
                            Some(function) => expression = function,
                            None => return false,
                        }
                    }
                    matches!(evaluator.eval(expression, ScopeId::MODULE), Value::Qualified(name) if under(&name))
                });
            if decorated {
                return true;
            }
        }
    }
    false
}

/// Whether an earlier use that loads the user (an attribute read or method
/// on it, or an assignment `request.user = ...`) runs on every path to
/// `use_`.
fn used_before(
    use_: Node<'_>,
    function: Node<'_>,
    spellings: &[&str],
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
) -> bool {
    let model = evaluator.model;
    let later = conditions(use_, function, scope, evaluator);
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.start_byte() >= use_.start_byte() {
            continue;
        }
        let spelled = matches!(node.kind(), "attribute" | "identifier") && spellings.contains(&model.text(node));
        if spelled && node.end_byte() <= use_.start_byte() {
            let loads = node.parent().is_some_and(|parent| {
                let object = parent.child_by_field_id(FIELD.object).is_some_and(|object| object.id() == node.id());
                let assigned = node.kind() == "attribute"
                    && parent.kind() == "assignment"
                    && parent.child_by_field_id(FIELD.left).is_some_and(|left| left.id() == node.id());
                (parent.kind() == "attribute" && object)
                    || assigned
                    || passed_to_query(node, scope, evaluator)
                    || passed_to_reader_call(node, scope, evaluator)
            });
            let earlier = conditions(node, function, scope, evaluator);
            if loads && earlier.iter().all(|condition| later.contains(condition)) {
                return true;
            }
        }
        if node.id() != function.id() && matches!(node.kind(), "function_definition" | "class_definition") {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    false
}
