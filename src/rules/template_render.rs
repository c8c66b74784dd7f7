//! DJ115 `template-render`: `render(request, "page.html", context)` inside
//! `async def` renders the template on the event loop. Rendering queries
//! when a context processor the settings list queries, when the context
//! holds a lazy `QuerySet` the template reads, or when the template reads
//! the lazy request user a context processor gives it (`user`, `perms`,
//! `request.user`). Each is decided from the project: its settings, its
//! templates (with the ones they extend and include) and its call graph.

use tree_sitter::Node;

use super::Site;
use super::lazy_request_user::{authenticated_by_view, user_loaded_before};
use crate::infer::facts::{CallTarget, ProjectFacts, TemplateUses};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::ScopeId;
use crate::semantic::arguments::{Passed, passed_for};

pub fn check<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    let rule = evaluator.rules.template_render?;
    let index = evaluator.index?;
    let callee = call.child_by_field_id(FIELD.function)?;
    // Every call inside `async def` reaches here: a method call whose name
    // no renderer has is not resolved (a bare name may be an import alias).
    if let Some(method) = callee.child_by_field_id(FIELD.attribute).filter(|_| callee.kind() == "attribute") {
        let method = evaluator.model.text(method);
        if !evaluator.rules.renderers.keys().any(|renderer| renderer.rsplit('.').next() == Some(method)) {
            return None;
        }
    }
    let Value::Qualified(name) = evaluator.eval(callee, scope) else { return None };
    let parameters = evaluator.rules.renderers.get(&name)?;
    let arguments = call.child_by_field_id(FIELD.arguments)?;
    let argument = |parameter: &str| {
        let position = parameters.iter().position(|name| name == parameter)?;
        match passed_for(arguments, parameter, Some(position), |node| evaluator.model.text(node)) {
            Passed::Argument(node) if node.kind() != "none" => Some(node),
            _ => None,
        }
    };
    let request = argument("request");
    let context = argument("context").and_then(|context| dictionary(context, scope, evaluator));
    let template = argument("template_name").and_then(|name| template_name(name, evaluator));
    let uses = template.as_deref().and_then(|name| index.template_uses(name));
    let site = |via: String| Some(Site::new(rule, call, short(&name), evaluator).via(via));
    if request.is_some()
        && let Some(via) = querying_processor(index, evaluator)
    {
        return site(via);
    }
    if let Some(via) = context.and_then(|context| lazy_context_value(context, uses.as_deref(), scope, evaluator)) {
        return site(via);
    }
    let uses = uses.filter(|_| request.is_some())?;
    if authenticated_by_view(call, scope, evaluator) || user_loaded_before(call, scope, evaluator) {
        return None;
    }
    site(lazy_user_read(index, evaluator, &uses, context)?)
}

fn short(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_owned()
}

/// A context processor of the settings that is a project function
/// touching the database: every render with a request runs it.
fn querying_processor(index: &dyn ProjectFacts, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    let processors = index.django_settings()?.context_processors.as_ref()?;
    processors.iter().find_map(|processor| {
        let (_, touch) = index.touching_call(&CallTarget::Name(processor.clone()), evaluator.rules)?;
        Some(format!("the context processor `{}` runs {}", short(processor), touch.reason))
    })
}

/// A value of the context that is a lazy `QuerySet` or manager, under a key
/// the template reads (any key when the template is not found).
fn lazy_context_value(
    context: Node<'_>,
    uses: Option<&TemplateUses>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
) -> Option<String> {
    let mut cursor = context.walk();
    let pairs: Vec<Node<'_>> = context.named_children(&mut cursor).filter(|pair| pair.kind() == "pair").collect();
    pairs.into_iter().find_map(|pair| {
        let key = string_value(pair.child_by_field_id(FIELD.key)?, evaluator)?;
        let value = pair.child_by_field_id(FIELD.value)?;
        let lazy = match evaluator.eval(value, scope) {
            Value::QuerySet { .. } => "a `QuerySet`",
            Value::Manager { .. } => "a related manager",
            _ => return None,
        };
        if uses.is_some_and(|uses| !uses.reads(&key) && !uses.incomplete) {
            return None;
        }
        Some(format!("`{key}` is {lazy} the template evaluates"))
    })
}

/// A variable through which the template reads the lazy request user,
/// given by a context processor the settings list (and not replaced by
/// the view's own context).
fn lazy_user_read(
    index: &dyn ProjectFacts,
    evaluator: &Evaluator<'_, '_>,
    uses: &TemplateUses,
    context: Option<Node<'_>>,
) -> Option<String> {
    let processors = index.django_settings()?.context_processors.as_ref()?;
    let keys: Vec<String> = context.map(|context| context_keys(context, evaluator)).unwrap_or_default();
    let given = |variable: &str| keys.iter().any(|key| key == variable.split('.').next().unwrap_or(variable));
    processors.iter().find_map(|processor| {
        let variables = evaluator.rules.user_processors.get(processor)?;
        let variable = variables.iter().find(|variable| uses.reads(variable) && !given(variable))?;
        Some(format!(
            "the template reads `{variable}`, the lazy request user the context processor `{}` gives it",
            short(processor)
        ))
    })
}

/// The string keys of a dictionary literal.
fn context_keys(context: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Vec<String> {
    let mut cursor = context.walk();
    let pairs: Vec<Node<'_>> = context.named_children(&mut cursor).filter(|pair| pair.kind() == "pair").collect();
    pairs.into_iter().filter_map(|pair| string_value(pair.child_by_field_id(FIELD.key)?, evaluator)).collect()
}

/// The context argument as a dictionary literal: written in the call, or
/// the one literal a name is bound to in the function.
fn dictionary<'t>(node: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Node<'t>> {
    match node.kind() {
        "dictionary" => Some(node),
        "identifier" => {
            let (_, bindings) = evaluator.model.lookup(evaluator.model.text(node), scope)?;
            let [crate::semantic::Binding::Assign(value)] = bindings else { return None };
            (value.kind() == "dictionary").then_some(*value)
        }
        _ => None,
    }
}

/// The template's name: a string literal, or `self.template_name` set to
/// one in the class body of the enclosing method.
fn template_name(node: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    if let Some(name) = string_value(node, evaluator) {
        return Some(name);
    }
    let model = evaluator.model;
    if node.kind() != "attribute"
        || node.child_by_field_id(FIELD.object).is_none_or(|object| model.text(object) != "self")
    {
        return None;
    }
    let attribute = model.text(node.child_by_field_id(FIELD.attribute)?);
    let class = model.enclosing(node, "class_definition")?;
    let body = class.child_by_field_id(FIELD.body)?;
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
    statements.into_iter().find_map(|statement| {
        let assignment = statement.named_child(0).filter(|node| node.kind() == "assignment")?;
        let left = assignment.child_by_field_id(FIELD.left)?;
        (model.text(left) == attribute).then_some(())?;
        string_value(assignment.child_by_field_id(FIELD.right)?, evaluator)
    })
}

fn string_value(node: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    crate::parse::string_literal(node, evaluator.model.source)
}
