//! The per-file pipeline: find the sites in one source text, and fix them to
//! a fixed point. Pure functions of the text and the shared [`Context`].

use std::ops::Range;

use tree_sitter::{Node, Tree};

use crate::fix::apply::{apply_fixes, map_offset};
use crate::fix::importer::Importer;
use crate::fix::rewrite::{self, WrapStyle};
use crate::fix::{Applicability, Fix};
use crate::index::ProjectIndex;
use crate::infer::{Certainty, Evaluator};
use crate::parse;
use crate::parse::FIELD;
use crate::recipe::{Rewrite, RuleId, RuleSet, Wrapper};
use crate::rules::implicit_evaluation::Use;
use crate::rules::sqlalchemy::{self, FixStyle, SqlAlchemySite};
use crate::rules::{self, Site, contains_kind};
use crate::scan::may_have_sites;
use crate::semantic::{ModuleName, ScopeId, SemanticModel};
use crate::source::Locator;

/// What every file is checked against: built once, shared read-only.
pub struct Context {
    pub rules: RuleSet,
    /// Per rule: reported or not (`--select`, `--ignore`).
    pub enabled: Vec<bool>,
    pub unsafe_fixes: bool,
    /// How `SQLAlchemy` lazy loads are rewritten.
    pub sqlalchemy_fix: FixStyle,
    /// Parse whole files, not their skimmed text ([`crate::skim`]): slower,
    /// and the findings must be the same.
    pub full_parse: bool,
}

impl Context {
    pub fn allows(&self, fix: &Fix) -> bool {
        fix.applicability == Applicability::Safe || self.unsafe_fixes
    }
}

/// What the run knows about one file: its module name and its project's index.
#[derive(Clone, Copy)]
pub struct FileInfo<'a> {
    pub module: &'a ModuleName,
    pub index: Option<&'a ProjectIndex>,
}

/// One site found in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: RuleId,
    pub range: Range<usize>,
    pub message: String,
    pub fix: Option<Fix>,
    /// Why there is no fix, when there is none.
    pub no_fix: Option<String>,
}

/// Where `await` may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
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
pub fn check_tree<'t>(text: &'t str, tree: &'t Tree, file: FileInfo<'_>, context: &Context) -> Vec<Diagnostic> {
    check_model(&SemanticModel::build(text, tree, file.module.clone()), file, context)
}

/// [`check_tree`] with the file's semantic model already built.
pub fn check_model(model: &SemanticModel<'_>, file: FileInfo<'_>, context: &Context) -> Vec<Diagnostic> {
    let (text, tree) = (model.source, model.tree);
    let facts = file.index.map(|index| index as &dyn crate::infer::facts::ProjectFacts);
    let evaluator = Evaluator::new(model, &context.rules, facts);
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
    let sqlalchemy_rules = sqlalchemy::Rules {
        lazy_load: context.rules.sqlalchemy_lazy_load.filter(|rule| context.enabled[rule.0]),
        expired: context.rules.sqlalchemy_expired.filter(|rule| context.enabled[rule.0]),
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
                (_, Role::Iterated) => rules::implicit_evaluation::check_use(node, Use::Iterated, scope, &evaluator),
                (_, Role::Tested | Role::TestedAndKept) => {
                    rules::implicit_evaluation::check_use(node, Use::Tested, scope, &evaluator)
                }
                ("call", _) => rules::check_call(node, scope, &evaluator),
                ("attribute", Role::Plain) => rules::check_attribute(node, scope, &evaluator),
                ("subscript", Role::Plain) => rules::implicit_evaluation::check_subscript(node, scope, &evaluator),
                _ => None,
            };
            // An iterated or tested node can also be a call or attribute site of its own.
            let site = site.or_else(|| match (node.kind(), role) {
                ("call", Role::Iterated | Role::Tested | Role::TestedAndKept) => {
                    rules::check_call(node, scope, &evaluator)
                }
                ("attribute", Role::Iterated | Role::Tested | Role::TestedAndKept) => {
                    rules::check_attribute(node, scope, &evaluator)
                }
                _ => None,
            });
            if let Some(site) = site.filter(|site| context.enabled[site.rule.0]) {
                // Only the truth test is lost by a fix; a call site of its own wraps fine.
                let kept = role == Role::TestedAndKept && Some(site.rule) == context.rules.implicit_evaluation;
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
                        context.sqlalchemy_fix,
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
            let mut diagnostic = diagnose(site, *scope, *mode, context, &importer, &default_wrapper);
            if *kept {
                diagnostic.fix = None;
                diagnostic.no_fix = Some(TESTED_AND_KEPT.to_owned());
            }
            diagnostic
        })
        .collect();
    diagnostics.extend(sqlalchemy_sites.into_iter().map(|site| {
        let (fix, no_fix) = match site.fix {
            Ok(fix) => (Some(fix), None),
            Err(reason) => (None, Some(reason)),
        };
        Diagnostic { rule: site.rule, range: site.node.byte_range(), message: site.message, fix, no_fix }
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

fn diagnose(
    site: &Site<'_>,
    scope: ScopeId,
    mode: Mode,
    context: &Context,
    importer: &Importer<'_, '_>,
    default_wrapper: &Wrapper,
) -> Diagnostic {
    let rule = context.rules.rule(site.rule);
    let wrapper = rule.wrapper.as_ref().unwrap_or(default_wrapper);
    let message = rule.render_message(&site.callee, &site.method, &wrapper.name, &site.via);
    let mut diagnostic =
        Diagnostic { rule: site.rule, range: site.node.byte_range(), message, fix: None, no_fix: None };
    match build_fix(site, scope, mode, rule.rewrite, importer, wrapper) {
        Ok(mut fix) => {
            let certain = site.certainty == Certainty::Certain;
            if !certain || rule.applicability == Applicability::Unsafe {
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

fn build_fix(
    site: &Site<'_>,
    scope: ScopeId,
    mode: Mode,
    rewrite: Rewrite,
    importer: &Importer<'_, '_>,
    wrapper: &Wrapper,
) -> Result<Fix, String> {
    let mut style = match rewrite {
        Rewrite::None => return Err("the recipe reports this site without a fix".to_owned()),
        Rewrite::Lambda => WrapStyle::Lambda,
        Rewrite::Wrap => site.style,
    };
    if mode == Mode::AsyncNoAwait {
        return Err("inside a generator expression, `await` would make it an async generator".to_owned());
    }
    let holds_async = ["await", "yield", "named_expression"].iter().any(|kind| contains_kind(site.node, kind))
        || holds_async_comprehension(site.node);
    if style == WrapStyle::Lambda && holds_async {
        if site.callee_fallback {
            style = WrapStyle::Callee;
        } else {
            return Err(
                "the expression holds `await`, `yield`, `:=` or an async comprehension, which cannot move into a lambda"
                    .to_owned(),
            );
        }
    }
    let plan = importer.import(wrapper, scope)?;
    let (edits, span) = rewrite::wrap(site.node, style, &plan.expression).ok_or("the call has no callee to wrap")?;
    Ok(Fix { edits, shared: plan.edit.into_iter().collect(), span, applicability: Applicability::Safe })
}

/// The result of fixing one text.
pub struct FixOutcome {
    pub text: String,
    /// Sites fixed, over all rounds.
    pub fixed: usize,
    /// Sites left in the final text, each with why it was not fixed.
    pub remaining: Vec<Diagnostic>,
    /// False when the rounds did not settle.
    pub settled: bool,
    /// Each round's edits, to map offsets in `text` back to the original.
    pub rounds: Vec<Vec<(Range<usize>, usize)>>,
}

impl FixOutcome {
    /// Where an offset in the fixed text was in the original.
    pub fn original_offset(&self, offset: usize) -> usize {
        self.rounds.iter().rev().fold(offset, |offset, edits| crate::fix::apply::map_back(offset, edits))
    }
}

/// Rounds before giving up: nested sites need one round per level.
const MAX_ROUNDS: usize = 10;

/// Applies fixes until none is left, re-parsing after each round and never
/// keeping a round's output that does not parse. `tree` is `original` parsed.
pub fn fix_text(original: &str, tree: Tree, file: FileInfo<'_>, context: &Context) -> FixOutcome {
    let mut text = original.to_owned();
    // The tree of `text`: the round that checks a text has parsed it already.
    let mut current = Some(tree);
    let mut fixed = 0;
    // Sites whose fix broke the syntax, by (offset in `text`, rule).
    let mut rejected: Vec<(usize, RuleId)> = Vec::new();
    let mut rounds = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let Some(tree) = current.take().or_else(|| parse::parse(&text)) else { break };
        let mut diagnostics = check_tree(&text, &tree, file, context);
        for diagnostic in &mut diagnostics {
            if rejected.contains(&(diagnostic.range.start, diagnostic.rule)) {
                diagnostic.fix = None;
                diagnostic.no_fix = Some("the rewritten code would not parse".to_owned());
            }
        }
        let candidates: Vec<&Fix> = diagnostics
            .iter()
            .filter_map(|diagnostic| diagnostic.fix.as_ref())
            .filter(|fix| context.allows(fix))
            .collect();
        if candidates.is_empty() {
            return FixOutcome { text, fixed, remaining: diagnostics, settled: true, rounds };
        }
        let mut round = apply_fixes(&text, &candidates);
        if let Some(tree) = parse_clean(&round.text) {
            current = Some(tree);
            let applied: Vec<&Fix> = round.applied.iter().map(|&i| candidates[i]).collect();
            rejected = rejected.into_iter().map(|(offset, rule)| (map_offset(offset, &applied), rule)).collect();
            fixed += applied.len();
        } else {
            // Find the fixes that break the syntax, one at a time.
            let mut accepted: Vec<&Fix> = Vec::new();
            for fix in &candidates {
                accepted.push(fix);
                if !parses(&apply_fixes(&text, &accepted).text) {
                    accepted.pop();
                    rejected.push((fix.span.start, rule_of(&diagnostics, fix)));
                }
            }
            round = apply_fixes(&text, &accepted);
            let applied: Vec<&Fix> = round.applied.iter().map(|&i| accepted[i]).collect();
            rejected = rejected.into_iter().map(|(offset, rule)| (map_offset(offset, &applied), rule)).collect();
            fixed += applied.len();
        }
        rounds.push(round.edits);
        text = round.text;
    }
    let remaining = parse::parse(&text).map(|tree| check_tree(&text, &tree, file, context)).unwrap_or_default();
    FixOutcome { text, fixed, remaining, settled: false, rounds }
}

fn parses(text: &str) -> bool {
    parse_clean(text).is_some()
}

fn parse_clean(text: &str) -> Option<Tree> {
    parse::parse(text).filter(|tree| !tree.root_node().has_error())
}

fn rule_of(diagnostics: &[Diagnostic], fix: &Fix) -> RuleId {
    diagnostics
        .iter()
        .find(|diagnostic| diagnostic.fix.as_ref() == Some(fix))
        .map_or(RuleId(0), |diagnostic| diagnostic.rule)
}
