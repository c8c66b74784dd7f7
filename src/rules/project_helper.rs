//! DJ101 `project-db-helper-in-async`: a call of a sync function or method
//! of the project that touches the database, directly or through other
//! project functions (`OTP.create_otp(...)`, `validate_token(...)`,
//! `self.get_user_sync()`). The project index knows which ones do.

use tree_sitter::Node;

use super::{Site, enclosing_class};
use crate::fix::rewrite::WrapStyle;
use crate::infer::facts::{CallTarget, Effect, Touch, call_target};
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::{Binding, ScopeId};

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
    let callee = call.child_by_field_id(FIELD.function)?;
    if let Some(site) = nested_helper(call, callee, scope, evaluator) {
        return Some(site);
    }
    if let Some(site) = property_by_getattr(call, scope, evaluator) {
        return Some(site);
    }
    let index = evaluator.index?;
    let class = enclosing_class(scope, evaluator);
    let (certainty, touch) = if let Some(target) = call_target(call, scope, evaluator, class.as_deref()) {
        if let Some((_, touch)) = index.touching_call(&target, evaluator.rules) {
            (Certainty::Certain, touch)
        } else if let Some(reason) = super::lazy_request_user::passed_to_reader(call, &target, scope, evaluator) {
            (Certainty::Certain, Touch { reason, effect: Effect::LazyUser, generator: false, only_when: Vec::new() })
        } else {
            // A project base's method that queries nothing, overridden by a
            // subclass whose method does: which one runs depends on the receiver.
            let CallTarget::Method { class, method } = &target else { return None };
            let (owner, touch) = index.touching_override(class, method)?;
            let reason = format!("if it is a `{}`", owner.rsplit('.').nth(1).unwrap_or(&owner));
            (Certainty::Guess, Touch { reason, ..touch })
        }
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
    // `field(obj, "name", value)` of `def field(obj, name, *args, commit=False)`
    // whose only save is under `if commit:`: this call queries nothing.
    let text = |node: Node<'t>| evaluator.model.text(node);
    if !touch.only_when.is_empty()
        && !touch.only_when.iter().any(|guard| guard.iter().all(|parameter| parameter.may_hold(call, text)))
    {
        return None;
    }
    // DJ101 for the database, DJ112 for `async_to_sync`: the same wrapper fixes both.
    let rule = match touch.effect {
        Effect::Database => evaluator.rules.project_helpers?,
        Effect::AsyncToSync => evaluator.rules.async_to_sync?,
        // Only the lazy user's first load: not once this function loaded it.
        Effect::LazyUser if super::lazy_request_user::user_loaded_before(call, scope, evaluator) => return None,
        Effect::LazyUser | Effect::Resource(_) => evaluator.rules.project_helpers?,
    };
    let method = match callee.kind() {
        "attribute" => evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?),
        _ => evaluator.model.text(callee),
    };
    let site = Site::new(rule, call, method.to_owned(), evaluator)
        .certainty(certainty)
        .via(touch.reason)
        .touching(touch.effect, evaluator.rules);
    Some(if touch.generator { consumed_in_thread(site) } else { site })
}

/// `room.size` where `size` is a property of the project class of `room`
/// whose body touches the database (the property runs where it is read).
pub fn check_property<'t>(attribute: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let object = attribute.child_by_field_id(FIELD.object)?;
    let name = evaluator.model.text(attribute.child_by_field_id(FIELD.attribute)?);
    property_site(attribute, object, name, scope, evaluator)
}

/// `getattr(room, "size")`: the same read, spelled as a call of the builtin.
fn property_by_getattr<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let model = evaluator.model;
    let callee = call.child_by_field_id(FIELD.function).filter(|callee| model.text(*callee) == "getattr")?;
    if model.lookup(model.text(callee), scope).is_some() {
        return None;
    }
    let arguments = call.child_by_field_id(FIELD.arguments)?;
    let (object, name) = (arguments.named_child(0)?, arguments.named_child(1).filter(|name| name.kind() == "string")?);
    let name = model.text(name).trim_matches(['"', '\'']);
    if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_alphanumeric()) {
        return None;
    }
    property_site(call, object, name, scope, evaluator)
}

fn property_site<'t>(
    node: Node<'t>,
    object: Node<'t>,
    name: &str,
    scope: ScopeId,
    evaluator: &Evaluator<'_, 't>,
) -> Option<Site<'t>> {
    let index = evaluator.index?;
    let Value::Instance { class, .. } = evaluator.eval(object, scope) else { return None };
    // A relation is DJ103's: what is already loaded decides it.
    if index.relation(&class, name).is_some() {
        return None;
    }
    let target = CallTarget::Attribute { class, attribute: name.to_owned() };
    let (_, touch) = index.touching_call(&target, evaluator.rules)?;
    let rule = match touch.effect {
        Effect::Database | Effect::LazyUser | Effect::Resource(_) => evaluator.rules.project_helpers?,
        Effect::AsyncToSync => evaluator.rules.async_to_sync?,
    };
    Some(Site::new(rule, node, name.to_owned(), evaluator).via(touch.reason).touching(touch.effect, evaluator.rules))
}

/// A generator's body runs as it is iterated: `w(gen)()` would hand the
/// event loop a generator that still queries. It is made and consumed in
/// the thread instead, as `qs.iterator()` is: `await w(lambda: list(gen()))()`.
fn consumed_in_thread(site: Site<'_>) -> Site<'_> {
    site.style(WrapStyle::ListInLambda)
}

/// How deep [`nested_helper`] is in its own calls, on this thread.
const MAX_NESTED_DEPTH: usize = 3;
thread_local! {
    static NESTED_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `load()` where `def load(): ...` is defined in an enclosing function, or
/// `load = lambda: ...` anywhere in the file: a nested sync helper, judged
/// by its own body (its first site, not through further calls, not its own
/// nested definitions).
fn nested_helper<'t>(
    call: Node<'t>,
    callee: Node<'t>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, 't>,
) -> Option<Site<'t>> {
    let rule = evaluator.rules.project_helpers?;
    let model = evaluator.model;
    if callee.kind() != "identifier" {
        return None;
    }
    let name = model.text(callee);
    let definition = match model.lookup(name, scope)? {
        (found, [Binding::Function]) => nested_definition(found, name, evaluator)?,
        // Bound once to a lambda: its body runs where it is called.
        (_, [Binding::Assign(value)]) if value.kind() == "lambda" => *value,
        _ => return None,
    };
    let inner_scope = model.scope_opened_by(definition)?;
    let body = definition.child_by_field_id(FIELD.body)?;
    // Nested helpers calling each other (or themselves) are followed a few
    // levels only.
    let depth = NESTED_DEPTH.get();
    if depth >= MAX_NESTED_DEPTH {
        return None;
    }
    NESTED_DEPTH.set(depth + 1);
    let found = first_site(body, inner_scope, evaluator);
    NESTED_DEPTH.set(depth);
    let (reason, certainty) = found?;
    // As sure as the evidence in its body: a guess there is a guess here.
    let site = Site::new(rule, call, name.to_owned(), evaluator).via(format!("`{reason}`")).certainty(certainty);
    Some(if super::yields(body) { consumed_in_thread(site) } else { site })
}

/// The sync `def name` in the body of the function that opens `found` (not
/// at module level: the index judges those).
fn nested_definition<'t>(found: ScopeId, name: &str, evaluator: &Evaluator<'_, 't>) -> Option<Node<'t>> {
    let model = evaluator.model;
    let owner =
        model.scope(found).node.filter(|node| node.kind() == "function_definition" && found != ScopeId::MODULE)?;
    let body = owner.child_by_field_id(FIELD.body)?;
    let mut cursor = body.walk();
    body.named_children(&mut cursor).find_map(|statement| {
        let definition = match statement.kind() {
            "decorated_definition" => statement.child_by_field_id(FIELD.definition)?,
            _ => statement,
        };
        let is_it = definition.kind() == "function_definition"
            && definition.child(0).is_some_and(|first| first.kind() != "async")
            && definition.child_by_field_id(FIELD.name).is_some_and(|found| model.text(found) == name);
        is_it.then_some(definition)
    })
}

/// The first database site in a sync body, not inside its own nested
/// definitions or lambdas: what the message names, and how sure it is. A
/// certain one wins over a guess, and a direct one explains better than a
/// call of another helper (or of itself).
fn first_site(body: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<(String, Certainty)> {
    let model = evaluator.model;
    let mut stack = vec![(body, scope)];
    let mut first: Option<((bool, bool, usize), String, Certainty)> = None;
    while let Some((node, node_scope)) = stack.pop() {
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition" | "decorated_definition") {
            continue;
        }
        let site = match node.kind() {
            "call" => super::check_call(node, node_scope, evaluator),
            "attribute" => super::check_attribute(node, node_scope, evaluator),
            "for_statement" | "for_in_clause" => iterated_queryset(node, node_scope, evaluator),
            _ => None,
        };
        if let Some(site) = site
            && Some(site.rule) != evaluator.rules.async_to_sync
        {
            let rank = (
                site.certainty != Certainty::Certain,
                Some(site.rule) == evaluator.rules.project_helpers,
                site.node.start_byte(),
            );
            if first.as_ref().is_none_or(|(best, ..)| rank < *best) {
                let reason = match node.kind() {
                    "call" | "attribute" => site.callee,
                    // As the index words a module function's loop.
                    _ => format!("for ... in {}", site.callee),
                };
                first = Some((rank, reason, site.certainty));
            }
        }
        let child_scope = model.scope_opened_by(node).unwrap_or(node_scope);
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor).map(|child| (child, child_scope)));
    }
    first.map(|(_, reason, certainty)| (reason, certainty))
}

/// `for x in qs:` (or a comprehension's `for`) over a `QuerySet`: iterating
/// evaluates it, as it does in a module function (`summary`).
fn iterated_queryset<'t>(node: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    if node.child(0).is_some_and(|first| first.kind() == "async") {
        return None;
    }
    let iterable = node.child_by_field_id(FIELD.right)?;
    super::implicit_evaluation::check_use(iterable, super::implicit_evaluation::Use::Iterated, scope, evaluator)
}
