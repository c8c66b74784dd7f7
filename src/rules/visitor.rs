//! The one walk over a file: tracks where code runs on the event loop
//! (inside `async def`, not in a nested sync `def`, lambda, class body,
//! wrapped function or wrapper argument) and what the parent does with each
//! node (awaited, called, assigned, iterated, tested), and asks the rules
//! about each node that runs on the loop.

use std::ops::Range;

use tree_sitter::{Node, Tree};

use super::diagnose::{NO_FIX_BY_RECIPE, diagnose, finish};
use super::implicit_evaluation::Use;
use super::sqlalchemy::{self, SqlAlchemySite};
use super::{FileInfo, Site};
use crate::diagnostic::Diagnostic;
use crate::fix::SqlAlchemyFix;
use crate::fix::importer::Importer;
use crate::fix::rewrite::WrapStyle;
use crate::infer::{Certainty, Evaluator};
use crate::parse::FIELD;
use crate::recipe::{Rewrite, Wrapper};
use crate::scan::may_have_sites;
use crate::semantic::{ScopeId, SemanticModel};
use crate::settings::Settings;
use crate::source::Locator;

/// Where `await` may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Not running on the event loop: module level, sync `def`, lambda, class
    /// body, a wrapped function or a wrapper's argument.
    Sync,
    /// The body of an `async def`.
    Async,
    /// On the event loop but `await` would change meaning (a generator expression).
    AsyncNoAwait,
}

/// What the parent does with a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// The operand of `await`: already awaited.
    Awaited,
    /// The callee of a call: a method, not an attribute read.
    Callee,
    /// Assigned or deleted, not read.
    Target,
    /// Iterated (`for`, comprehension, `in`).
    Iterated,
    /// Tested for truth (`if`, `while`, `and`, `not`).
    Tested,
    /// Tested for truth and also the result: the left operand of `and` or
    /// `or` whose value flows on (`x = qs or []`). A site, but wrapping the
    /// test would put `True` where the value was.
    TestedAndKept,
}

/// Why a [`Role::TestedAndKept`] site gets no fix.
const TESTED_AND_KEPT: &str =
    "the value of `and`/`or` is this operand itself; testing it in a thread would change the value";

struct Frame<'t> {
    node: Node<'t>,
    scope: ScopeId,
    mode: Mode,
    role: Role,
    /// For a function definition: decorated with a wrapper.
    wrapped: bool,
}

fn push<'t>(stack: &mut Vec<Frame<'t>>, node: Node<'t>, scope: ScopeId, mode: Mode) {
    stack.push(Frame { node, scope, mode, role: Role::Plain, wrapped: false });
}

fn push_role<'t>(stack: &mut Vec<Frame<'t>>, node: Node<'t>, scope: ScopeId, mode: Mode, role: Role) {
    stack.push(Frame { node, scope, mode, role, wrapped: false });
}

/// Every site in a parsed, error-free file.
pub fn check_tree<'t>(text: &'t str, tree: &'t Tree, file: FileInfo<'_>, settings: &Settings) -> Vec<Diagnostic> {
    check_model(&SemanticModel::build(text, tree, file.module.clone()), file, settings)
}

/// [`check_tree`] with the file's semantic model already built.
pub fn check_model(model: &SemanticModel<'_>, file: FileInfo<'_>, settings: &Settings) -> Vec<Diagnostic> {
    let (text, tree) = (model.source, model.tree);
    let evaluator = Evaluator::new(model, &settings.rules, file.index);
    let locator = Locator::new(text);
    let importer = Importer::new(model, &locator);
    let default_wrapper = if model.imports_channels {
        Wrapper::new("channels.db", "database_sync_to_async")
    } else {
        Wrapper::new("asgiref.sync", "sync_to_async")
    };
    // Each site, its scope and mode, and whether it is a kept truth test.
    let mut sites: Vec<(Site<'_>, ScopeId, Mode, bool)> = Vec::new();
    let mut sqlalchemy_sites: Vec<SqlAlchemySite<'_>> = Vec::new();
    // `--sqlalchemy-fix` overrides the recipe's `rewrite`.
    let sqlalchemy_style = settings.sqlalchemy_fix.unwrap_or_else(|| {
        match settings.rules.sqlalchemy_lazy_load.map(|rule| settings.rules.rule(rule).rewrite) {
            Some(Rewrite::SqlAlchemy(style)) => style,
            _ => SqlAlchemyFix::Explicit,
        }
    });
    let sqlalchemy_rules = sqlalchemy::Rules {
        lazy_load: settings.rules.sqlalchemy_lazy_load.filter(|rule| settings.enabled[rule.0]),
        expired: settings.rules.sqlalchemy_expired.filter(|rule| settings.enabled[rule.0]),
    };
    let mut stack = Vec::new();
    push_children_with_roles(tree.root_node(), Role::Plain, ScopeId::MODULE, Mode::Sync, &mut stack);
    // Only `async def` leaves sync mode: a module-level statement or a
    // definition without one holds no site, however large.
    let holds_no_site = |node: Node<'_>| !may_have_sites(&text.as_bytes()[node.byte_range()]);
    stack.retain(|frame| !holds_no_site(frame.node));
    while let Some(frame) = stack.pop() {
        let Frame { node, scope, mode, role, wrapped } = frame;
        if mode == Mode::Sync
            && matches!(node.kind(), "function_definition" | "class_definition" | "decorated_definition")
            && holds_no_site(node)
        {
            continue;
        }
        if mode != Mode::Sync && role != Role::Awaited {
            let site = match (node.kind(), role) {
                (_, Role::Iterated) => super::implicit_evaluation::check_use(node, Use::Iterated, scope, &evaluator),
                (_, Role::Tested | Role::TestedAndKept) => {
                    super::implicit_evaluation::check_use(node, Use::Tested, scope, &evaluator)
                }
                ("call", _) => super::check_call(node, scope, &evaluator),
                ("attribute", Role::Plain) => super::check_attribute(node, scope, &evaluator),
                ("subscript", Role::Plain) => super::implicit_evaluation::check_subscript(node, scope, &evaluator),
                _ => None,
            };
            // An iterated or tested node can also be a call or attribute site of its own.
            let site = site.or_else(|| match (node.kind(), role) {
                ("call", Role::Iterated | Role::Tested | Role::TestedAndKept) => {
                    super::check_call(node, scope, &evaluator)
                }
                ("attribute", Role::Iterated | Role::Tested | Role::TestedAndKept) => {
                    super::check_attribute(node, scope, &evaluator)
                }
                _ => None,
            });
            if let Some(site) = site.filter(|site| settings.enabled[site.rule.0]) {
                // Only the truth test is lost by a fix; a call site of its own wraps fine.
                let kept = role == Role::TestedAndKept && Some(site.rule) == settings.rules.implicit_evaluation;
                sites.push((site, scope, mode, kept));
            }
        }
        match node.kind() {
            "call" => {
                let callee = node.child_by_field_id(FIELD.function);
                let arguments_mode =
                    if mode != Mode::Sync && callee.is_some_and(|callee| evaluator.is_wrapper(callee, scope)) {
                        Mode::Sync
                    } else {
                        mode
                    };
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    if callee.is_some_and(|callee| callee.id() == child.id()) {
                        push_role(&mut stack, child, scope, mode, Role::Callee);
                    } else {
                        push(&mut stack, child, scope, arguments_mode);
                    }
                }
            }
            "await" => {
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    push_role(&mut stack, child, scope, mode, Role::Awaited);
                }
            }
            "decorated_definition" => {
                let mut cursor = node.walk();
                let decorators: Vec<Node<'_>> =
                    node.named_children(&mut cursor).filter(|child| child.kind() == "decorator").collect();
                let is_wrapped = decorators.iter().any(|decorator| {
                    let expression = decorator.named_child(0);
                    let callee = expression.map(|expression| match expression.kind() {
                        "call" => expression.child_by_field_id(FIELD.function).unwrap_or(expression),
                        _ => expression,
                    });
                    callee.is_some_and(|callee| evaluator.is_wrapper(callee, scope))
                });
                for decorator in decorators {
                    push(&mut stack, decorator, scope, mode);
                }
                if let Some(definition) = node.child_by_field_id(FIELD.definition) {
                    stack.push(Frame { node: definition, scope, mode, role: Role::Plain, wrapped: is_wrapped });
                }
            }
            "function_definition" | "lambda" => {
                let inner = model.scope_opened_by(node).unwrap_or(scope);
                if let Some(parameters) = node.child_by_field_id(FIELD.parameters) {
                    // Defaults and annotations are evaluated where the def runs.
                    let mut cursor = parameters.walk();
                    for parameter in parameters.named_children(&mut cursor) {
                        // Annotations may never be evaluated (`from __future__ import
                        // annotations`): not a place for `await`.
                        if let Some(annotation) = parameter.child_by_field_id(FIELD.r#type) {
                            push(&mut stack, annotation, scope, Mode::Sync);
                        }
                        if let Some(default) = parameter.child_by_field_id(FIELD.value) {
                            push(&mut stack, default, scope, mode);
                        }
                    }
                }
                if let Some(returns) = node.child_by_field_id(FIELD.return_type) {
                    push(&mut stack, returns, scope, Mode::Sync);
                }
                let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
                let body_mode = if is_async && !wrapped { Mode::Async } else { Mode::Sync };
                if body_mode == Mode::Async && node.kind() == "function_definition" {
                    sqlalchemy_sites.extend(sqlalchemy::check_function(
                        node,
                        &evaluator,
                        &sqlalchemy_rules,
                        sqlalchemy_style,
                        &importer,
                        &locator,
                    ));
                }
                if let Some(body) = node.child_by_field_id(FIELD.body) {
                    push(&mut stack, body, inner, body_mode);
                }
            }
            "class_definition" => {
                let inner = model.scope_opened_by(node).unwrap_or(scope);
                if let Some(bases) = node.child_by_field_id(FIELD.superclasses) {
                    push(&mut stack, bases, scope, mode);
                }
                if let Some(body) = node.child_by_field_id(FIELD.body) {
                    push(&mut stack, body, inner, Mode::Sync);
                }
            }
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                let inner = model.scope_opened_by(node).unwrap_or(scope);
                let inner_mode = if node.kind() == "generator_expression" && mode == Mode::Async {
                    Mode::AsyncNoAwait
                } else {
                    mode
                };
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    push(&mut stack, child, inner, inner_mode);
                }
            }
            _ => push_children_with_roles(node, role, scope, mode, &mut stack),
        }
    }
    // A callee that holds another site must run in the thread too: wrap the whole call.
    let mut ranges: Vec<Range<usize>> = sites.iter().map(|(site, ..)| site.node.byte_range()).collect();
    ranges.sort_by_key(|range| range.start);
    for (site, ..) in &mut sites {
        if site.style == WrapStyle::Callee {
            let callee = site.node.child_by_field_id(FIELD.function).map_or(0..0, |callee| callee.byte_range());
            let first = ranges.partition_point(|range| range.start < callee.start);
            let holds_site = ranges[first..]
                .iter()
                .take_while(|range| range.start < callee.end)
                .any(|range| range.end <= callee.end && *range != callee);
            if holds_site {
                site.style = WrapStyle::Lambda;
            }
        }
    }
    let mut diagnostics: Vec<Diagnostic> = sites
        .iter()
        .map(|(site, scope, mode, kept)| {
            let mut diagnostic = diagnose(site, *scope, *mode, settings, &importer, &default_wrapper);
            if *kept {
                diagnostic.fix = None;
                diagnostic.no_fix = Some(TESTED_AND_KEPT.to_owned());
            }
            diagnostic
        })
        .collect();
    diagnostics.extend(sqlalchemy_sites.into_iter().map(|site| {
        let recipe = settings.rules.rule(site.rule);
        let message = recipe.render_message(&site.callee, &site.method, "", &site.via);
        let fix = if recipe.rewrite == Rewrite::None { Err(NO_FIX_BY_RECIPE.to_owned()) } else { site.fix };
        finish(site.rule, site.node.byte_range(), message, fix, Certainty::Certain, settings)
    }));
    diagnostics.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.rule));
    diagnostics.dedup_by_key(|diagnostic| diagnostic.range.clone());
    diagnostics
}

/// Children of an ordinary node, with what the node does with each.
fn push_children_with_roles<'t>(node: Node<'t>, role: Role, scope: ScopeId, mode: Mode, stack: &mut Vec<Frame<'t>>) {
    let mut cursor = node.walk();
    if !cursor.goto_first_child() {
        return;
    }
    let kind = node.kind();
    // `async for` iterates natively: the iterable is not evaluated in bulk.
    let is_async_for =
        matches!(kind, "for_statement" | "for_in_clause") && node.child(0).is_some_and(|first| first.kind() == "async");
    let mut after_in = false;
    let unpacks = kind == "assignment"
        && node
            .child_by_field_id(FIELD.left)
            .is_some_and(|left| matches!(left.kind(), "pattern_list" | "tuple_pattern" | "list_pattern"));
    loop {
        let child = cursor.node();
        let field = cursor.field_name();
        if child.kind() == "in" || (child.kind() == "not in") {
            after_in = true;
        }
        if child.is_named() {
            let role = match (kind, field) {
                ("assignment" | "augmented_assignment" | "for_statement", Some("left")) => Role::Target,
                ("delete_statement", _) => Role::Target,
                ("for_statement" | "for_in_clause", Some("right")) if !is_async_for => Role::Iterated,
                ("if_statement" | "elif_clause" | "while_statement", Some("condition")) => Role::Tested,
                ("conditional_expression", _)
                    if child.prev_named_sibling().is_some() && child.next_named_sibling().is_some() =>
                {
                    Role::Tested
                }
                // `a or b` tests `a` and returns `a` or `b` itself: `b` is
                // tested only when the whole expression is, and `a`'s value
                // flows on unless it is.
                ("boolean_operator", Some("left" | "right")) if role == Role::Tested => Role::Tested,
                ("boolean_operator", Some("left")) => Role::TestedAndKept,
                ("not_operator", Some("argument")) => Role::Tested,
                ("comparison_operator", _) if after_in => Role::Iterated,
                // Unpacking iterates: `[*qs]`, `f(*qs)`, `a, b = qs`.
                ("list_splat", _) => Role::Iterated,
                ("assignment", Some("right")) if unpacks => Role::Iterated,
                _ => Role::Plain,
            };
            // A variable annotation (`x: T = v`) is never evaluated inside a function.
            let child_mode = if kind == "assignment" && field == Some("type") { Mode::Sync } else { mode };
            push_role(stack, child, scope, child_mode, role);
        }
        if !cursor.goto_next_sibling() {
            break;
        }
    }
}
