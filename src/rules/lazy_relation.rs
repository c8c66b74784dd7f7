//! DJ103 `lazy-relation-in-async`: reading a foreign key or one-to-one
//! relation (forward or reverse) on a model instance loads it with a query,
//! unless `select_related` loaded it with the instance, or an earlier read of
//! the same relation on the same object ran on every path here (Django keeps
//! the related object on the instance: `member.profile.bio` then
//! `member.profile.name` queries once). Relations come from the project
//! index.

use tree_sitter::Node;

use super::Site;
use crate::infer::{Certainty, Evaluator, Value, is_loaded};
use crate::parse::FIELD;
use crate::semantic::{Binding, ScopeId};

pub fn check<'t>(attribute: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.lazy_relation?;
    let index = evaluator.index?;
    let object = attribute.child_by_field_id(FIELD.object)?;
    let name = evaluator.model.text(attribute.child_by_field_id(FIELD.attribute)?);
    // `self.room = await Room.objects.aget(...)` earlier in this function:
    // what that fetch loaded, not what the class's other methods may set.
    let assigned = (object.kind() == "attribute").then(|| assigned_before(object, scope, evaluator)).flatten();
    let Value::Instance { class, preloaded } = evaluator.eval(assigned.unwrap_or(object), scope) else { return None };
    let relation = index.relation(&class, name)?;
    if relation.many || is_loaded(&preloaded, name) || read_before(attribute, scope, evaluator) {
        return None;
    }
    let target = relation.target.rsplit('.').next().unwrap_or(&relation.target);
    let site = Site::new(rule, attribute, name.to_owned(), evaluator);
    // What the object loaded is known only where it was fetched or built.
    Some(match from_elsewhere(assigned.unwrap_or(object), scope, evaluator, 0) {
        None => site.via(format!("`{target}` with a query inside `async def`")),
        Some(origin) => site
            .certainty(Certainty::Guess)
            .via(format!("`{target}` with a query inside `async def`, unless the code that made {origin} loaded it")),
    })
}

/// Where an object comes from when its fetch is not in sight, for the
/// message: a parameter (``"`root` (a parameter)"``) or an attribute set
/// elsewhere (`self.user`). `None` when it was fetched, built or read
/// through relations from such an object here.
fn from_elsewhere(object: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>, depth: usize) -> Option<String> {
    const MAX_STEPS: usize = 8;
    let model = evaluator.model;
    match object.kind() {
        "identifier" if depth < MAX_STEPS => {
            // Only the bindings that reach the read: `book = await Book.objects.aget(pk=book)`.
            let bindings = evaluator.reaching_bindings(object, scope);
            bindings.iter().find_map(|binding| match binding {
                Binding::Parameter { .. } | Binding::Annotated(_) => {
                    Some(format!("`{}` (a parameter)", model.text(object)))
                }
                // `for item in items`: where `items` comes from.
                Binding::Iterate(iterable) => from_elsewhere(*iterable, scope, evaluator, depth + 1),
                // `shelf = item.shelf`: where `item` comes from.
                Binding::Assign(value) if value.kind() == "attribute" => {
                    from_elsewhere(*value, scope, evaluator, depth + 1)
                }
                Binding::Assign(value) => custom_manager_method(*value, scope, evaluator)
                    .map(|method| format!("`{}` (from `{method}()`)", model.text(object))),
                _ => None,
            })
        }
        "attribute" if depth < MAX_STEPS => {
            let inner = object.child_by_field_id(FIELD.object)?;
            let attribute = model.text(object.child_by_field_id(FIELD.attribute)?);
            // The authentication middleware's user: Django's backends load
            // no relation with it.
            let request = model.text(inner);
            if attribute == "user" && (request == "request" || request.ends_with(".request")) {
                return None;
            }
            let through_relation = match evaluator.eval(inner, scope) {
                Value::Instance { class, .. } => evaluator.index?.relation(&class, attribute).is_some(),
                _ => false,
            };
            if through_relation {
                from_elsewhere(inner, scope, evaluator, depth + 1)
            } else {
                Some(format!("`{}`", model.text(object)))
            }
        }
        _ => None,
    }
}

/// `await Stream.objects.aget_free()` or `Stream.objects.newest()`: an
/// object a project manager's own method fetched, out of sight here (its
/// `return`s may load what its annotation does not say): the method's name.
fn custom_manager_method<'t>(value: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<&'t str> {
    let call = if value.kind() == "await" { value.named_child(0)? } else { value };
    let callee = call.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "attribute")?;
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let orm = &evaluator.rules.orm;
    let sync = orm.async_twins.get(method).map_or(method, |twin| twin.sync.as_str());
    if orm.fetching.contains(sync) || orm.lazy.contains(sync) {
        return None;
    }
    match evaluator.eval(callee.child_by_field_id(FIELD.object)?, scope) {
        Value::Manager { .. } | Value::QuerySet { .. } => Some(method),
        _ => None,
    }
}

/// The value last assigned to `self.room` (an attribute) earlier in the
/// enclosing function, when that assignment runs on every path to `object`
/// (`self.room = await Room.objects.aget(pk=pk)` at the top of `connect`).
fn assigned_before<'t>(object: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Node<'t>> {
    let model = evaluator.model;
    let function = model.enclosing(object, "function_definition")?;
    let assignment =
        assignments_to(model.text(object), function, object, model).into_iter().max_by_key(Node::start_byte)?;
    let later = conditions(object, function, scope, evaluator);
    let dominates =
        conditions(assignment, function, scope, evaluator).iter().all(|condition| later.contains(condition));
    dominates.then(|| assignment.child_by_field_id(FIELD.right)).flatten()
}

/// Whether the same `object.relation` was read earlier in the function, on
/// every path to `attribute`, with `object` a name bound once (so the same
/// instance).
fn read_before(attribute: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let model = evaluator.model;
    let Some(object) = attribute.child_by_field_id(FIELD.object) else { return false };
    // `room.admin` with `room` bound once, or `self.room.admin` with
    // `self.room` not assigned between the two reads.
    let on_self = object.kind() == "attribute"
        && object.child_by_field_id(FIELD.object).is_some_and(|inner| inner.kind() == "identifier");
    let bound_once = object.kind() == "identifier" && matches!(model.lookup(model.text(object), scope), Some((_, [_])));
    if !(on_self || bound_once) {
        return false;
    }
    let Some(function) = model.enclosing(attribute, "function_definition") else { return false };
    let read = model.text(attribute);
    let later = conditions(attribute, function, scope, evaluator);
    let assigned_at: Vec<usize> = if on_self {
        assignments_to(model.text(object), function, attribute, model).iter().map(Node::start_byte).collect()
    } else {
        Vec::new()
    };
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.start_byte() >= attribute.start_byte() {
            continue;
        }
        if node.kind() == "attribute"
            && node.end_byte() <= attribute.start_byte()
            && model.text(node) == read
            && !assigned_at.iter().any(|&at| at > node.start_byte())
        {
            let earlier = conditions(node, function, scope, evaluator);
            if earlier.iter().all(|condition| later.contains(condition)) {
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

/// The `target = ...` assignments in `function` (not in its nested
/// definitions) that end before `before` starts.
fn assignments_to<'t>(
    target: &str,
    function: Node<'t>,
    before: Node<'t>,
    model: &crate::semantic::SemanticModel<'t>,
) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.start_byte() >= before.start_byte() {
            continue;
        }
        if node.kind() == "assignment"
            && node.end_byte() <= before.start_byte()
            && node.child_by_field_id(FIELD.left).is_some_and(|left| model.text(left) == target)
        {
            found.push(node);
        }
        if node.id() != function.id() && matches!(node.kind(), "function_definition" | "class_definition" | "lambda") {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    found
}

/// The branches `node` runs under inside `function`, as (construct, branch)
/// node ids: an `if` or `match` arm, a loop body, a `try` body or handler,
/// the arms of `a if c else b`, the right side of `and`/`or`, a
/// comprehension's body, a lambda's body (unless an awaited wrapper runs it
/// at once). A read under a subset of another's branches ran before it.
pub(super) fn conditions(
    node: Node<'_>,
    function: Node<'_>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut child = node;
    for ancestor in evaluator.model.ancestors(node) {
        if ancestor.id() == function.id() {
            break;
        }
        let is_field = |field: u16| ancestor.child_by_field_id(field).is_some_and(|part| part.id() == child.id());
        let conditional = match ancestor.kind() {
            "if_statement" | "elif_clause" | "while_statement" => !is_field(FIELD.condition),
            "for_statement" => !is_field(FIELD.right),
            "conditional_expression" => ancestor.named_child(1).is_none_or(|condition| condition.id() != child.id()),
            "boolean_operator" => is_field(FIELD.right),
            "try_statement" => child.kind() != "finally_clause",
            "case_clause"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => true,
            "lambda" => !run_at_once(ancestor, scope, evaluator),
            _ => false,
        };
        if conditional {
            found.push((ancestor.id(), child.id()));
        }
        child = ancestor;
    }
    found
}

/// `await w(lambda: ...)()`: the wrapper runs the lambda before going on
/// (`scope`: one the wrapper's name resolves in).
fn run_at_once(lambda: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let Some(wrapper_call) =
        lambda.parent().filter(|list| list.kind() == "argument_list").and_then(|list| list.parent())
    else {
        return false;
    };
    let Some(wrapper) = wrapper_call.child_by_field_id(FIELD.function) else { return false };
    let awaited = wrapper_call
        .parent()
        .filter(|outer| outer.kind() == "call")
        .and_then(|outer| outer.parent())
        .is_some_and(|parent| parent.kind() == "await");
    awaited && evaluator.is_wrapper(wrapper, scope)
}
