//! From a site to a diagnostic: the recipe's message and applicability, and
//! the fix in the site's style (a wrapper with its import, or a `SQLAlchemy`
//! reload).

use tree_sitter::Node;

use super::visitor::Mode;
use super::{Site, contains_kind};
use crate::diagnostic::Diagnostic;
use crate::fix::importer::Importer;
use crate::fix::reload::{self, ReloadContext};
use crate::fix::rewrite::{self, WrapStyle};
use crate::fix::{Applicability, Fix, NoFix, SqlAlchemyFix, Style, native};
use crate::infer::Certainty;
use crate::parse::FIELD;
use crate::recipe::{Rewrite, RuleId, Wrapper};
use crate::semantic::{ScopeId, SemanticModel};
use crate::settings::Settings;
use crate::target::DjangoVersion;

/// What turning a site into a fix needs from the file and the run.
pub(super) struct FixContext<'a, 't> {
    pub(super) settings: &'a Settings,
    pub(super) importer: &'a Importer<'a, 't>,
    pub(super) default_wrapper: &'a Wrapper,
    pub(super) source: &'t str,
    pub(super) model: &'a SemanticModel<'t>,
    pub(super) reload: &'a ReloadContext<'a, 't>,
    /// `--sqlalchemy-fix`, else the lazy-load recipe's `rewrite`.
    pub(super) sqlalchemy_style: SqlAlchemyFix,
}

pub(super) fn diagnose(site: &Site<'_>, scope: ScopeId, mode: Mode, context: &FixContext<'_, '_>) -> Diagnostic {
    let settings = context.settings;
    let rule = settings.rules.rule(site.rule);
    let render = |wrapper: &str| match &site.resource {
        Some(resource) => rule.render_touching(&site.callee, &site.method, wrapper, &site.via, resource),
        None => rule.render_message(&site.callee, &site.method, wrapper, &site.via),
    };
    let (message, fix) = match &site.style {
        Style::Wrap(style) => {
            let wrapper = settings.wrapper.as_ref().or(rule.wrapper.as_ref()).unwrap_or(context.default_wrapper);
            let message = render(&wrapper.name);
            let fix = match native_fix(site, *style, scope, mode, context) {
                Some(fix) => Ok(fix),
                None => build_fix(site, *style, scope, mode, rule.rewrite, context.importer, wrapper, context.model),
            };
            (message, fix)
        }
        Style::Unwrap(unwrap) => {
            let message = render("");
            let fix = site
                .twin
                .as_ref()
                .and_then(|twin| {
                    let name = context.settings.native.as_ref()?.twin(twin.index, twin.at_least)?;
                    native::unwrap(site.node, *unwrap, name, twin.import_from.as_deref(), scope, context.importer)
                })
                .ok_or(NoFix::NoCallee);
            (message, fix)
        }
        Style::Await => {
            let message = render("");
            let fix = if mode == Mode::AsyncNoAwait {
                Err(NoFix::InGeneratorExpression)
            } else if mode == Mode::ClassBody {
                Err(NoFix::InClassBody)
            } else {
                rewrite::await_driven(site.node)
                    .map(|(edits, span)| Fix { edits, shared: Vec::new(), span, applicability: Applicability::Safe })
                    .ok_or(NoFix::NoCallee)
            };
            (message, fix)
        }
        Style::Reload(plan) => {
            let message = if plan.raises() {
                rule.render_raise_message(&site.callee, &site.method, &site.via)
            } else {
                render("")
            };
            let fix = if rule.rewrite == Rewrite::None {
                Err(NoFix::ByRecipe)
            } else {
                reload::build(plan, context.sqlalchemy_style, context.reload)
            };
            (message, fix)
        }
    };
    finish(site.rule, site.node.byte_range(), message, fix, site.certainty, settings)
}

/// Async iteration came with Django 4.1.
const ASYNC_ITERATION: DjangoVersion = DjangoVersion([4, 1, 0]);

/// The native rewrite of a site, when the target Django has one: its call's
/// async twin, or async iteration of a `QuerySet`. `None` leaves the site to
/// the wrapper.
fn native_fix(
    site: &Site<'_>,
    style: WrapStyle,
    scope: ScopeId,
    mode: Mode,
    context: &FixContext<'_, '_>,
) -> Option<Fix> {
    let native = context.settings.native.as_ref()?;
    let rules = &context.settings.rules;
    if mode != Mode::Async || rules.rule(site.rule).rewrite == Rewrite::None {
        return None;
    }
    // `aiterator()` is iterated with `async for`, not awaited; an f-string's
    // `=` prints the text a rewrite would change. The wrapper decides.
    if is_iterator_call(site.node, context.source)
        || in_self_documenting_fstring(site.node, context.model, context.source)
    {
        return None;
    }
    if let Some(twin) = &site.twin {
        let name = native.twin(twin.index, twin.at_least)?;
        if rules.lazy_request_user == Some(site.rule) {
            return native::loaded_first(site.node, name);
        }
        if native::inside_definition_of(site.node, name, context.source) {
            return None;
        }
        if let Some(receiver) = &rules.twins[twin.index].receiver {
            return match &twin.constructor {
                // `client = Client()`: the constructor switches with the call.
                Some((callee, constructor)) => native::constructed_call(
                    site.node,
                    name,
                    callee.clone(),
                    &Wrapper::new(twin.import_from.as_deref()?, &rules.twins[*constructor].name),
                    scope,
                    context.importer,
                ),
                None => native::sibling_call(site.node, receiver, name),
            };
        }
        return native::twin_call(site.node, name, twin.import_from.as_deref(), scope, context.importer);
    }
    // `if qs:` asks whether a row exists, `len(qs)` how many: the same
    // answers as `aexists()` and `acount()`.
    let orm_twin = |method: &str| {
        let index = super::rule_twin(rules, rules.orm.rule?, method)?;
        native.twin(index, None)
    };
    let evaluated_by = |builtin: &str| {
        site.node.kind() == "call"
            && site.method == builtin
            && rules.evaluating_functions.get(builtin) == Some(&site.rule)
    };
    if Some(site.rule) == rules.implicit_evaluation && style == WrapStyle::Builtin("bool") {
        return native::method_of(site.node, orm_twin("exists")?);
    }
    if evaluated_by("len") {
        return native::counted(site.node, orm_twin("count")?);
    }
    if !native.has(ASYNC_ITERATION) {
        return None;
    }
    // `for x in qs` and comprehensions (DJ104's iterated QuerySets), `list(qs)`.
    if Some(site.rule) == rules.implicit_evaluation && style == WrapStyle::Builtin("list") {
        return native::async_iteration(site.node);
    }
    if evaluated_by("list") { native::listed(site.node) } else { None }
}

/// A diagnostic with its fix as the rule's recipe allows: a guess, or an
/// `applicability = "unsafe"` recipe, makes the fix unsafe.
fn finish(
    rule: RuleId,
    range: std::ops::Range<usize>,
    message: String,
    fix: Result<Fix, NoFix>,
    certainty: Certainty,
    settings: &Settings,
) -> Diagnostic {
    let recipe = settings.rules.rule(rule);
    let mut diagnostic = Diagnostic { rule, range, message, fix: None, no_fix: None };
    match fix {
        Ok(mut fix) => {
            if certainty != Certainty::Certain || recipe.applicability == Applicability::Unsafe {
                fix.applicability = Applicability::Unsafe;
            }
            diagnostic.fix = Some(fix);
        }
        Err(reason) => diagnostic.no_fix = Some(reason),
    }
    diagnostic
}

/// `[x async for x in xs]` inside `node`: allowed only directly in `async def`.
fn holds_async_comprehension(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if current.kind() == "for_in_clause" && current.child(0).is_some_and(|first| first.kind() == "async") {
            return true;
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

#[allow(clippy::too_many_arguments, reason = "the pieces of a FixContext this style reads")]
fn build_fix(
    site: &Site<'_>,
    style: WrapStyle,
    scope: ScopeId,
    mode: Mode,
    rewrite: Rewrite,
    importer: &Importer<'_, '_>,
    wrapper: &Wrapper,
    model: &SemanticModel<'_>,
) -> Result<Fix, NoFix> {
    let source = model.source;
    let mut style = match rewrite {
        Rewrite::None => return Err(NoFix::ByRecipe),
        Rewrite::Lambda => WrapStyle::Lambda,
        // A `SQLAlchemy` style is rejected at load for call-site rules.
        Rewrite::Wrap | Rewrite::SqlAlchemy(_) => style,
    };
    // A generator expression's outermost iterable runs in the enclosing
    // function, where `await` is allowed.
    if mode == Mode::AsyncNoAwait && !in_outermost_iterable(site.node, model) {
        return Err(NoFix::InGeneratorExpression);
    }
    if mode == Mode::ClassBody {
        return Err(NoFix::InClassBody);
    }
    if in_self_documenting_fstring(site.node, model, source) {
        return Err(NoFix::SelfDocumentingFString);
    }
    // `qs.iterator()` wrapped alone gives a generator that still queries
    // as it is iterated on the event loop: materialise it in the thread.
    if is_iterator_call(site.node, source) {
        style = WrapStyle::ListInLambda;
    }
    let holds_async = ["await", "yield", "named_expression"].iter().any(|kind| contains_kind(site.node, kind))
        || holds_async_comprehension(site.node);
    if style == WrapStyle::ListInLambda && (holds_async || needs_this_thread(site.node, source)) {
        return Err(NoFix::CannotMoveIntoLambda);
    }
    if style == WrapStyle::Lambda && holds_async {
        // `(await Program.objects.aget(pk=pk)).progress(s)`: the receiver is
        // awaited here, and the bound method goes to the thread.
        if site.callee_fallback || method_of_awaited(site.node) {
            style = WrapStyle::Callee;
        } else {
            return Err(NoFix::CannotMoveIntoLambda);
        }
    }
    if style == WrapStyle::Lambda && needs_this_thread(site.node, source) {
        if site.callee_fallback {
            style = WrapStyle::Callee;
        } else {
            return Err(NoFix::NeedsThisThread);
        }
    }
    if style == WrapStyle::Lambda && holds_bare_super(site.node, source) {
        // `super()` needs the method's frame: inside a lambda it raises. A
        // call on `super()`, or a lazy chain before its last call, can wrap
        // its callee (`w(super().m)(args)`, `super()` evaluated here);
        // anything else is left unfixed.
        if calls_on_super(site.node, source) || site.callee_fallback {
            style = WrapStyle::Callee;
        } else {
            return Err(NoFix::SuperInLambda);
        }
    }
    let plan = importer.import(wrapper, scope)?;
    let (edits, span) = rewrite::wrap(site.node, style, &plan.expression).ok_or(NoFix::NoCallee)?;
    Ok(Fix { edits, shared: plan.edit.into_iter().collect(), span, applicability: Applicability::Safe })
}

/// Calls whose result depends on the frame or the thread they run in.
const THREAD_BOUND: [&str; 8] =
    ["locals", "vars", "eval", "exec", "get_running_loop", "current_task", "get_event_loop", "all_tasks"];

/// Whether `node` calls one of [`THREAD_BOUND`] (`asyncio.get_running_loop()`
/// by its last part).
fn needs_this_thread(node: Node<'_>, source: &str) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if current.kind() == "call"
            && let Some(function) = current.child_by_field_id(FIELD.function)
        {
            let name = match function.kind() {
                "attribute" => {
                    function.child_by_field_id(FIELD.attribute).map_or("", |name| &source[name.byte_range()])
                }
                "identifier" => &source[function.byte_range()],
                _ => "",
            };
            if THREAD_BOUND.contains(&name) {
                return true;
            }
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

/// `f"{expr=}"`: the f-string prints the expression's own text.
fn in_self_documenting_fstring(node: Node<'_>, model: &SemanticModel<'_>, source: &str) -> bool {
    let mut current = node;
    for parent in model.ancestors(node) {
        if parent.kind() == "interpolation" {
            let after = &source[current.end_byte()..parent.end_byte()];
            if after.trim_start().starts_with('=') {
                return true;
            }
        }
        if matches!(parent.kind(), "function_definition" | "lambda") {
            return false;
        }
        current = parent;
    }
    false
}

/// `(await e).method(args)`: a call whose receiver is an awaited value.
fn method_of_awaited(node: Node<'_>) -> bool {
    let mut receiver = node
        .child_by_field_id(FIELD.function)
        .filter(|callee| callee.kind() == "attribute")
        .and_then(|callee| callee.child_by_field_id(FIELD.object));
    while let Some(inner) = receiver.filter(|inner| inner.kind() == "parenthesized_expression") {
        receiver = inner.named_child(0);
    }
    node.kind() == "call" && receiver.is_some_and(|receiver| receiver.kind() == "await")
}

/// `....iterator(...)`: Django's streaming `QuerySet` method.
fn is_iterator_call(node: Node<'_>, source: &str) -> bool {
    node.kind() == "call"
        && node.child_by_field_id(FIELD.function).is_some_and(|function| {
            function.kind() == "attribute"
                && function
                    .child_by_field_id(FIELD.attribute)
                    .is_some_and(|name| &source[name.byte_range()] == "iterator")
        })
}

/// Whether `node` lies in the outermost iterable of its nearest generator
/// expression (`sum(1 for _ in HERE)`), which Python evaluates in the
/// enclosing scope.
fn in_outermost_iterable(node: Node<'_>, model: &SemanticModel<'_>) -> bool {
    let ancestors = model.ancestors(node);
    let mut child = node;
    for (depth, &parent) in ancestors.iter().enumerate() {
        if parent.kind() == "for_in_clause"
            && parent.child_by_field_id(FIELD.right).is_some_and(|right| right.id() == child.id())
            && let Some(&generator) =
                ancestors.get(depth + 1).filter(|generator| generator.kind() == "generator_expression")
        {
            let mut cursor = generator.walk();
            let first = generator.named_children(&mut cursor).find(|clause| clause.kind() == "for_in_clause");
            return first.is_some_and(|first| first.id() == parent.id());
        }
        if matches!(parent.kind(), "generator_expression" | "lambda" | "function_definition") {
            return false;
        }
        child = parent;
    }
    false
}

/// Whether `node` holds a zero-argument `super()` call.
fn holds_bare_super(node: Node<'_>, source: &str) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if is_bare_super(current, source) {
            return true;
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

fn is_bare_super(node: Node<'_>, source: &str) -> bool {
    node.kind() == "call"
        && node
            .child_by_field_id(FIELD.function)
            .is_some_and(|function| function.kind() == "identifier" && &source[function.byte_range()] == "super")
        && node.child_by_field_id(FIELD.arguments).is_some_and(|arguments| arguments.named_child_count() == 0)
}

/// `super().method(args)` whose arguments hold no `super()` of their own.
fn calls_on_super(call: Node<'_>, source: &str) -> bool {
    let Some(callee) = call.child_by_field_id(FIELD.function) else { return false };
    callee.kind() == "attribute"
        && callee.child_by_field_id(FIELD.object).is_some_and(|object| is_bare_super(object, source))
        && call.child_by_field_id(FIELD.arguments).is_none_or(|arguments| !holds_bare_super(arguments, source))
}
