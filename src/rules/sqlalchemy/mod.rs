//! SA001 `sqlalchemy-lazy-load-in-async` and SA002
//! `sqlalchemy-expired-attribute-in-async`: `MissingGreenlet` in `SQLAlchemy`
//! asyncio code.
//!
//! Unlike the call-site rules this one follows one `async def` statement by
//! statement: which names hold objects loaded through an `AsyncSession`,
//! with which relationships eager-loaded, and whether a `commit()` or
//! `rollback()` expired them since. A read of a lazy relationship that is not
//! loaded (SA001), or of any attribute of an expired object (SA002), would
//! make `SQLAlchemy` run a query without `await`.
//!
//! Each site carries a [`Reload`] plan, shared by the reads of one object,
//! that `fix/reload.rs` turns into statements in the style `--sqlalchemy-fix`
//! or the recipe chooses: an explicit query (`explicit`, the seed's own fix),
//! `.options(selectinload(...))` on the query that loaded the object
//! (`selectinload`), or `await session.refresh(obj, ...)` (`refresh`).

mod walker;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use tree_sitter::Node;

use super::Site;
use crate::fix::NoFix;
use crate::fix::reload::{Loader, Related, Reload, Reloaded, Shape};
use crate::infer::Evaluator;
use crate::infer::facts::{Direction, LoadedShape, Loads, ProjectFacts};
use crate::parse::{FIELD, last_named_child};
use crate::recipe::RuleId;
use crate::semantic::{Binding, MethodKind, ScopeId, SemanticModel};
use walker::Walker;

/// Sessions are recognised by the end of their class's name (any import of
/// `AsyncSession`); the byte scans keep the modules that spell it.
pub const ASYNC_SESSION: &str = "AsyncSession";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Created here and not yet added to a session: nothing to load.
    Transient,
    /// Added, not flushed: reading a relationship loads nothing.
    Pending,
    Persistent,
    /// Expired by the commit or rollback statement at this offset.
    Expired {
        commit: usize,
    },
    /// Marked for deletion: once flushed it is not persistent, and a refresh
    /// raises; its reads are another error than the rules'.
    Deleted,
}

#[derive(Debug, Clone)]
pub(super) struct Tracked<'t> {
    pub(super) model: String,
    pub(super) session: String,
    pub(super) eager: HashSet<String>,
    /// What the query that loaded the object eager-loaded: a full
    /// `refresh(obj)` loads these again, with the same loaders, and expires
    /// the rest.
    pub(super) queried: HashSet<String>,
    pub(super) state: State,
    /// The query that loaded the object, where a loader option goes.
    pub(super) loader: Option<Loader<'t>>,
    /// Parameters of the function whose loader options its query applied.
    pub(super) options_from: Vec<String>,
    /// Made in this function (`Team(...)`), not loaded: its many-to-one
    /// relationships are what the code set (or `None` with their key), read
    /// without a query.
    pub(super) created: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) expire_on_commit: bool,
    /// The session is closed past this offset (the end of its `async with`).
    pub(super) open_until: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadKind {
    LazyRelationship,
    Expired,
}

pub(super) struct Read<'t> {
    pub(super) kind: ReadKind,
    pub(super) object: String,
    pub(super) attribute: String,
    pub(super) node: Node<'t>,
    pub(super) statement: Node<'t>,
    pub(super) tracked: Tracked<'t>,
    /// The commit statement that expired the object.
    pub(super) commit: Option<Node<'t>>,
    pub(super) session_open: bool,
    /// For relationships declared `raise` or `write_only`: report only.
    pub(super) blocked: Option<NoFix>,
}

/// Reads that share one fix: the object, the attribute (empty for expired reads) and the kind.
pub(super) type GroupKey = (String, String, ReadKind);

pub struct Rules {
    pub lazy_load: Option<RuleId>,
    pub expired: Option<RuleId>,
}

/// Every SA001 and SA002 site in one `async def`.
pub fn check_function<'t>(function: Node<'t>, evaluator: &Evaluator<'_, 't>, rules: &Rules) -> Vec<Site<'t>> {
    let Some(index) = evaluator.index else { return Vec::new() };
    if (rules.lazy_load.is_none() && rules.expired.is_none()) || !index.maps_sqlalchemy() {
        return Vec::new();
    }
    let Some(scope) = evaluator.model.scope_opened_by(function) else { return Vec::new() };
    let mut walker = Walker {
        evaluator,
        facts: walker::Facts::Project(index),
        scope,
        sessions: HashMap::new(),
        held: HashMap::new(),
        commits: HashMap::new(),
        returns: Vec::new(),
        yields: Vec::new(),
        used_as_session: std::cell::RefCell::default(),
        with_aliases: HashMap::new(),
        sessions_expire: std::cell::OnceCell::new(),
        depth: std::cell::Cell::new(0),
        reads: Vec::new(),
    };
    if let Some(body) = function.child_by_field_id(FIELD.body) {
        walker.block(body);
    }
    let reads = std::mem::take(&mut walker.reads);
    let mut sites = Vec::new();
    // Reads of one relationship on one object share one fix.
    let mut groups: Vec<(GroupKey, Vec<&Read<'t>>)> = Vec::new();
    for read in &reads {
        let attribute = if read.kind == ReadKind::Expired { String::new() } else { read.attribute.clone() };
        let key = (read.object.clone(), attribute, read.kind);
        match groups.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, members)) => members.push(read),
            None => groups.push((key, vec![read])),
        }
    }
    for (_, members) in groups {
        let first = members[0];
        let Some(rule) = (match first.kind {
            ReadKind::LazyRelationship => rules.lazy_load,
            ReadKind::Expired => rules.expired,
        }) else {
            continue;
        };
        let plan = Rc::new(reload_plan(function, scope, &members, index, evaluator.model));
        for read in members {
            let via = match read.kind {
                ReadKind::LazyRelationship => read.object.clone(),
                ReadKind::Expired => {
                    read.commit.map_or("commit()", |commit| evaluator.model.text(commit).trim()).to_owned()
                }
            };
            sites.push(
                Site::new(rule, read.node, read.attribute.clone(), evaluator)
                    .callee(evaluator.model.text(read.node))
                    .via(via)
                    .reload(Rc::clone(&plan)),
            );
        }
    }
    sites
}

/// What the reads of one group need loaded, for `fix/reload.rs`.
fn reload_plan<'t>(
    function: Node<'t>,
    scope: ScopeId,
    reads: &[&Read<'t>],
    index: &dyn ProjectFacts,
    model: &SemanticModel<'t>,
) -> Reload<'t> {
    let first = reads[0];
    let what = match first.kind {
        ReadKind::Expired => Reloaded::Expired,
        ReadKind::LazyRelationship => Reloaded::Relationship {
            attribute: first.attribute.clone(),
            class: first.tracked.model.clone(),
            loader: first.tracked.loader.clone().map(Box::new),
            related: index.sqlalchemy_relationship(&first.tracked.model, &first.attribute).map(|relationship| {
                Related {
                    target: relationship.target,
                    dynamic: relationship.lazy.as_deref() == Some("dynamic"),
                    shape: match relationship.direction {
                        // An ordered or set-valued collection: only SQLAlchemy's own load keeps it.
                        _ if relationship.shaped => Shape::Other,
                        Direction::OneToMany { column, collection } => {
                            Shape::OneToMany { column, collection, key: index.primary_key(&first.tracked.model) }
                        }
                        Direction::ManyToOne { column } => Shape::ManyToOne { column },
                        Direction::ManyToMany | Direction::Complex => Shape::Other,
                    },
                }
            }),
        },
    };
    // A read in a loop is loaded once, before the loop, where that holds for every pass.
    let anchor = match first.kind {
        ReadKind::LazyRelationship => loop_anchor(first, model),
        ReadKind::Expired => None,
    };
    let insertion = insertion_hazard(reads, anchor).or_else(|| {
        // Loaded where it is read, in a loop that holds the same object on
        // every pass: a load there would run again on each pass, where the
        // lazy load ran once.
        let in_loop = first.kind == ReadKind::LazyRelationship
            && anchor.is_none()
            && innermost_loop(first.statement, function).is_some_and(|lp| !rebinds(lp, &first.object, model));
        in_loop.then_some(NoFix::QueryInLoop)
    });
    let explicit = match first.kind {
        // A query in place of the relationship would be read once, before
        // the loop: the loop's changes to it would land on a plain list.
        ReadKind::LazyRelationship if anchor.is_some() => Some(NoFix::QueryInLoop),
        ReadKind::LazyRelationship => explicit_hazard(function, reads, model),
        ReadKind::Expired => None,
    };
    Reload {
        function,
        scope,
        insertion,
        explicit,
        session: first.tracked.session.clone(),
        object: first.object.clone(),
        statement: anchor.unwrap_or(first.statement),
        reads: reads.iter().map(|read| read.node).collect(),
        commit: first.commit,
        session_open: first.session_open,
        blocked: first.blocked.clone(),
        what,
    }
}

/// The outermost loop to load before, when the first read is in a `while`
/// condition or directly in a loop body (not under an `if` or `try` of its
/// own): one load before the loop covers every pass, where the loop neither
/// rebinds the object nor commits, rolls back, expires or closes anything.
/// Nothing before the read on the first pass may touch the session. A
/// `for` loop over nothing runs the load where the read would not run; it
/// loads what the loop would have read, and nothing else changes.
fn loop_anchor<'t>(first: &Read<'t>, model: &SemanticModel<'t>) -> Option<Node<'t>> {
    let mut current = first.statement;
    let mut anchor = (current.kind() == "while_statement").then_some(current);
    while let Some(block) = current.parent().filter(|parent| parent.kind() == "block")
        && let Some(parent) = block.parent()
        && matches!(parent.kind(), "for_statement" | "while_statement")
        && parent.child_by_field_id(FIELD.body).is_some_and(|body| body.id() == block.id())
    {
        current = parent;
        anchor = Some(parent);
    }
    let anchor = anchor?;
    // Calls by name, whatever the receiver (a helper may hold the same
    // session); words in strings and comments do not count.
    let ends_loaded_state = |method: &str| {
        matches!(method, "commit" | "rollback" | "close" | "invalidate")
            || method.starts_with("expire")
            || method.starts_with("expunge")
    };
    // What runs before the read on the first pass must not change what the
    // load would find (an added row the lazy load would flush first).
    let writes = |method: &str| matches!(method, "add" | "add_all" | "delete" | "merge" | "flush" | "execute");
    let read_at = first.node.start_byte();
    let mut stack = vec![anchor];
    while let Some(node) = stack.pop() {
        let before = node.start_byte() < read_at;
        if node.kind() == "await" && before {
            return None;
        }
        if node.kind() == "call"
            && let Some(method) = node
                .child_by_field_id(FIELD.function)
                .filter(|callee| callee.kind() == "attribute")
                .and_then(|callee| callee.child_by_field_id(FIELD.attribute))
                .map(|name| model.text(name))
            && (ends_loaded_state(method) || (before && writes(method)))
        {
            return None;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    (!rebinds(anchor, &first.object, model)).then_some(anchor)
}

/// The innermost `for` or `while` loop that runs `statement` on each pass
/// (its body, or its own `while` condition), inside `function`.
fn innermost_loop<'t>(statement: Node<'t>, function: Node<'t>) -> Option<Node<'t>> {
    if statement.kind() == "while_statement" {
        return Some(statement);
    }
    let mut node = statement.parent();
    while let Some(current) = node.filter(|current| current.id() != function.id()) {
        if matches!(current.kind(), "function_definition" | "lambda" | "class_definition") {
            return None;
        }
        if matches!(current.kind(), "for_statement" | "while_statement") {
            return Some(current);
        }
        node = current.parent();
    }
    None
}

/// Whether `object` (a name, or a dotted path) is bound anew inside `node`:
/// assigned, a loop or `with` target, a walrus, deleted.
fn rebinds(node: Node<'_>, object: &str, model: &SemanticModel<'_>) -> bool {
    let root = object.split('.').next().unwrap_or(object);
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        let target = match current.kind() {
            "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                current.child_by_field_id(FIELD.left)
            }
            "named_expression" => current.child_by_field_id(FIELD.name),
            "as_pattern" => last_named_child(current),
            "delete_statement" => Some(current),
            _ => None,
        };
        if let Some(target) = target {
            let text = model.text(target);
            let bound = text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).any(|part| {
                part == root || part == object || part.strip_prefix(object).is_some_and(|rest| rest.starts_with('.'))
            });
            if bound {
                return true;
            }
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

/// Why statements inserted before the first read's statement (or `anchor`,
/// the loop holding it) would not load what every read needs, or would run
/// where the reads do not.
fn insertion_hazard<'t>(reads: &[&Read<'t>], anchor: Option<Node<'t>>) -> Option<NoFix> {
    let first = anchor.unwrap_or(reads[0].statement);
    match first.kind() {
        "elif_clause" => return Some(NoFix::ReadInElifCondition),
        "while_statement" if anchor.is_none() => return Some(NoFix::ReadInLoopCondition),
        _ => {}
    }
    // A load before the statement is as safe as its first unguarded read:
    // `author.posts[-1] if author.posts else None` alone is not.
    let statement = reads[0].statement;
    if reads.iter().filter(|read| read.statement.id() == statement.id()).all(|read| is_guarded(read.node, statement)) {
        return Some(NoFix::GuardedRead);
    }
    // Every read in the first read's statement, or in one after it in the same block.
    let block = first.parent()?;
    let covered = reads.iter().all(|read| {
        let mut node = Some(read.statement);
        while let Some(current) = node {
            if current.parent().is_some_and(|parent| parent.id() == block.id()) {
                return current.start_byte() >= first.start_byte();
            }
            node = current.parent();
        }
        false
    });
    (!covered).then_some(NoFix::ReadsInSeveralBranches)
}

/// Whether the read runs only under a condition inside its statement: the
/// right operand of `and`/`or`, a branch of a conditional expression, the
/// body of a comprehension.
fn is_guarded(read: Node<'_>, statement: Node<'_>) -> bool {
    let mut child = read;
    while let Some(parent) = child.parent() {
        if parent.id() == statement.id() {
            return false;
        }
        let guarded = match parent.kind() {
            "boolean_operator" => parent.child_by_field_id(FIELD.right).is_some_and(|right| right.id() == child.id()),
            // `body if condition else alternative`: only the condition always runs.
            "conditional_expression" => parent.named_child(1).is_none_or(|condition| condition.id() != child.id()),
            // Only the first iterable of a comprehension runs once, before the loop.
            "for_in_clause" => {
                let is_iterable = parent.child_by_field_id(FIELD.right).is_some_and(|right| right.id() == child.id());
                let is_first = parent.prev_named_sibling().is_none_or(|before| before.kind() != "for_in_clause")
                    && parent
                        .parent()
                        .and_then(|comprehension| comprehension.named_child(1))
                        .is_some_and(|clause| clause.id() == parent.id());
                !(is_iterable && is_first)
            }
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                child.kind() != "for_in_clause"
            }
            _ => false,
        };
        if guarded {
            return true;
        }
        child = parent;
    }
    false
}

/// Methods that change a collection in place.
const CHANGING: [&str; 10] =
    ["append", "extend", "insert", "remove", "pop", "clear", "add", "discard", "update", "sort"];

/// Why the explicit query would lose meaning: the function changes the
/// relationship (assigns it, deletes it, or changes the collection in
/// place), and the change would land on a plain list and never be saved.
fn explicit_hazard(function: Node<'_>, reads: &[&Read<'_>], model: &SemanticModel<'_>) -> Option<NoFix> {
    let first = reads[0];
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        let same = node.kind() == "attribute"
            && node.child_by_field_id(FIELD.object).is_some_and(|object| model.text(object) == first.object)
            && node.child_by_field_id(FIELD.attribute).is_some_and(|name| model.text(name) == first.attribute);
        let Some(parent) = node.parent().filter(|_| same) else { continue };
        let changed = match parent.kind() {
            "assignment" | "augmented_assignment" => {
                parent.child_by_field_id(FIELD.left).is_some_and(|left| left.id() == node.id())
            }
            "delete_statement" => true,
            "expression_list" => parent.parent().is_some_and(|grand| grand.kind() == "delete_statement"),
            // `author.posts.append(post)`.
            "attribute" => {
                parent.child_by_field_id(FIELD.attribute).is_some_and(|method| CHANGING.contains(&model.text(method)))
                    && parent.parent().is_some_and(|call| call.kind() == "call")
            }
            _ => false,
        };
        if changed {
            return Some(NoFix::RelationshipChanged);
        }
    }
    // A query in a loop body runs on every pass: the query that loaded the
    // object loads it once for all.
    let mut node = first.statement.parent();
    while let Some(current) = node.filter(|current| current.id() != function.id()) {
        if matches!(current.kind(), "for_statement" | "while_statement") {
            return Some(NoFix::QueryInLoop);
        }
        node = current.parent();
    }
    None
}

/// What a function returns of `SQLAlchemy`'s, for its summary (the index is
/// being built: any class may be mapped, calls stay unresolved).
pub fn function_loads(function: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<Loads> {
    let model = evaluator.model;
    let text = model.text(function);
    if let Some(loads) = returns_argument(function, model) {
        return Some(loads);
    }
    if !(text.contains("return") || text.contains("yield"))
        || !["select", "get(", "scalar", "execute"].iter().any(|word| text.contains(word))
    {
        return None;
    }
    let scope = model.scope_opened_by(function)?;
    let method = model.scope(scope).method.as_ref();
    let mut walker = Walker {
        evaluator,
        facts: walker::Facts::Summary,
        scope,
        sessions: HashMap::new(),
        held: HashMap::new(),
        commits: HashMap::new(),
        reads: Vec::new(),
        returns: Vec::new(),
        yields: Vec::new(),
        used_as_session: std::cell::RefCell::default(),
        with_aliases: HashMap::new(),
        sessions_expire: std::cell::OnceCell::new(),
        depth: std::cell::Cell::new(0),
    };
    walker.block(function.child_by_field_id(FIELD.body)?);
    // A context manager gives what it yields; any other generator, no object.
    let context_manager =
        function.parent().filter(|parent| parent.kind() == "decorated_definition").is_some_and(|decorated| {
            model.text(decorated).split("def ").next().is_some_and(|head| head.contains("contextmanager"))
        });
    let outcomes = match (context_manager, walker.yields.is_empty()) {
        (true, false) => walker.yields,
        (false, true) => walker.returns,
        _ => return None,
    };
    // A return of something not followed (`return self.cached`) says
    // nothing of what the others loaded: the function's summary is what
    // every followed return loaded, so a read the caller makes lazy-loads
    // at least on the paths of those returns.
    let mut returns = outcomes.into_iter().flatten();
    let first = returns.next()?;
    let held = returns.try_fold(first, |joined, next| walker::join_held(&joined, &next))?;
    let mut loads = walker::loads_of(held)?;
    // `select(cls)` in a class method: the class it is called on.
    if let Some(method) = method
        && method.kind == MethodKind::Class
        && loads.model.as_deref() == Some(method.class.as_str())
    {
        loads.model = None;
    }
    let (parameters, keywords) = parameters_of(function, model);
    loads.options_from.retain(|(name, _)| parameters.contains(name));
    for (name, position) in &mut loads.options_from {
        *position = parameters.iter().position(|parameter| parameter == name).unwrap_or(usize::MAX);
    }
    loads.parameters = parameters;
    loads.keywords = keywords;
    loads.yielded = context_manager;
    Some(loads)
}

/// A function's parameters in order (`self` and `cls` left out), and those
/// a call may pass by keyword.
fn parameters_of(function: Node<'_>, model: &SemanticModel<'_>) -> (Vec<String>, Vec<String>) {
    let method = model.scope_opened_by(function).and_then(|scope| model.scope(scope).method.as_ref());
    let mut parameters = Vec::new();
    let mut keywords = Vec::new();
    if let Some(list) = function.child_by_field_id(FIELD.parameters) {
        let mut cursor = list.walk();
        for parameter in list.named_children(&mut cursor) {
            // Those before a `/` are positional-only.
            if parameter.kind() == "positional_separator" {
                keywords.clear();
            }
            let name = match parameter.kind() {
                "identifier" => Some(parameter),
                _ => parameter.child_by_field_id(FIELD.name).or_else(|| parameter.named_child(0)),
            };
            if let Some(name) = name.filter(|name| name.kind() == "identifier") {
                parameters.push(model.text(name).to_owned());
                if !matches!(parameter.kind(), "list_splat_pattern" | "dictionary_splat_pattern") {
                    keywords.push(model.text(name).to_owned());
                }
            }
        }
    }
    if method
        .is_some_and(|method| matches!(method.kind, MethodKind::Instance | MethodKind::Class | MethodKind::Property))
    {
        parameters.drain(..parameters.len().min(1));
    }
    (parameters, keywords)
}

/// A helper whose every `return` gives back one parameter it never
/// rebinds (`def get_or_error(v): if v is None: raise ...; return v`).
fn returns_argument(function: Node<'_>, model: &SemanticModel<'_>) -> Option<Loads> {
    let body = function.child_by_field_id(FIELD.body)?;
    // Cheap first: it ends by returning a name.
    let last = last_named_child(body)?;
    if last.kind() != "return_statement" || last.named_child(0).is_none_or(|value| value.kind() != "identifier") {
        return None;
    }
    let mut returned: Option<&str> = None;
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "function_definition" | "lambda" | "class_definition" => continue,
            "yield" => return None,
            "return_statement" => {
                let value = node.named_child(0).filter(|value| value.kind() == "identifier")?;
                let name = model.text(value);
                if returned.is_some_and(|first| first != name) {
                    return None;
                }
                returned = Some(name);
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    let name = returned?;
    let scope = model.scope_opened_by(function)?;
    // Bound only as the parameter: never reassigned in the body.
    match model.lookup(name, scope) {
        Some((found, [Binding::Parameter { .. }])) if found == scope => {}
        _ => return None,
    }
    let (parameters, keywords) = parameters_of(function, model);
    // `*items` gives a tuple of the arguments, not one of them.
    let splat = function.child_by_field_id(FIELD.parameters).is_some_and(|list| {
        let mut cursor = list.walk();
        list.named_children(&mut cursor).any(|parameter| {
            matches!(parameter.kind(), "list_splat_pattern" | "dictionary_splat_pattern")
                && parameter.named_child(0).is_some_and(|splatted| model.text(splatted) == name)
        })
    });
    let position = parameters.iter().position(|parameter| parameter == name).filter(|_| !splat)?;
    Some(Loads {
        model: None,
        shape: LoadedShape::One,
        eager: Vec::new(),
        options_from: Vec::new(),
        forwards: None,
        parameters,
        keywords,
        returns_argument: Some(position),
        yielded: false,
    })
}
