//! Rules: each file matches one kind of site and says how to rewrite it.
//! Rules see a call node with its scope and return a [`Site`]; they never read
//! files, print or build edits. The recipes say which names each kind matches.

pub mod async_to_sync;
mod diagnose;
pub mod implicit_evaluation;
pub mod lazy_relation;
pub mod lazy_request_user;
pub mod model_instance;
pub mod native_migration;
pub mod orm_query;
pub mod project_helper;
pub mod sqlalchemy;
pub mod suppression;
pub mod sync_attribute;
pub mod sync_callable;
pub mod sync_method;
pub mod template_render;
#[cfg(test)]
mod tests;
mod visitor;

pub use visitor::{check_model, check_model_unsuppressed, check_tree};

use std::rc::Rc;

use tree_sitter::Node;

use crate::fix::rewrite::WrapStyle;
use crate::fix::{Reload, Style};
use crate::infer::facts::{Effect, ProjectFacts};
use crate::infer::{Certainty, Evaluator};
use crate::parse::FIELD;
use crate::recipe::RuleId;
use crate::semantic::{ModuleName, ScopeId};

/// What the run knows about one file: its module name and its project's index.
#[derive(Clone, Copy)]
pub struct FileInfo<'a> {
    pub module: &'a ModuleName,
    pub index: Option<&'a dyn ProjectFacts>,
}

/// A place that hits the database synchronously.
#[derive(Debug, Clone)]
pub struct Site<'t> {
    pub rule: RuleId,
    /// The expression to rewrite.
    pub node: Node<'t>,
    /// What the message names, already shortened (`User.objects.get(...)`).
    pub callee: String,
    /// The method name, for messages.
    pub method: String,
    pub certainty: Certainty,
    pub style: Style<'t>,
    /// Whether `Callee` style is also correct (a lazy chain before the last
    /// call), for when a lambda cannot hold the expression.
    pub callee_fallback: bool,
    /// How the site reaches the database, for `{via}` in messages.
    pub via: String,
    /// What it touches when not the database (`the cache backend`), for
    /// `{resource}` in messages.
    pub resource: Option<String>,
    /// The native async twin of its call, for a target Django that has it.
    pub twin: Option<SiteTwin>,
}

/// The twin a rule declares for `method` (`[orm]`, `[model-instance]`), by
/// its index in [`RuleSet::twins`].
pub fn rule_twin(rules: &crate::recipe::RuleSet, rule: RuleId, method: &str) -> Option<usize> {
    rules.twins.iter().position(|twin| twin.rule == rule && twin.sync == method)
}

/// A call's native async twin (`qs.get` -> `qs.aget`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTwin {
    /// Its index in [`crate::recipe::RuleSet::twins`].
    pub index: usize,
    /// A version above the twin's `since` this receiver needs (a related
    /// manager's `acreate` came in 4.1.4, the manager's in 4.1).
    pub at_least: Option<crate::target::DjangoVersion>,
    /// For a callee that is a bare name (`authenticate(...)`): the module to
    /// import the twin from.
    pub import_from: Option<String>,
    /// A twin on a sibling receiver, for a value a constructor with its own
    /// twin built in this function (`client = Client()`): that constructor's
    /// callee and its twin (`AsyncClient`, by index in `twins`), switched
    /// with the call.
    pub constructor: Option<(std::ops::Range<usize>, usize)>,
}

impl<'t> Site<'t> {
    /// The one way to make a site: `node` (a call, or an attribute read, a
    /// subscript, an iterated or tested expression) for `rule`, certain,
    /// wrapped as its shape needs (a call by its callee, anything else in a
    /// lambda). The builder methods below change what differs.
    pub fn new(rule: RuleId, node: Node<'t>, method: impl Into<String>, evaluator: &Evaluator<'_, 't>) -> Self {
        let style = match node.kind() {
            "call" => node.child_by_field_id(FIELD.function).map_or(WrapStyle::Lambda, style_for),
            _ => WrapStyle::Lambda,
        };
        let style = Style::Wrap(style);
        Self {
            rule,
            node,
            callee: summarize(node, evaluator.model.source),
            method: method.into(),
            certainty: Certainty::Certain,
            style,
            callee_fallback: false,
            via: String::new(),
            resource: None,
            twin: None,
        }
    }

    /// The call's native async twin.
    #[must_use]
    pub fn twin(mut self, twin: Option<SiteTwin>) -> Self {
        self.twin = twin;
        self
    }

    #[must_use]
    pub fn certainty(mut self, certainty: Certainty) -> Self {
        self.certainty = certainty;
        self
    }

    #[must_use]
    pub fn style(mut self, style: WrapStyle) -> Self {
        self.style = Style::Wrap(style);
        self
    }

    /// Fixed by loading what the read needs first, by a plan shared with the
    /// other reads it fixes (`SQLAlchemy`).
    #[must_use]
    pub fn reload(mut self, plan: Rc<Reload<'t>>) -> Self {
        self.style = Style::Reload(plan);
        self
    }

    /// The text the message names, when the shortened expression is not it.
    #[must_use]
    pub fn callee(mut self, callee: impl Into<String>) -> Self {
        self.callee = callee.into();
        self
    }

    /// A lazy chain before the last call: `w(chain.method)(args)` is correct
    /// too, for when a lambda cannot hold the expression.
    #[must_use]
    pub fn callee_fallback(mut self) -> Self {
        self.callee_fallback = true;
        self
    }

    #[must_use]
    pub fn via(mut self, via: impl Into<String>) -> Self {
        self.via = via.into();
        self
    }

    /// What a project function's site touches, from its effect: another
    /// rule's resource (`the cache backend`), or the database.
    #[must_use]
    pub fn touching(mut self, effect: Effect, rules: &crate::recipe::RuleSet) -> Self {
        if let Effect::Resource(rule) = effect {
            self.resource.clone_from(&rules.rule(rule).resource);
        }
        self
    }
}

/// Every call-site rule, in the order they are tried; the first match wins.
pub fn check_call<'t>(call: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    // First: the model-instance wrapper `w(request.user.save)()` would load
    // the lazy user on the event loop.
    let mut site = lazy_request_user::check_call(call, scope, evaluator)
        .or_else(|| orm_query::check(call, scope, evaluator))
        .or_else(|| sync_method::check(call, scope, evaluator))
        .or_else(|| sync_callable::check(call, scope, evaluator))
        .or_else(|| model_instance::check(call, scope, evaluator))
        .or_else(|| implicit_evaluation::check_call(call, scope, evaluator))
        .or_else(|| async_to_sync::check(call, scope, evaluator))
        .or_else(|| template_render::check(call, scope, evaluator))
        .or_else(|| project_helper::check(call, scope, evaluator))?;
    // `filter(owner=request.user)` loads a lazy user where the call runs:
    // in a wrapper's thread that is fine, on the loop (a native twin) not.
    if site.twin.is_some() && lazy_request_user::holds_lazy_user(call, scope, evaluator) {
        site.twin = None;
    }
    Some(site)
}

/// Rules for an attribute read (not a method call, not an assignment target).
pub fn check_attribute<'t>(attribute: Node<'t>, scope: ScopeId, evaluator: &Evaluator<'_, 't>) -> Option<Site<'t>> {
    lazy_relation::check(attribute, scope, evaluator)
        .or_else(|| sync_attribute::check(attribute, scope, evaluator))
        .or_else(|| lazy_request_user::check_attribute(attribute, scope, evaluator))
        .or_else(|| project_helper::check_property(attribute, scope, evaluator))
}

/// The class whose method encloses `scope`, if any.
pub fn enclosing_class(scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    let mut current = Some(scope);
    while let Some(id) = current {
        let data = evaluator.model.scope(id);
        if let Some(method) = &data.method {
            return Some(method.class.clone());
        }
        current = data.parent;
    }
    None
}

/// The style for wrapping a call: the callee alone when it holds no call.
pub fn style_for(callee: Node<'_>) -> WrapStyle {
    if contains_kind(callee, "call") { WrapStyle::Lambda } else { WrapStyle::Callee }
}

pub fn contains_kind(node: Node<'_>, kind: &str) -> bool {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.kind() == kind {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// Whether a function body yields (not counting its nested definitions,
/// lambdas and classes): calling the function makes a generator.
pub fn yields(body: Node<'_>) -> bool {
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "yield" => return true,
            "function_definition" | "lambda" | "class_definition" => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// A call chain for messages: arguments become `...`, white space folds.
pub fn summarize(node: Node<'_>, source: &str) -> String {
    let mut text = String::new();
    render(node, source, &mut text);
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        return format!("{cut}...");
    }
    text
}

fn render(node: Node<'_>, source: &str, out: &mut String) {
    match node.kind() {
        "call" => {
            if let Some(callee) = node.child_by_field_id(FIELD.function) {
                render(callee, source, out);
            }
            let empty =
                node.child_by_field_id(FIELD.arguments).is_none_or(|arguments| arguments.named_child_count() == 0);
            out.push_str(if empty { "()" } else { "(...)" });
        }
        "attribute" => {
            if let Some(object) = node.child_by_field_id(FIELD.object) {
                render(object, source, out);
            }
            out.push('.');
            if let Some(attribute) = node.child_by_field_id(FIELD.attribute) {
                out.push_str(&source[attribute.byte_range()]);
            }
        }
        "subscript" => {
            if let Some(value) = node.child_by_field_id(FIELD.value) {
                render(value, source, out);
            }
            out.push_str("[...]");
        }
        _ => {
            let text = &source[node.byte_range()];
            out.extend(text.split_whitespace().flat_map(|word| [word, " "]));
            if out.ends_with(' ') {
                out.pop();
            }
        }
    }
}
