//! The one walk over a file: tracks where code runs on the event loop
//! (inside `async def` and the class bodies it holds, not in a nested sync
//! `def`, lambda, wrapped function or wrapper argument) and what the parent does with each
//! node (awaited, called, assigned, iterated, tested), and asks the rules
//! about each node that runs on the loop.

use std::ops::Range;

use tree_sitter::{Node, Tree};

use super::diagnose::{FixContext, diagnose};
use super::implicit_evaluation::Use;
use super::sqlalchemy;
use super::{FileInfo, Site, contains_kind};
use crate::diagnostic::Diagnostic;
use crate::fix::importer::Importer;
use crate::fix::reload::ReloadContext;
use crate::fix::rewrite::WrapStyle;
use crate::fix::{NoFix, SqlAlchemyFix, Style};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::{Rewrite, RuleId, Wrapper};
use crate::scan::may_have_sites;
use crate::semantic::{ScopeId, SemanticModel};
use crate::settings::Settings;
use crate::source::Locator;

/// Where `await` may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Not running on the event loop: module level, sync `def`, lambda, a
    /// class body outside `async def`, a wrapped function or a wrapper's
    /// argument.
    Sync,
    /// The body of an `async def`.
    Async,
    /// On the event loop but `await` would change meaning (a generator expression).
    AsyncNoAwait,
    /// On the event loop where `await` cannot go: a class body inside an
    /// `async def` runs where it stands.
    ClassBody,
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
    super::suppression::filter(model, &settings.rules, check_model_unsuppressed(model, file, settings))
}

/// Every site, suppression comments or not (to find the comments that
/// suppress nothing).
pub fn check_model_unsuppressed(model: &SemanticModel<'_>, file: FileInfo<'_>, settings: &Settings) -> Vec<Diagnostic> {
    let evaluator = Evaluator::new(model, &settings.rules, file.index);
    let locator = Locator::new(model.source);
    let importer = Importer::new(model, &locator);
    let mut visitor = Visitor {
        model,
        evaluator: &evaluator,
        settings,
        importer: &importer,
        locator: &locator,
        sqlalchemy: SqlAlchemyCheck::new(settings),
        stack: Vec::new(),
        sites: Vec::new(),
    };
    visitor.walk();
    visitor.diagnostics()
}

/// The `SQLAlchemy` rules that are on, and how their lazy loads are fixed.
struct SqlAlchemyCheck {
    rules: sqlalchemy::Rules,
    style: SqlAlchemyFix,
}

impl SqlAlchemyCheck {
    fn new(settings: &Settings) -> Self {
        let rules = &settings.rules;
        // `--sqlalchemy-fix` overrides the recipe's `rewrite`.
        let style = settings.sqlalchemy_fix.unwrap_or_else(|| {
            match rules.sqlalchemy_lazy_load.map(|rule| rules.rule(rule).rewrite) {
                Some(Rewrite::SqlAlchemy(style)) => style,
                _ => SqlAlchemyFix::Explicit,
            }
        });
        let enabled = |rule: Option<RuleId>| rule.filter(|rule| settings.enabled[rule.0]);
        Self {
            rules: sqlalchemy::Rules {
                lazy_load: enabled(rules.sqlalchemy_lazy_load),
                expired: enabled(rules.sqlalchemy_expired),
            },
            style,
        }
    }
}

/// A site found by the walk, with where it was found.
struct Found<'t> {
    site: Site<'t>,
    scope: ScopeId,
    mode: Mode,
    /// A kept truth test (`x = qs or []`): reported without a fix.
    kept: bool,
}

struct Visitor<'a, 't> {
    model: &'a SemanticModel<'t>,
    evaluator: &'a Evaluator<'a, 't>,
    settings: &'a Settings,
    importer: &'a Importer<'a, 't>,
    locator: &'a Locator<'t>,
    sqlalchemy: SqlAlchemyCheck,
    stack: Vec<Frame<'t>>,
    sites: Vec<Found<'t>>,
}

impl<'t> Visitor<'_, 't> {
    /// Whether a node's text cannot hold a site: no `async def` in it.
    fn holds_no_site(&self, node: Node<'_>) -> bool {
        !may_have_sites(&self.model.source.as_bytes()[node.byte_range()])
    }

    fn walk(&mut self) {
        push_children_with_roles(
            self.model.tree.root_node(),
            Role::Plain,
            ScopeId::MODULE,
            Mode::Sync,
            &mut self.stack,
        );
        // Only `async def` leaves sync mode: a module-level statement or a
        // definition without one holds no site, however large.
        let stack = std::mem::take(&mut self.stack);
        self.stack = stack.into_iter().filter(|frame| !self.holds_no_site(frame.node)).collect();
        while let Some(frame) = self.stack.pop() {
            if frame.mode == Mode::Sync
                && matches!(frame.node.kind(), "function_definition" | "class_definition" | "decorated_definition")
                && self.holds_no_site(frame.node)
            {
                continue;
            }
            if frame.mode != Mode::Sync && frame.role != Role::Awaited {
                self.check_node(&frame);
            }
            self.push_children(&frame);
        }
    }

    /// Asks the rules about a node that runs on the event loop.
    fn check_node(&mut self, frame: &Frame<'t>) {
        let Frame { node, scope, mode, role, .. } = *frame;
        let evaluator = self.evaluator;
        let site = match (node.kind(), role) {
            (_, Role::Iterated) => super::implicit_evaluation::check_use(node, Use::Iterated, scope, evaluator),
            (_, Role::Tested | Role::TestedAndKept) => {
                super::implicit_evaluation::check_use(node, Use::Tested, scope, evaluator)
            }
            ("call", _) => super::check_call(node, scope, evaluator),
            ("attribute", Role::Plain) => super::check_attribute(node, scope, evaluator),
            ("subscript", Role::Plain) => super::implicit_evaluation::check_subscript(node, scope, evaluator),
            _ => None,
        };
        // An iterated or tested node can also be a call or attribute site of its own.
        let site = site.or_else(|| match (node.kind(), role) {
            ("call", Role::Iterated | Role::Tested | Role::TestedAndKept) => super::check_call(node, scope, evaluator),
            ("attribute", Role::Iterated | Role::Tested | Role::TestedAndKept) => {
                super::check_attribute(node, scope, evaluator)
            }
            _ => None,
        });
        if let Some(site) = site.filter(|site| self.reports(site.rule)) {
            // Only the truth test is lost by a fix; a call site of its own wraps fine.
            let kept = role == Role::TestedAndKept && Some(site.rule) == self.settings.rules.implicit_evaluation;
            self.sites.push(Found { site, scope, mode, kept });
        }
    }

    /// Whether the run reports a rule's sites: it is enabled, and the
    /// project's settings do not rule it out.
    fn reports(&self, rule: RuleId) -> bool {
        let needs = &self.settings.rules.rule(rule).installed_apps;
        let installed = self.evaluator.index.and_then(|index| index.django_settings()?.installed_apps.as_ref());
        // Unknown settings rule nothing out.
        self.settings.enabled[rule.0]
            && (needs.is_empty() || installed.is_none_or(|installed| needs.iter().any(|app| installed.contains(app))))
    }

    /// Pushes a node's children with the mode and role each runs in.
    fn push_children(&mut self, frame: &Frame<'t>) {
        let Frame { node, scope, mode, role, wrapped } = *frame;
        match node.kind() {
            "call" => self.push_call(node, scope, mode),
            "await" => {
                if mode == Mode::Async
                    && self.settings.migrate
                    && let (Some(native), Some(operand)) = (&self.settings.native, node.named_child(0))
                    && let Some(site) = super::native_migration::check(operand, scope, self.evaluator, native)
                    && self.reports(site.rule)
                {
                    self.sites.push(Found { site, scope, mode, kept: false });
                }
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    push_role(&mut self.stack, child, scope, mode, Role::Awaited);
                }
            }
            "decorated_definition" => {
                let mut cursor = node.walk();
                for decorator in node.named_children(&mut cursor).filter(|child| child.kind() == "decorator") {
                    push(&mut self.stack, decorator, scope, mode);
                }
                if let Some(definition) = node.child_by_field_id(FIELD.definition) {
                    let wrapped = self.evaluator.is_wrapped_definition(node, scope);
                    self.stack.push(Frame { node: definition, scope, mode, role: Role::Plain, wrapped });
                }
            }
            "function_definition" | "lambda" => self.push_function(node, scope, mode, wrapped),
            "with_statement" if mode != Mode::Sync && self.expects_sync_error(node, scope) => {
                // `with self.assertRaises(SynchronousOnlyOperation):` is the
                // test's point: the synchronous call inside must stay.
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    let is_body = node.child_by_field_id(FIELD.body).is_some_and(|body| body.id() == child.id());
                    push(&mut self.stack, child, scope, if is_body { Mode::Sync } else { mode });
                }
            }
            "class_definition" => {
                let inner = self.model.scope_opened_by(node).unwrap_or(scope);
                if let Some(bases) = node.child_by_field_id(FIELD.superclasses) {
                    push(&mut self.stack, bases, scope, mode);
                }
                // A class body runs where the class statement stands.
                let body_mode = if mode == Mode::Sync { Mode::Sync } else { Mode::ClassBody };
                if let Some(body) = node.child_by_field_id(FIELD.body) {
                    push(&mut self.stack, body, inner, body_mode);
                }
            }
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                let inner = self.model.scope_opened_by(node).unwrap_or(scope);
                let inner_mode = if node.kind() == "generator_expression" && mode == Mode::Async {
                    Mode::AsyncNoAwait
                } else {
                    mode
                };
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    push(&mut self.stack, child, inner, inner_mode);
                }
            }
            _ => push_children_with_roles(node, role, scope, mode, &mut self.stack),
        }
    }

    /// Whether a `with` statement expects `SynchronousOnlyOperation`:
    /// `self.assertRaises(...)`, `assertRaisesMessage`, `assertRaisesRegex`
    /// or `pytest.raises(...)` with it as the first argument.
    fn expects_sync_error(&self, with_statement: Node<'t>, scope: ScopeId) -> bool {
        let Some(clause) = with_statement.named_child(0).filter(|clause| clause.kind() == "with_clause") else {
            return false;
        };
        let mut cursor = clause.walk();
        let items: Vec<Node<'t>> = clause.named_children(&mut cursor).collect();
        items.into_iter().filter_map(|item| item.named_child(0)).any(|expression| {
            let expression = match expression.kind() {
                "as_pattern" => expression.named_child(0).unwrap_or(expression),
                _ => expression,
            };
            let (Some(callee), Some(first)) = (
                expression.child_by_field_id(FIELD.function),
                expression.child_by_field_id(FIELD.arguments).and_then(|arguments| arguments.named_child(0)),
            ) else {
                return false;
            };
            let asserts = match callee.kind() {
                "attribute" => callee.child_by_field_id(FIELD.attribute).is_some_and(|name| {
                    matches!(self.model.text(name), "assertRaises" | "assertRaisesMessage" | "assertRaisesRegex")
                }),
                _ => false,
            } || matches!(self.evaluator.eval(callee, scope), Value::Qualified(name) if name == "pytest.raises");
            asserts
                && matches!(self.evaluator.eval(first, scope), Value::Qualified(name) if name.ends_with(".SynchronousOnlyOperation"))
        })
    }

    /// A call: its callee is a callee; a wrapper's arguments run in a thread.
    fn push_call(&mut self, node: Node<'t>, scope: ScopeId, mode: Mode) {
        let callee = node.child_by_field_id(FIELD.function);
        let arguments_mode =
            if mode != Mode::Sync && callee.is_some_and(|callee| self.evaluator.is_wrapper(callee, scope)) {
                Mode::Sync
            } else {
                mode
            };
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if callee.is_some_and(|callee| callee.id() == child.id()) {
                push_role(&mut self.stack, child, scope, mode, Role::Callee);
            } else {
                push(&mut self.stack, child, scope, arguments_mode);
            }
        }
    }

    /// A `def` or lambda: defaults run where it is defined, annotations
    /// maybe never, the body on the loop only for an unwrapped `async def`.
    fn push_function(&mut self, node: Node<'t>, scope: ScopeId, mode: Mode, wrapped: bool) {
        let inner = self.model.scope_opened_by(node).unwrap_or(scope);
        if let Some(parameters) = node.child_by_field_id(FIELD.parameters) {
            let mut cursor = parameters.walk();
            for parameter in parameters.named_children(&mut cursor) {
                // Annotations may never be evaluated (`from __future__ import
                // annotations`): not a place for `await`.
                if let Some(annotation) = parameter.child_by_field_id(FIELD.r#type) {
                    push(&mut self.stack, annotation, scope, Mode::Sync);
                }
                if let Some(default) = parameter.child_by_field_id(FIELD.value) {
                    push(&mut self.stack, default, scope, mode);
                }
            }
        }
        if let Some(returns) = node.child_by_field_id(FIELD.return_type) {
            push(&mut self.stack, returns, scope, Mode::Sync);
        }
        let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
        let body_mode = if is_async && !wrapped { Mode::Async } else { Mode::Sync };
        if body_mode == Mode::Async && node.kind() == "function_definition" {
            let sites = sqlalchemy::check_function(node, self.evaluator, &self.sqlalchemy.rules);
            self.sites.extend(sites.into_iter().map(|site| Found { site, scope: inner, mode: body_mode, kept: false }));
        }
        if let Some(body) = node.child_by_field_id(FIELD.body) {
            push(&mut self.stack, body, inner, body_mode);
        }
    }

    /// The diagnostics of every site found, sorted, one per range.
    fn diagnostics(mut self) -> Vec<Diagnostic> {
        self.widen_callees();
        let default_wrapper = if self.model.imports_channels {
            Wrapper::new("channels.db", "database_sync_to_async")
        } else {
            Wrapper::new("asgiref.sync", "sync_to_async")
        };
        let settings = self.settings;
        let reload = ReloadContext { model: self.model, importer: self.importer, locator: self.locator };
        let context = FixContext {
            settings,
            importer: self.importer,
            default_wrapper: &default_wrapper,
            source: self.model.source,
            model: self.model,
            reload: &reload,
            sqlalchemy_style: self.sqlalchemy.style,
        };
        let mut diagnostics: Vec<Diagnostic> = self
            .sites
            .iter()
            .map(|found| {
                let mut diagnostic = diagnose(&found.site, found.scope, found.mode, &context);
                if found.kept {
                    diagnostic.fix = None;
                    diagnostic.no_fix = Some(NoFix::TestedAndKept);
                }
                diagnostic
            })
            .collect();
        diagnostics.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.rule));
        diagnostics.dedup_by_key(|diagnostic| diagnostic.range.clone());
        diagnostics
    }

    /// A callee that holds another site must run in the thread too: wrap the
    /// whole call in a lambda. So do arguments that hold one, where the call
    /// can move into a lambda: one thread hop for
    /// `service.checkout(Book.objects.get(pk=pk))`, not two.
    fn widen_callees(&mut self) {
        // A `SQLAlchemy` read is loaded before its statement, not wrapped.
        let mut ranges: Vec<Range<usize>> = self
            .sites
            .iter()
            .filter(|found| matches!(found.site.style, Style::Wrap(_)))
            .map(|found| found.site.node.byte_range())
            .collect();
        ranges.sort_by_key(|range| range.start);
        for found in &mut self.sites {
            let site = &mut found.site;
            if let Style::Wrap(WrapStyle::Callee) = site.style {
                let callee = site.node.child_by_field_id(FIELD.function).map_or(0..0, |callee| callee.byte_range());
                let holds_site = |within: &Range<usize>| {
                    let first = ranges.partition_point(|range| range.start < within.start);
                    ranges[first..]
                        .iter()
                        .take_while(|range| range.start < within.end)
                        .any(|range| range.end <= within.end && range != within)
                };
                let arguments =
                    site.node.child_by_field_id(FIELD.arguments).map_or(0..0, |arguments| arguments.byte_range());
                let movable = || {
                    !["await", "yield", "named_expression", "lambda"].iter().any(|kind| contains_kind(site.node, kind))
                        && !self.model.source[site.node.byte_range()].contains("super(")
                };
                if holds_site(&callee) || (holds_site(&arguments) && movable()) {
                    site.style = Style::Wrap(WrapStyle::Lambda);
                }
            }
        }
    }
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
