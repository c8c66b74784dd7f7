//! Recipe `[[method]]` entries: a method that hits the database, called on a
//! value a recipe callable produced (`token = RefreshToken(raw)` then
//! `token.blacklist()`).

use tree_sitter::Node;

use super::{Site, SiteTwin};
use crate::infer::facts::ModelIoQueries;
use crate::infer::{Certainty, Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::TagId;
use crate::semantic::{Binding, ScopeId};
use crate::target::DjangoVersion;

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let callee = call.child_by_field_id(FIELD.function)?;
    if callee.kind() != "attribute" {
        return None;
    }
    let method = evaluator.model.text(callee.child_by_field_id(FIELD.attribute)?);
    let Value::Tagged { tag, class } = evaluator.eval(callee.child_by_field_id(FIELD.object)?, scope) else {
        return None;
    };
    let key = (tag, method.to_owned());
    let rule = *evaluator.rules.methods.get(&key)?;
    if evaluator.rules.method_exemptions.get(&key).is_some_and(|exempt| passes_any(call, exempt, evaluator)) {
        return None;
    }
    let certainty = queries_for_class(tag, method, class.as_deref(), evaluator)?;
    let twin = evaluator.rules.method_twins.get(&key).and_then(|&index| {
        let twin = SiteTwin { index, at_least: None, import_from: None, constructor: None };
        if evaluator.rules.twins[index].receiver.is_some() {
            sibling_switch(call, scope, twin, evaluator)
        } else {
            Some(twin)
        }
    });
    Some(Site::new(rule, call, method.to_owned(), evaluator).twin(twin).certainty(certainty))
}

/// How sure a `queries-when` entry's site is, for a receiver of project
/// class `class`: `None` when the class provably runs no query (a model
/// serializer whose fields are all plain, with no unique field and no
/// hook); a guess when its model is nowhere in sight; certain otherwise
/// (an unknown class may query).
pub fn queries_for_class(
    tag: TagId,
    name: &str,
    class: Option<&str>,
    evaluator: &Evaluator<'_, '_>,
) -> Option<Certainty> {
    let Some(&io) = evaluator.rules.queries_when.get(&(tag, name.to_owned())) else {
        return Some(Certainty::Certain);
    };
    match (class, evaluator.index) {
        (Some(class), Some(index)) => match index.model_io_queries(class, io) {
            ModelIoQueries::No => None,
            ModelIoQueries::May => Some(Certainty::Certain),
            ModelIoQueries::Unseen => Some(Certainty::Guess),
        },
        _ => Some(Certainty::Certain),
    }
}

/// Whether the call passes one of the keyword arguments, as written, that
/// make it query nothing (`form.save(commit=False)`).
fn passes_any(call: Node<'_>, exempt: &[(String, String)], evaluator: &Evaluator<'_, '_>) -> bool {
    let Some(arguments) = call.child_by_field_id(FIELD.arguments) else { return false };
    let mut cursor = arguments.walk();
    arguments.named_children(&mut cursor).filter(|argument| argument.kind() == "keyword_argument").any(|argument| {
        let text = |field| argument.child_by_field_id(field).map(|node| evaluator.model.text(node));
        let (Some(name), Some(value)) = (text(FIELD.name), text(FIELD.value)) else { return false };
        exempt.iter().any(|(keyword, written)| keyword == name && written == value)
    })
}

/// A twin on a sibling receiver (`self.client.get(...)` -> `await
/// self.async_client.get(...)`), when the switch keeps the meaning: the two
/// receivers hold separate state (a client's cookies and session), so every
/// use of `self.client` in the function must switch with it, and nothing
/// else of the class may use it. The twin then needs the latest `since` of
/// the function's switched calls.
fn sibling_switch(call: Node<'_>, scope: ScopeId, twin: SiteTwin, evaluator: &Evaluator<'_, '_>) -> Option<SiteTwin> {
    let model = evaluator.model;
    let receiver = call.child_by_field_id(FIELD.function)?.child_by_field_id(FIELD.object)?;
    if receiver.kind() == "identifier" {
        return constructor_switch(call, receiver, scope, &twin, evaluator);
    }
    let owner = receiver.child_by_field_id(FIELD.object).filter(|owner| owner.kind() == "identifier")?;
    if receiver.kind() != "attribute" || model.text(owner) != "self" {
        return None;
    }
    let attribute = model.text(receiver.child_by_field_id(FIELD.attribute)?);
    let function = model.enclosing(call, "function_definition")?;
    let at_least = switched_calls(uses_of(function, attribute, model.source), &twin, evaluator)?;
    let class = model.enclosing(function, "class_definition")?;
    if !class_leaves_alone(class, function, attribute, evaluator, 0) {
        return None;
    }
    Some(SiteTwin { at_least, ..twin })
}

/// `client = Client()` in this function, and every use of `client` here a
/// call of a method with a twin: `Client()` becomes its twin (`AsyncClient()`)
/// and each call the awaited method. The value is the function's own, so
/// nothing else holds its state.
fn constructor_switch(
    call: Node<'_>,
    name: Node<'_>,
    scope: ScopeId,
    twin: &SiteTwin,
    evaluator: &Evaluator<'_, '_>,
) -> Option<SiteTwin> {
    let model = evaluator.model;
    let rules = evaluator.rules;
    let function = model.enclosing(call, "function_definition")?;
    let (found, [Binding::Assign(value)]) = model.lookup(model.text(name), scope)? else { return None };
    if Some(found) != model.scope_opened_by(function) || value.kind() != "call" {
        return None;
    }
    let constructor = value.child_by_field_id(FIELD.function)?;
    let Value::Qualified(class) = evaluator.eval(constructor, found) else { return None };
    let &index = rules.sync_twins.get(&class)?;
    if !takes_arguments(*value, rules.twins[index].keywords.as_deref(), model.source) {
        return None;
    }
    let binding = value.parent().filter(|parent| parent.kind() == "assignment")?.child_by_field_id(FIELD.left)?;
    let text = model.text(name);
    let mut uses = Vec::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" && model.text(node) == text && node.id() != binding.id() {
            uses.push(node);
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    let at_least = switched_calls(uses.into_iter(), twin, evaluator)?;
    let since = rules.twins[index].since.as_deref().and_then(|since| since.parse().ok());
    // The constructor's twin lives where it does (`django.test`).
    let import_from = class.rsplit_once('.').map(|(module, _)| module.to_owned());
    Some(SiteTwin {
        index: twin.index,
        at_least: at_least.max(since),
        import_from,
        constructor: Some((constructor.byte_range(), index)),
    })
}

/// Each use (`self.client`, `client`) is the receiver of a call whose method
/// has a twin of the same kind as `twin`, with keywords the twin takes: the
/// latest `since` among them; `None` when one is not.
#[allow(clippy::option_option, reason = "no switch, or a switch that needs no version")]
fn switched_calls<'t>(
    uses: impl Iterator<Item = Node<'t>>,
    twin: &SiteTwin,
    evaluator: &Evaluator<'_, 't>,
) -> Option<Option<DjangoVersion>> {
    let model = evaluator.model;
    let rules = evaluator.rules;
    let mut at_least: Option<DjangoVersion> = None;
    for use_ in uses {
        let callee = use_.parent().filter(|parent| {
            parent.kind() == "attribute" && parent.child_by_field_id(FIELD.object).is_some_and(|o| o.id() == use_.id())
        })?;
        let used = callee.parent().filter(|parent| {
            parent.kind() == "call" && parent.child_by_field_id(FIELD.function).is_some_and(|f| f.id() == callee.id())
        })?;
        let method = model.text(callee.child_by_field_id(FIELD.attribute)?);
        let sibling = rules.twins.iter().find(|other| {
            other.rule == rules.twins[twin.index].rule
                && other.sync == method
                && other.receiver == rules.twins[twin.index].receiver
        })?;
        if !takes_arguments(used, sibling.keywords.as_deref(), model.source) {
            return None;
        }
        at_least = at_least.max(sibling.since.as_deref().and_then(|since| since.parse().ok()));
    }
    Some(at_least)
}

/// Whether a call's keywords are all among `keywords` (`None`: any), with
/// no `**` splat.
pub(super) fn takes_arguments(call: Node<'_>, keywords: Option<&[String]>, source: &str) -> bool {
    let Some(arguments) = call.child_by_field_id(FIELD.arguments) else { return false };
    let mut cursor = arguments.walk();
    arguments.named_children(&mut cursor).all(|argument| match argument.kind() {
        "dictionary_splat" => keywords.is_none(),
        "keyword_argument" => keywords.is_none_or(|keywords| {
            argument
                .child_by_field_id(FIELD.name)
                .is_some_and(|name| keywords.iter().any(|keyword| keyword == &source[name.byte_range()]))
        }),
        _ => true,
    })
}

/// Whether no method of `class` but `function` and the other tests, and no
/// method of a base defined in this module, reads `self.<attribute>`; every other base is one
/// a recipe gives that attribute (`django.test.TestCase.client`), so no
/// project code outside the module sets it up.
fn class_leaves_alone(
    class: Node<'_>,
    function: Node<'_>,
    attribute: &str,
    evaluator: &Evaluator<'_, '_>,
    depth: usize,
) -> bool {
    const MAX_DEPTH: usize = 8;
    let model = evaluator.model;
    let Some(body) = class.child_by_field_id(FIELD.body) else { return false };
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        // Each test runs on an instance of its own: another test's use of
        // the client is not this one's.
        let other_test = definition_name(statement, model.source).is_some_and(|name| name.starts_with("test"));
        if statement.id() != function.id()
            && !other_test
            && uses_of(statement, attribute, model.source).next().is_some()
        {
            return false;
        }
    }
    let Some(bases) = class.child_by_field_id(FIELD.superclasses) else { return true };
    let mut cursor = bases.walk();
    let bases: Vec<Node<'_>> = bases.named_children(&mut cursor).collect();
    bases.into_iter().all(|base| {
        if base.kind() == "identifier"
            && let Some((ScopeId::MODULE, [Binding::Class(local)])) = model.lookup(model.text(base), ScopeId::MODULE)
        {
            return depth < MAX_DEPTH && class_leaves_alone(*local, function, attribute, evaluator, depth + 1);
        }
        matches!(evaluator.eval(base, ScopeId::MODULE),
            Value::Qualified(name) if evaluator.rules.callables.contains_key(&format!("{name}.{attribute}")))
    })
}

/// The name of a function definition, decorated or not.
fn definition_name<'t>(statement: Node<'_>, source: &'t str) -> Option<&'t str> {
    let definition = match statement.kind() {
        "decorated_definition" => statement.child_by_field_id(FIELD.definition)?,
        _ => statement,
    };
    let name = definition.child_by_field_id(FIELD.name).filter(|_| definition.kind() == "function_definition")?;
    Some(&source[name.byte_range()])
}

/// Every `self.<attribute>` under `node`.
fn uses_of<'t>(node: Node<'t>, attribute: &'t str, source: &'t str) -> impl Iterator<Item = Node<'t>> + 't {
    let mut stack = vec![node];
    std::iter::from_fn(move || {
        while let Some(current) = stack.pop() {
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor));
            let is_use = current.kind() == "attribute"
                && current
                    .child_by_field_id(FIELD.attribute)
                    .is_some_and(|name| &source[name.byte_range()] == attribute)
                && current.child_by_field_id(FIELD.object).is_some_and(|owner| &source[owner.byte_range()] == "self");
            if is_use {
                return Some(current);
            }
        }
        None
    })
}
