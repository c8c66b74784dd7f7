//! Follows one `async def` statement by statement: the sessions, the
//! statements, results and objects they load, what each query eager-loaded,
//! and what a commit or rollback expired. Branches are walked from the same
//! state and joined after: a relationship counts as loaded only where every
//! path that reaches a read loaded it.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::{Read, ReadKind, Session, State, Tracked};
use crate::fix::NoFix;
use crate::fix::reload::Loader;
use crate::infer::facts::{
    CallTarget, Direction, LoadedShape, Loads, ProjectFacts, SqlAlchemyRelationship, call_target,
};
use crate::infer::{Evaluator, SQLALCHEMY_SESSION_TAG, Value};
use crate::parse::{FIELD, last_named_child};
use crate::recipe::SessionVerb;
use crate::semantic::arguments::{self, Passed};
use crate::semantic::{Binding, ScopeId};

/// What a name holds, as far as the rules follow it.
#[derive(Debug, Clone)]
pub(super) enum Held<'t> {
    Object(Tracked<'t>),
    /// A result, a list, a dict or a relationship's collection: items that
    /// are single objects (`scalars`), or rows of several entities.
    Rows {
        entities: Vec<Option<Tracked<'t>>>,
        scalars: bool,
    },
    /// One row of several entities (`for player, team in result`).
    Row(Vec<Option<Tracked<'t>>>),
    /// A `select(...)` statement, not run yet.
    Statement(Statement<'t>),
    /// While summarising: what a call of another function returns, with the
    /// parameters passed on to it (its keyword or `#position`, and ours).
    Forward(CallTarget, Vec<(String, String)>),
}

/// The entities a statement loads (`None` for a column), each with the
/// relationship paths its options load, and the expression that built it.
#[derive(Debug, Clone)]
pub(super) struct Statement<'t> {
    pub(super) entities: Vec<Option<(String, HashSet<String>)>>,
    pub(super) node: Option<Node<'t>>,
    /// Parameters of the function whose loader options it applies (`.options(*options)`).
    pub(super) options_from: Vec<String>,
}

pub(super) type Flow<'t> = HashMap<String, Held<'t>>;

/// What a `for` target or comprehension binds a name to (`None`: something
/// not followed, which hides any outer binding of the name).
pub(super) struct Bound<'t>(Option<Held<'t>>);

pub(super) struct Walker<'a, 't> {
    pub(super) evaluator: &'a Evaluator<'a, 't>,
    pub(super) facts: Facts<'a>,
    /// The scope of the function walked.
    pub(super) scope: ScopeId,
    /// Sessions this function opened, by name.
    pub(super) sessions: HashMap<String, Session>,
    pub(super) held: Flow<'t>,
    /// Commit statements by their start offset.
    pub(super) commits: HashMap<usize, Node<'t>>,
    pub(super) reads: Vec<Read<'t>>,
    /// Names recognised as sessions by what they are awaited on.
    pub(super) used_as_session: RefCell<HashSet<String>>,
    /// `async with ... as name:` in this function: where each block ends.
    pub(super) with_aliases: HashMap<String, usize>,
    /// What each `return` gives, in order.
    pub(super) returns: Vec<Option<Held<'t>>>,
    /// What each `yield` statement gives, in order.
    pub(super) yields: Vec<Option<Held<'t>>>,
    /// [`Walker::unknown_sessions_expire`], once asked.
    pub(super) sessions_expire: OnceCell<bool>,
    /// How deep [`Walker::value_of`] and [`Walker::loader_link`] are.
    pub(super) depth: Cell<usize>,
}

/// The deepest expression followed.
const MAX_DEPTH: usize = 64;

/// What the walker knows of the project: the index while checking; while
/// the index is built (summarising what a function returns), nothing, and
/// any class may be a mapped one.
#[derive(Clone, Copy)]
pub(super) enum Facts<'a> {
    Project(&'a dyn ProjectFacts),
    Summary,
}

impl Facts<'_> {
    pub(super) fn is_sqlalchemy_model(self, class: &str) -> bool {
        match self {
            Facts::Project(index) => index.is_sqlalchemy_model(class),
            Facts::Summary => crate::infer::looks_like_class(class),
        }
    }

    fn sqlalchemy_relationship(self, class: &str, attribute: &str) -> Option<SqlAlchemyRelationship> {
        match self {
            Facts::Project(index) => index.sqlalchemy_relationship(class, attribute),
            Facts::Summary => None,
        }
    }

    fn sqlalchemy_relationships(self, class: &str) -> Vec<(String, SqlAlchemyRelationship)> {
        match self {
            Facts::Project(index) => index.sqlalchemy_relationships(class),
            Facts::Summary => Vec::new(),
        }
    }

    fn sessions_never_expire(self) -> bool {
        match self {
            Facts::Project(index) => index.sessions_never_expire(),
            Facts::Summary => false,
        }
    }

    fn session_factory(self, name: &str) -> Option<bool> {
        match self {
            Facts::Project(index) => index.session_factory(name),
            Facts::Summary => None,
        }
    }

    fn same_class(self, first: &str, second: &str) -> bool {
        match self {
            Facts::Project(index) => index.same_class(first, second),
            Facts::Summary => first == second,
        }
    }
}

/// Builtins that keep the items of what they are given.
const SAME_ITEMS: [&str; 5] = ["list", "tuple", "sorted", "set", "reversed"];
/// Result methods that return the same rows in another form.
const SAME_ROWS: [&str; 7] = ["unique", "tuples", "all", "fetchall", "fetchmany", "values", "copy"];
/// Options on a link's columns, which keep the chain's path.
const COLUMN_OPTIONS: [&str; 6] = ["load_only", "defer", "undefer", "undefer_group", "with_expression", "options"];
/// Loader options that only lead the path to the next link.
const PATH_ONLY_LOADERS: [&str; 2] = ["defaultload", "Load"];

impl<'t> Walker<'_, 't> {
    pub(super) fn text(&self, node: Node<'t>) -> &'t str {
        self.evaluator.model.text(node)
    }

    /// The session an expression names: one this function opened, or any
    /// value the evaluator knows is an `AsyncSession` (a parameter however
    /// annotated, `self.session`, a session captured from the enclosing
    /// function).
    pub(super) fn session(&self, object: Node<'t>) -> Option<Session> {
        if let Some(session) = self.session_named(self.text(object)) {
            return Some(session);
        }
        if !matches!(object.kind(), "identifier" | "attribute") {
            return None;
        }
        let expire_on_commit = self.session_value(&self.evaluator.eval(object, self.scope))?;
        Some(Session { expire_on_commit, open_until: usize::MAX })
    }

    /// Whether a session whose origin is not known expires objects on
    /// commit: unless every session the project makes says otherwise. Asked
    /// of the index once per function (it looks at every module).
    fn unknown_sessions_expire(&self) -> bool {
        *self.sessions_expire.get_or_init(|| !self.facts.sessions_never_expire())
    }

    /// A session this function opened or recognised by its use, by name.
    fn session_named(&self, text: &str) -> Option<Session> {
        if let Some(session) = self.sessions.get(text) {
            return Some(session.clone());
        }
        self.used_as_session.borrow().contains(text).then(|| {
            let open_until = self.with_aliases.get(text).copied().unwrap_or(usize::MAX);
            Session { expire_on_commit: self.unknown_sessions_expire(), open_until }
        })
    }

    /// Whether a value is an `AsyncSession`, and if so whether it expires
    /// objects on commit. Where it came from is not known: it expires unless
    /// every session the project makes says otherwise.
    pub(super) fn session_value(&self, value: &Value) -> Option<bool> {
        let is_session = match value {
            Value::Tagged { tag, .. } => self.evaluator.rules.tags[tag.0] == SQLALCHEMY_SESSION_TAG,
            Value::Instance { class, .. } => class.ends_with(super::ASYNC_SESSION),
            _ => false,
        };
        is_session.then(|| self.unknown_sessions_expire())
    }

    pub(super) fn block(&mut self, block: Node<'t>) {
        let mut cursor = block.walk();
        let statements: Vec<Node<'t>> = block.named_children(&mut cursor).collect();
        for statement in statements {
            self.statement(statement);
        }
    }

    pub(super) fn statement(&mut self, statement: Node<'t>) {
        match statement.kind() {
            "function_definition" | "class_definition" | "decorated_definition" => {}
            "if_statement" => self.if_statement(statement),
            "while_statement" => {
                if let Some(condition) = statement.child_by_field_id(FIELD.condition) {
                    self.reads_in(condition, statement);
                }
                self.loop_body(statement);
            }
            "for_statement" => {
                if let Some(iterable) = statement.child_by_field_id(FIELD.right) {
                    self.reads_in(iterable, statement);
                    let item = self.value_of(iterable).and_then(|held| item_of(&held));
                    if let Some(target) = statement.child_by_field_id(FIELD.left) {
                        self.bind(target, item);
                    }
                }
                self.loop_body(statement);
            }
            "with_statement" => {
                let mut cursor = statement.walk();
                for child in statement.named_children(&mut cursor) {
                    if child.kind() == "with_clause" {
                        self.with_clause(child, statement);
                    }
                }
                if let Some(body) = statement.child_by_field_id(FIELD.body) {
                    self.block(body);
                }
            }
            "try_statement" => self.try_statement(statement),
            "delete_statement" => {
                // Only a bare name is unbound: `del team` forgets `team`;
                // `del player.team` and `del cache[team]` unbind nothing.
                let mut stack = vec![statement];
                while let Some(node) = stack.pop() {
                    match node.kind() {
                        "identifier" => {
                            self.held.remove(self.text(node));
                        }
                        "delete_statement" | "expression_list" | "tuple" | "list" | "parenthesized_expression" => {
                            let mut cursor = node.walk();
                            stack.extend(node.named_children(&mut cursor));
                        }
                        _ => {}
                    }
                }
            }
            "block" => self.block(statement),
            "return_statement" => {
                self.reads_in(statement, statement);
                // `return None` (not found) agrees with any other return.
                if let Some(value) = statement.named_child(0).filter(|value| value.kind() != "none") {
                    let held = self.value_of(value);
                    self.returns.push(held);
                }
            }
            // `yield obj` in a context manager: what `async with f() as x` binds.
            "expression_statement"
                if statement.named_child(0).is_some_and(|expression| expression.kind() == "yield") =>
            {
                self.reads_in(statement, statement);
                // `yield None` (not found) agrees with any other yield.
                if let Some(value) = statement
                    .named_child(0)
                    .and_then(|expression| expression.named_child(0))
                    .filter(|value| value.kind() != "none")
                {
                    let held = self.value_of(value);
                    self.yields.push(held);
                }
            }
            _ => {
                self.reads_in(statement, statement);
                self.effects(statement);
            }
        }
    }

    /// Each branch from the state before the `if`; after it, the join of
    /// the branches that do not leave.
    fn if_statement(&mut self, statement: Node<'t>) {
        if let Some(condition) = statement.child_by_field_id(FIELD.condition) {
            self.reads_in(condition, statement);
        }
        let start = self.held.clone();
        let mut ends = Vec::new();
        let mut has_else = false;
        let mut cursor = statement.walk();
        let children: Vec<Node<'t>> = statement.named_children(&mut cursor).collect();
        for child in children {
            let body = match child.kind() {
                "block" => Some(child),
                "elif_clause" => {
                    self.held = start.clone();
                    if let Some(condition) = child.child_by_field_id(FIELD.condition) {
                        self.reads_in(condition, child);
                    }
                    child.child_by_field_id(FIELD.consequence)
                }
                "else_clause" => {
                    has_else = true;
                    child.child_by_field_id(FIELD.body)
                }
                _ => None,
            };
            let Some(body) = body else { continue };
            self.held = start.clone();
            self.block(body);
            if !leaves(body) {
                ends.push(std::mem::take(&mut self.held));
            }
        }
        if !has_else {
            ends.push(start.clone());
        }
        self.held = join(ends).unwrap_or(start);
    }

    /// A loop body runs any number of times: after it, the join of not
    /// running and running it.
    fn loop_body(&mut self, statement: Node<'t>) {
        let start = self.held.clone();
        if let Some(body) = statement.child_by_field_id(FIELD.body) {
            self.block(body);
        }
        let after = std::mem::take(&mut self.held);
        self.held = join(vec![start, after]).unwrap_or_default();
        if let Some(alternative) = statement.child_by_field_id(FIELD.alternative)
            && let Some(body) = alternative.child_by_field_id(FIELD.body)
        {
            self.block(body);
        }
    }

    /// The body, then each handler from the state before the `try` (it may
    /// fail anywhere); after it, the join of the body's end and the handlers
    /// that do not leave.
    fn try_statement(&mut self, statement: Node<'t>) {
        let start = self.held.clone();
        let mut ends = Vec::new();
        let mut finally = None;
        if let Some(body) = statement.child_by_field_id(FIELD.body) {
            self.block(body);
            if !leaves(body) {
                ends.push(self.held.clone());
            }
        }
        let mut cursor = statement.walk();
        let children: Vec<Node<'t>> = statement.named_children(&mut cursor).collect();
        for child in children {
            match child.kind() {
                "except_clause" | "except_group_clause" => {
                    self.held = start.clone();
                    let body = last_block(child);
                    if let Some(body) = body {
                        self.block(body);
                    }
                    if !body.is_some_and(leaves) {
                        ends.push(std::mem::take(&mut self.held));
                    }
                }
                "else_clause" => {
                    // Runs after the body when it raised nothing.
                    if let (Some(after_body), Some(body)) = (ends.first().cloned(), child.child_by_field_id(FIELD.body))
                    {
                        self.held = after_body;
                        self.block(body);
                        ends[0] = std::mem::take(&mut self.held);
                    }
                }
                "finally_clause" => finally = last_block(child),
                _ => {}
            }
        }
        self.held = join(ends).unwrap_or(start);
        if let Some(finally) = finally {
            self.block(finally);
        }
    }

    /// `async with SessionLocal() as session:`.
    pub(super) fn with_clause(&mut self, clause: Node<'t>, statement: Node<'t>) {
        let mut cursor = clause.walk();
        for item in clause.named_children(&mut cursor) {
            let Some(pattern) = item.named_child(0).filter(|node| node.kind() == "as_pattern") else { continue };
            let (Some(value), Some(alias)) = (pattern.named_child(0), pattern.child_by_field_id(FIELD.alias)) else {
                continue;
            };
            let name = self.text(alias).trim().to_owned();
            if let Some(expire_on_commit) = self.session_made_by(value) {
                self.sessions.insert(name, Session { expire_on_commit, open_until: statement.end_byte() });
            } else {
                self.with_aliases.insert(name, statement.end_byte());
                // `async with locked_team(session, key) as team:` a project
                // context manager yielding what its query loaded.
                if let Some(held) = self.value_of(value) {
                    self.held.insert(self.text(alias).trim().to_owned(), held);
                }
            }
        }
    }

    /// `SessionLocal()`, `SessionLocal.begin()` or `AsyncSession(engine, ...)`:
    /// whether it expires on commit.
    pub(super) fn session_made_by(&self, value: Node<'t>) -> Option<bool> {
        if value.kind() != "call" {
            return None;
        }
        let mut callee = value.child_by_field_id(FIELD.function)?;
        // `factory.begin()` opens a session and a transaction.
        if callee.kind() == "attribute"
            && callee.child_by_field_id(FIELD.attribute).is_some_and(|name| self.text(name) == "begin")
            && let Some(object) = callee.child_by_field_id(FIELD.object)
        {
            if let Some(session) = self.session(object) {
                return Some(session.expire_on_commit);
            }
            callee = object;
        }
        let name = match self.evaluator.eval(callee, self.scope) {
            Value::Qualified(name) => name,
            _ => self.evaluator.qualified_name(callee, self.scope)?,
        };
        if name.ends_with(super::ASYNC_SESSION) {
            let arguments: String = self.text(value).chars().filter(|c| !c.is_whitespace()).collect();
            return Some(!arguments.contains("expire_on_commit=False"));
        }
        self.facts.session_factory(&name)
    }

    /// Attribute reads on tracked objects inside one statement, in source order.
    pub(super) fn reads_in(&mut self, node: Node<'t>, statement: Node<'t>) {
        // Nothing loaded yet: nothing to read (and no cost on long functions
        // that load nothing), but in a comprehension over a query
        // (`[team.players for team in await repo.all()]`).
        let nothing_held = self.held.is_empty();
        let mut stack = vec![(node, false)];
        let mut found = Vec::new();
        while let Some((current, in_comprehension)) = stack.pop() {
            let in_comprehension = in_comprehension
                || matches!(
                    current.kind(),
                    "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression"
                );
            match current.kind() {
                "lambda" | "function_definition" | "class_definition" => continue,
                "call" if self.is_run_sync(current) => continue,
                "attribute" if nothing_held && !in_comprehension => {}
                "attribute" => {
                    if let Some(read) = self.read(current, statement) {
                        found.push(read);
                    }
                }
                _ => {}
            }
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor).map(|child| (child, in_comprehension)));
        }
        found.sort_by_key(|read| read.node.start_byte());
        self.reads.extend(found);
    }

    /// `session.run_sync(...)`: the function runs where lazy loads work.
    pub(super) fn is_run_sync(&self, call: Node<'t>) -> bool {
        call.child_by_field_id(FIELD.function)
            .and_then(|callee| callee.child_by_field_id(FIELD.attribute))
            .is_some_and(|attribute| self.text(attribute) == "run_sync")
    }

    pub(super) fn read(&self, attribute: Node<'t>, statement: Node<'t>) -> Option<Read<'t>> {
        let object = attribute.child_by_field_id(FIELD.object)?;
        let parent = attribute.parent()?;
        let is_callee = parent.kind() == "call"
            && parent.child_by_field_id(FIELD.function).is_some_and(|callee| callee.id() == attribute.id());
        let is_target = matches!(parent.kind(), "assignment" | "augmented_assignment")
            && parent.child_by_field_id(FIELD.left).is_some_and(|left| left.id() == attribute.id());
        if is_callee {
            return None;
        }
        let Some(Held::Object(tracked)) = self.value_of(object) else { return None };
        let attribute_name = self.text(attribute.child_by_field_id(FIELD.attribute)?).to_owned();
        let session_open =
            self.session_named(&tracked.session).is_none_or(|session| attribute.start_byte() < session.open_until);
        let commit = match tracked.state {
            State::Expired { commit } => self.commits.get(&commit).copied(),
            _ => None,
        };
        let mut read = Read {
            kind: ReadKind::Expired,
            object: self.text(object).to_owned(),
            attribute: attribute_name.clone(),
            node: attribute,
            statement,
            tracked: tracked.clone(),
            commit,
            session_open,
            blocked: None,
        };
        if let Some(relationship) = self.facts.sqlalchemy_relationship(&tracked.model, &attribute_name) {
            // Assigning a collection loads the old one first (to find what
            // was removed); a many-to-one is replaced unread. `+=` reads.
            let collection =
                matches!(relationship.direction, Direction::OneToMany { collection: true, .. } | Direction::ManyToMany);
            if is_target && parent.kind() == "assignment" && !collection {
                return None;
            }
            let lazy = relationship.lazy.as_deref().unwrap_or("select");
            match lazy {
                "noload" => return None,
                "raise" | "raise_on_sql" | "write_only" => {
                    read.blocked = Some(NoFix::LoadedOnlyExplicitly(lazy.to_owned()));
                }
                _ => {}
            }
            if self.loaded(&tracked, &attribute_name)
                || matches!(tracked.state, State::Transient | State::Pending | State::Deleted)
            {
                return None;
            }
            if tracked.created
                && tracked.state == State::Persistent
                && matches!(relationship.direction, Direction::ManyToOne { .. })
            {
                return None;
            }
            read.kind = ReadKind::LazyRelationship;
            return Some(read);
        }
        (!is_target && matches!(tracked.state, State::Expired { .. })).then_some(read)
    }

    /// Whether a relationship of a tracked object is loaded: by its query's
    /// options, a refresh, the identity map, or its declared strategy, and
    /// not expired since.
    fn loaded(&self, tracked: &Tracked<'t>, attribute: &str) -> bool {
        if matches!(tracked.state, State::Expired { .. }) {
            return false;
        }
        tracked.eager.contains(attribute)
            || self.facts.sqlalchemy_relationship(&tracked.model, attribute).is_some_and(|relationship| {
                self.evaluator.rules.sqlalchemy.eager_strategies.contains(relationship.lazy.as_deref().unwrap_or(""))
            })
    }

    /// What an expression evaluates to, as far as the rules follow it.
    pub(super) fn value_of(&self, node: Node<'t>) -> Option<Held<'t>> {
        self.deeper(|| self.value_at(node))
    }

    /// One level deeper in a recursive walk: deeply nested expressions
    /// (generated code, the fuzzer) end the walk, not the stack.
    fn deeper<T>(&self, step: impl FnOnce() -> Option<T>) -> Option<T> {
        if self.depth.get() > MAX_DEPTH {
            return None;
        }
        self.depth.set(self.depth.get() + 1);
        let value = step();
        self.depth.set(self.depth.get() - 1);
        value
    }

    fn value_at(&self, node: Node<'t>) -> Option<Held<'t>> {
        match node.kind() {
            "identifier" => {
                let name = self.text(node);
                if let Some(Bound(bound)) = self.comprehension_binding(node, name) {
                    return bound;
                }
                self.held.get(name).cloned()
            }
            "parenthesized_expression" | "await" => self.value_of(node.named_child(0)?),
            "attribute" => {
                let Held::Object(tracked) = self.value_of(node.child_by_field_id(FIELD.object)?)? else {
                    return None;
                };
                self.related(&tracked, self.text(node.child_by_field_id(FIELD.attribute)?))
            }
            "subscript" => {
                let index = node.child_by_field_id(FIELD.subscript);
                match self.value_of(node.child_by_field_id(FIELD.value)?)? {
                    Held::Rows { entities, scalars: true } => entities.into_iter().next().flatten().map(Held::Object),
                    // `rows[0]` is a row, `row[0]` its first entity; a slice keeps the rows.
                    Held::Rows { entities, scalars: false } if index.is_some_and(|index| index.kind() == "slice") => {
                        Some(Held::Rows { entities, scalars: false })
                    }
                    Held::Rows { entities, scalars: false } => Some(Held::Row(entities)),
                    Held::Row(entities) => {
                        let position: usize = self.text(index?).parse().ok()?;
                        entities.into_iter().nth(position).flatten().map(Held::Object)
                    }
                    _ => None,
                }
            }
            "call" => self.call_value(node),
            "list_comprehension" | "set_comprehension" | "generator_expression" | "dictionary_comprehension" => {
                // `[team for team in teams]`, `{team.id: team for team in teams}`.
                let body = node.child_by_field_id(FIELD.body)?;
                let item = if body.kind() == "pair" { body.child_by_field_id(FIELD.value)? } else { body };
                match self.value_of(item)? {
                    Held::Object(tracked) => Some(Held::Rows { entities: vec![Some(tracked)], scalars: true }),
                    _ => None,
                }
            }
            "conditional_expression" => {
                let mut cursor = node.walk();
                let branches: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                let (first, second) = (self.value_of(*branches.first()?)?, self.value_of(*branches.get(2)?)?);
                join_held(&first, &second)
            }
            _ => None,
        }
    }

    fn call_value(&self, call: Node<'t>) -> Option<Held<'t>> {
        let callee = call.child_by_field_id(FIELD.function)?;
        let arguments = call.child_by_field_id(FIELD.arguments)?;
        if callee.kind() == "attribute" {
            let receiver = callee.child_by_field_id(FIELD.object)?;
            let method = self.text(callee.child_by_field_id(FIELD.attribute)?);
            if let Some((session, verb, arguments)) = self.session_method(call) {
                let statement = || match self.value_of(arguments.named_child(0)?)? {
                    Held::Statement(statement) => Some(statement),
                    _ => None,
                };
                return match verb {
                    SessionVerb::Execute => Some(Held::Rows { entities: statement()?.load(&session), scalars: false }),
                    SessionVerb::Scalars => Some(Held::Rows { entities: statement()?.load(&session), scalars: true }),
                    SessionVerb::Scalar => statement()?.load(&session).into_iter().next().flatten().map(Held::Object),
                    SessionVerb::Get => self.fetched_by_get(arguments, &session).map(Held::Object),
                    _ => None,
                };
            }
            // `sa.select(Team)`: a module's function, not a method of a held value.
            let Some(held) = self.value_of(receiver) else {
                return self.select(call).map(Held::Statement).or_else(|| self.project_call(call, arguments));
            };
            return match held {
                Held::Statement(mut statement) => {
                    if method == "options" {
                        self.add_options(&mut statement, arguments);
                    }
                    if matches!(method, "join" | "outerjoin" | "join_from") {
                        self.joined(&mut statement, arguments);
                    }
                    statement.node = Some(call);
                    Some(Held::Statement(statement))
                }
                Held::Rows { entities, scalars } => {
                    let sqlalchemy = &self.evaluator.rules.sqlalchemy;
                    if method == "scalars" {
                        Some(Held::Rows { entities: entities.into_iter().take(1).collect(), scalars: true })
                    } else if SAME_ROWS.contains(&method) || sqlalchemy.result_many.contains(method) {
                        Some(Held::Rows { entities, scalars })
                    } else if scalars && method == "pop" && !sqlalchemy.result_one.contains(method) {
                        // `by_name.pop(name, None)`, `teams.pop()`: one of the
                        // objects a dict or list of them holds, taken out. (Not
                        // `by_id.get(key)`: such lookups run beside objects
                        // kept in the identity map by code the rules do not
                        // follow, and their many-to-one reads run no query.)
                        entities.into_iter().next().flatten().map(Held::Object)
                    } else if sqlalchemy.result_one.contains(method) {
                        if scalars || method.starts_with("scalar") {
                            entities.into_iter().next().flatten().map(Held::Object)
                        } else {
                            Some(Held::Row(entities))
                        }
                    } else {
                        None
                    }
                }
                _ => None,
            };
        }
        // `enumerate(teams)`, `zip(ids, teams)`: rows whose positions hold the items.
        if callee.kind() == "identifier"
            && matches!(self.text(callee), "enumerate" | "zip")
            && self.evaluator.model.lookup(self.text(callee), self.scope).is_none()
        {
            let mut cursor = arguments.walk();
            let mut entities: Vec<Option<Tracked<'t>>> = arguments
                .named_children(&mut cursor)
                .filter(|argument| argument.kind() != "keyword_argument")
                .map(|argument| match self.value_of(argument).and_then(|held| item_of(&held)) {
                    Some(Held::Object(tracked)) => Some(tracked),
                    _ => None,
                })
                .collect();
            if self.text(callee) == "enumerate" {
                entities.truncate(1);
                entities.insert(0, None);
            }
            return entities.iter().any(Option::is_some).then_some(Held::Rows { entities, scalars: false });
        }
        if callee.kind() == "identifier"
            && SAME_ITEMS.contains(&self.text(callee))
            && self.evaluator.model.lookup(self.text(callee), self.scope).is_none()
        {
            return match self.value_of(arguments.named_child(0)?)? {
                rows @ Held::Rows { .. } => Some(rows),
                _ => None,
            };
        }
        self.select(call).map(Held::Statement).or_else(|| self.project_call(call, arguments))
    }

    /// What the function puts in a local list: `name = [...]`,
    /// `name.append(...)`, `name.extend(...)`, `name += [...]`.
    fn put_in(&self, name: &str) -> Vec<Node<'t>> {
        let Some(function) = self.evaluator.model.scope(self.scope).node else { return Vec::new() };
        let mut found = Vec::new();
        let mut stack = vec![function];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(
                node.named_children(&mut cursor)
                    .filter(|child| !matches!(child.kind(), "function_definition" | "class_definition" | "lambda")),
            );
            let is_name = |node: Option<Node<'t>>| node.is_some_and(|node| self.text(node) == name);
            match node.kind() {
                "assignment" | "augmented_assignment" if is_name(node.child_by_field_id(FIELD.left)) => {
                    found.extend(node.child_by_field_id(FIELD.right));
                }
                "call" => {
                    let callee = node.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "attribute");
                    let adds = callee.is_some_and(|callee| {
                        is_name(callee.child_by_field_id(FIELD.object))
                            && callee
                                .child_by_field_id(FIELD.attribute)
                                .is_some_and(|method| matches!(self.text(method), "append" | "extend" | "insert"))
                    });
                    if adds {
                        found.extend(node.child_by_field_id(FIELD.arguments));
                    }
                }
                _ => {}
            }
        }
        found
    }

    /// Whether a name is a parameter of the function walked.
    fn is_parameter(&self, name: Node<'t>) -> bool {
        self.evaluator.model.lookup(self.text(name), self.scope).is_some_and(|(found, bindings)| {
            found == self.scope && bindings.iter().any(|binding| matches!(binding, Binding::Parameter { .. }))
        })
    }

    /// What a call of a project function returns: while summarising, the
    /// call itself, resolved once the index is complete; while checking,
    /// the objects or statement its summary says, with the options the
    /// call passes it.
    fn project_call(&self, call: Node<'t>, arguments: Node<'t>) -> Option<Held<'t>> {
        let class = self.evaluator.model.scope(self.scope).method.as_ref().map(|method| method.class.clone());
        let target = call_target(call, self.scope, self.evaluator, class.as_deref())?;
        let mut cursor = arguments.walk();
        let passed: Vec<Node<'t>> = arguments.named_children(&mut cursor).collect();
        let index = match self.facts {
            Facts::Summary => {
                // Our parameters passed on, by the callee's keyword or position.
                let by_keyword =
                    passed.iter().filter(|argument| argument.kind() == "keyword_argument").filter_map(|argument| {
                        let key = argument.child_by_field_id(FIELD.name)?;
                        Some((self.text(key).to_owned(), argument.child_by_field_id(FIELD.value)?))
                    });
                let by_position = arguments::positional(arguments)
                    .into_iter()
                    .map(|(position, argument)| (format!("#{position}"), argument));
                let forwarded = by_keyword
                    .chain(by_position)
                    .filter(|(_, value)| value.kind() == "identifier" && self.is_parameter(*value))
                    .map(|(key, value)| (key, self.text(value).to_owned()))
                    .collect();
                return Some(Held::Forward(target, forwarded));
            }
            Facts::Project(index) => index,
        };
        let (loads, receiver) = index.sqlalchemy_loads(&target)?;
        // `get_or_error(job.instance)`: the argument itself.
        if let Some(position) = loads.returns_argument {
            let name = loads.parameters.get(position).map_or("", String::as_str);
            let Passed::Argument(argument) = self.argument_for(arguments, name, position) else { return None };
            return self.value_of(argument);
        }
        // A context manager's call is not what it yields; `async with ... as x` is.
        let in_with = call.parent().is_some_and(|parent| {
            parent.kind() == "as_pattern" && parent.parent().is_some_and(|item| item.kind() == "with_item")
        });
        if loads.yielded != in_with {
            return None;
        }
        let model = loads.model.or(receiver)?;
        if !index.is_sqlalchemy_model(&model) {
            return None;
        }
        let mut eager: HashSet<String> = loads.eager.into_iter().collect();
        // Where a fix can add an option: the list or tuple the call passes
        // for the one parameter whose options the query applies, or a new
        // keyword argument (none passed; no `*args` or `**kwargs` that may hold it).
        let mut loader = None;
        let splatted = passed.iter().any(|argument| matches!(argument.kind(), "list_splat" | "dictionary_splat"));
        for (parameter, position) in &loads.options_from {
            let options = match self.argument_for(arguments, parameter, *position) {
                Passed::Argument(options) => Some(options),
                // A spread may fill it: what it loads is unknown, as when nothing is passed.
                Passed::Nothing | Passed::Unknown => None,
            };
            if let Some(options) = options {
                eager.extend(self.eager_paths(options).into_iter().map(|(_, path)| path));
            }
            let literal = options.is_some_and(|options| matches!(options.kind(), "list" | "tuple"));
            let by_keyword = options.is_none() && !splatted && loads.keywords.contains(parameter);
            if loads.options_from.len() == 1 && (literal || by_keyword) {
                loader = Some(Loader::Argument { call, parameter: parameter.clone(), passed: options });
            }
        }
        // The session the call is given, or the one its receiver was built
        // with (`repo = TeamRepository(session)`, `TeamRepository(session).get(...)`):
        // where a fix reloads.
        let mut given = passed.clone();
        let receiver = call.child_by_field_id(FIELD.function).and_then(|callee| callee.child_by_field_id(FIELD.object));
        let built = match receiver {
            Some(receiver) if receiver.kind() == "call" => Some(receiver),
            Some(receiver) if receiver.kind() == "identifier" => {
                match self.evaluator.model.lookup(self.text(receiver), self.scope) {
                    Some((_, [Binding::Assign(value)])) => Some(*value),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(built) =
            built.and_then(|value| value.child_by_field_id(FIELD.arguments).filter(|_| value.kind() == "call"))
        {
            let mut cursor = built.walk();
            given.extend(built.named_children(&mut cursor));
        }
        let session = given
            .iter()
            .find(|argument| {
                matches!(argument.kind(), "identifier" | "attribute") && self.session(**argument).is_some()
            })
            .map_or_else(String::new, |session| self.text(*session).to_owned());
        let tracked = Tracked {
            model: model.clone(),
            session,
            eager: eager.clone(),
            queried: eager.clone(),
            state: State::Persistent,
            loader,
            options_from: Vec::new(),
            created: false,
        };
        Some(match loads.shape {
            LoadedShape::One => Held::Object(tracked),
            LoadedShape::Many => Held::Rows { entities: vec![Some(tracked)], scalars: true },
            LoadedShape::Statement => Held::Statement(Statement {
                entities: vec![Some((model, eager))],
                node: None,
                options_from: Vec::new(),
            }),
        })
    }

    /// What a call passes for a parameter: by its keyword `name`, or at
    /// its `position` among the positional ones.
    fn argument_for(&self, arguments: Node<'t>, name: &str, position: usize) -> Passed<'t> {
        arguments::passed_for(arguments, name, Some(position), |node| self.text(node))
    }

    /// `select(Team)`, `select(Player, Team)`: the entities it loads.
    fn select(&self, call: Node<'t>) -> Option<Statement<'t>> {
        let callee = call.child_by_field_id(FIELD.function)?;
        let Value::Qualified(function) = self.evaluator.eval(callee, self.scope) else { return None };
        if !function.starts_with("sqlalchemy") && !function.starts_with("sqlmodel") || !function.ends_with("select") {
            return None;
        }
        let arguments = call.child_by_field_id(FIELD.arguments)?;
        let mut cursor = arguments.walk();
        let entities: Vec<Option<(String, HashSet<String>)>> = arguments
            .named_children(&mut cursor)
            .map(|argument| match self.evaluator.eval(argument, self.scope) {
                Value::Qualified(model) if self.facts.is_sqlalchemy_model(&model) => Some((model, HashSet::new())),
                _ => None,
            })
            .collect();
        entities.iter().any(Option::is_some).then_some(Statement {
            entities,
            node: Some(call),
            options_from: Vec::new(),
        })
    }

    /// `.options(selectinload(Team.players), ...)`: each path to its entity.
    fn add_options(&self, statement: &mut Statement<'t>, arguments: Node<'t>) {
        // `.options(*options)`: a parameter's options, known at each call; a
        // local list's, from everything the function puts in it.
        let mut cursor = arguments.walk();
        let mut listed = Vec::new();
        for argument in arguments.named_children(&mut cursor) {
            let name = if argument.kind() == "list_splat" { argument.named_child(0) } else { Some(argument) };
            let Some(name) = name.filter(|name| name.kind() == "identifier") else { continue };
            if self.is_parameter(name) {
                statement.options_from.push(self.text(name).to_owned());
            } else {
                listed.extend(self.put_in(self.text(name)));
            }
        }
        self.deeper(|| {
            for options in listed {
                self.add_options(statement, options);
            }
            Some(())
        });
        for (class, path) in self.eager_paths(arguments) {
            let entity = statement
                .entities
                .iter_mut()
                .flatten()
                .find(|(model, _)| class.as_ref().is_some_and(|class| self.same_class(model, class)));
            let entity = match entity {
                Some(entity) => Some(entity),
                // A string path (`selectinload("players")`) is the first entity's.
                None => statement.entities.iter_mut().flatten().next(),
            };
            if let Some((_, eager)) = entity {
                eager.insert(path);
            }
        }
    }

    /// `select(Player, Team).join(Player.team)`: each row's team is the
    /// player's, found in the identity map.
    fn joined(&self, statement: &mut Statement<'t>, arguments: Node<'t>) {
        let mut cursor = arguments.walk();
        let relationships: Vec<(String, String)> =
            arguments.named_children(&mut cursor).filter_map(|argument| self.class_attribute(argument)).collect();
        let models: Vec<String> = statement.entities.iter().flatten().map(|(model, _)| model.clone()).collect();
        for (class, attribute) in relationships {
            // `lazy="raise"` raises before it looks in the identity map.
            let Some(target) = self.facts.sqlalchemy_relationship(&class, &attribute).and_then(|found| {
                (matches!(found.direction, Direction::ManyToOne { .. }) && found.lazy.as_deref() != Some("raise"))
                    .then_some(found.target)
                    .flatten()
            }) else {
                continue;
            };
            if !models.iter().any(|model| self.same_class(model, &target)) {
                continue;
            }
            if let Some((_, eager)) =
                statement.entities.iter_mut().flatten().find(|(model, _)| self.same_class(model, &class))
            {
                eager.insert(attribute);
            }
        }
    }

    fn same_class(&self, first: &str, second: &str) -> bool {
        self.facts.same_class(first, second)
    }

    /// `Team.players`: the mapped class and the attribute.
    fn class_attribute(&self, node: Node<'t>) -> Option<(String, String)> {
        // `Team.players.of_type(Star)`, `Team.players.and_(...)`.
        let mut node = node;
        while node.kind() == "call" {
            node = node.child_by_field_id(FIELD.function)?.child_by_field_id(FIELD.object)?;
        }
        if node.kind() != "attribute" {
            return None;
        }
        let Value::Qualified(class) = self.evaluator.eval(node.child_by_field_id(FIELD.object)?, self.scope) else {
            return None;
        };
        Some((class, self.text(node.child_by_field_id(FIELD.attribute)?).to_owned()))
    }

    /// The relationship paths the loader options inside `node` load, with
    /// the class each path starts from (`None` for a string path):
    /// `selectinload(Player.team).selectinload(Team.players)` loads `team`
    /// and `team.players`; `defaultload(Player.team).selectinload(Team.players)`
    /// only `team.players`.
    pub(super) fn eager_paths(&self, node: Node<'t>) -> Vec<(Option<String>, String)> {
        let mut paths = Vec::new();
        let mut stack = vec![node];
        while let Some(current) = stack.pop() {
            if current.kind() == "call"
                && let Some((class, path, eager)) = self.loader_link(current)
                && eager
            {
                paths.push((class, path));
            }
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor));
        }
        paths
    }

    /// One link of a loader chain: the class its path starts from, the path,
    /// and whether this link loads it.
    fn loader_link(&self, call: Node<'t>) -> Option<(Option<String>, String, bool)> {
        self.deeper(|| self.loader_link_at(call))
    }

    fn loader_link_at(&self, call: Node<'t>) -> Option<(Option<String>, String, bool)> {
        let callee = call.child_by_field_id(FIELD.function)?;
        let (name, inner) = match callee.kind() {
            "attribute" => {
                let object = callee.child_by_field_id(FIELD.object)?;
                (self.text(callee.child_by_field_id(FIELD.attribute)?), Some(object))
            }
            _ => (self.text(callee).rsplit('.').next()?, None),
        };
        // `joinedload(A.b).load_only(B.x).joinedload(B.c)`: column options
        // shape the link before them and leave the path where it was.
        if COLUMN_OPTIONS.contains(&name) {
            let inner = inner.filter(|inner| inner.kind() == "call")?;
            let (class, path, _) = self.loader_link(inner)?;
            return Some((class, path, false));
        }
        let sqlalchemy = &self.evaluator.rules.sqlalchemy;
        let is_eager = sqlalchemy.eager_options.iter().any(|option| option == name) || name == "contains_eager";
        if !is_eager && !PATH_ONLY_LOADERS.contains(&name) && !matches!(name, "lazyload" | "noload" | "raiseload") {
            return None;
        }
        // A chained link extends the path of the link before it.
        let (mut class, mut path) = match inner.filter(|inner| inner.kind() == "call") {
            Some(inner) => {
                let (class, path, _) = self.loader_link(inner)?;
                (class, path)
            }
            None if callee.kind() == "attribute" => {
                // `orm.selectinload(...)`: a module, not a chain.
                if !matches!(self.evaluator.eval(callee, self.scope), Value::Qualified(_)) {
                    return None;
                }
                (None, String::new())
            }
            None => (None, String::new()),
        };
        let arguments = call.child_by_field_id(FIELD.arguments)?;
        let mut cursor = arguments.walk();
        for argument in arguments.named_children(&mut cursor) {
            let attribute = match argument.kind() {
                "string" => argument
                    .named_children(&mut argument.walk())
                    .find(|part| part.kind() == "string_content")
                    .map(|part| self.text(part).to_owned()),
                "keyword_argument" => None,
                _ => self.class_attribute(argument).map(|(owner, attribute)| {
                    class.get_or_insert(owner);
                    attribute
                }),
            };
            if let Some(attribute) = attribute {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&attribute);
            }
        }
        if name == "Load" {
            // `Load(Team)`: the root of a chain, no path yet.
            let root = arguments.named_child(0).map(|root| self.evaluator.eval(root, self.scope));
            if let Some(Value::Qualified(root)) = root {
                return Some((Some(root), String::new(), false));
            }
        }
        (!path.is_empty()).then_some((class, path, is_eager))
    }

    /// A relationship read on a tracked object, when it is loaded: the
    /// related object, or the collection of them.
    fn related(&self, tracked: &Tracked<'t>, attribute: &str) -> Option<Held<'t>> {
        if !self.loaded(tracked, attribute) {
            return None;
        }
        let relationship = self.facts.sqlalchemy_relationship(&tracked.model, attribute)?;
        let target = relationship.target?;
        let prefix = format!("{attribute}.");
        let child = Tracked {
            model: target,
            session: tracked.session.clone(),
            eager: tracked.eager.iter().filter_map(|path| path.strip_prefix(&prefix)).map(str::to_owned).collect(),
            queried: tracked.queried.iter().filter_map(|path| path.strip_prefix(&prefix)).map(str::to_owned).collect(),
            state: tracked.state,
            loader: None,
            options_from: Vec::new(),
            created: false,
        };
        let collection = match relationship.direction {
            Direction::ManyToOne { .. } => false,
            Direction::OneToMany { collection, .. } => collection,
            Direction::ManyToMany => true,
            Direction::Complex => return None,
        };
        Some(if collection { Held::Rows { entities: vec![Some(child)], scalars: true } } else { Held::Object(child) })
    }

    /// A name a comprehension around `node` binds: `Bound(None)` when it
    /// binds the name to something not followed.
    fn comprehension_binding(&self, node: Node<'t>, name: &str) -> Option<Bound<'t>> {
        // A comprehension binds names a few levels up at most; deep
        // expressions (generated code) are not searched to the root.
        for ancestor in self.evaluator.model.ancestors(node).into_iter().take(MAX_DEPTH) {
            if matches!(
                ancestor.kind(),
                "list_comprehension" | "set_comprehension" | "generator_expression" | "dictionary_comprehension"
            ) {
                let mut cursor = ancestor.walk();
                for clause in ancestor.named_children(&mut cursor).filter(|child| child.kind() == "for_in_clause") {
                    let (Some(left), Some(right)) =
                        (clause.child_by_field_id(FIELD.left), clause.child_by_field_id(FIELD.right))
                    else {
                        continue;
                    };
                    // The iterable of the clause is outside its own binding.
                    if right.start_byte() <= node.start_byte() && node.end_byte() <= right.end_byte() {
                        continue;
                    }
                    if pattern_binding(self.evaluator.model, left, name, None).is_none() {
                        continue;
                    }
                    let item = self.value_of(right).and_then(|held| item_of(&held));
                    if let Some(found) = pattern_binding(self.evaluator.model, left, name, item) {
                        return Some(found);
                    }
                }
            }
            if matches!(ancestor.kind(), "lambda" | "function_definition" | "class_definition") {
                return None;
            }
        }
        None
    }

    /// Binds a `for` target or an assignment's left side to `value`.
    fn bind(&mut self, target: Node<'t>, value: Option<Held<'t>>) {
        match target.kind() {
            "identifier" => {
                let name = self.text(target).to_owned();
                match value {
                    Some(value) => self.held.insert(name, value),
                    None => self.held.remove(&name),
                };
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple" => {
                let mut cursor = target.walk();
                let parts: Vec<Node<'t>> = target.named_children(&mut cursor).collect();
                let entities = match value {
                    Some(Held::Row(entities)) if entities.len() == parts.len() => entities,
                    _ => vec![None; parts.len()],
                };
                for (part, entity) in parts.into_iter().zip(entities) {
                    self.bind(part, entity.map(Held::Object));
                }
            }
            _ => {}
        }
    }

    /// `await team.awaitable_attrs.players` (`AsyncAttrs`): the
    /// relationship is loaded from here on.
    fn awaited_attributes(&mut self, statement: Node<'t>) {
        let mut stack = vec![statement];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            let Some(attribute) = node.named_child(0).filter(|_| node.kind() == "await") else { continue };
            let Some(holder) = attribute.child_by_field_id(FIELD.object).filter(|holder| {
                holder.kind() == "attribute"
                    && holder
                        .child_by_field_id(FIELD.attribute)
                        .is_some_and(|name| self.text(name) == "awaitable_attrs")
            }) else {
                continue;
            };
            let (Some(object), Some(name)) =
                (holder.child_by_field_id(FIELD.object), attribute.child_by_field_id(FIELD.attribute))
            else {
                continue;
            };
            let name = self.text(name).to_owned();
            if let Some(Held::Object(tracked)) = self.held.get_mut(self.text(object)) {
                tracked.eager.insert(name);
            }
        }
    }

    /// Bindings and session events in one simple statement.
    pub(super) fn effects(&mut self, statement: Node<'t>) {
        self.awaited_attributes(statement);
        let Some(expression) = statement.named_child(0) else { return };
        match expression.kind() {
            "assignment" => {
                let (Some(left), Some(right)) =
                    (expression.child_by_field_id(FIELD.left), expression.child_by_field_id(FIELD.right))
                else {
                    return;
                };
                self.identity_map(right);
                // `first, second = Team(...), Team(...)`: element by element.
                if matches!(left.kind(), "pattern_list" | "tuple_pattern")
                    && matches!(right.kind(), "expression_list" | "tuple")
                    && left.named_child_count() == right.named_child_count()
                {
                    for (target, value) in
                        left.named_children(&mut left.walk()).zip(right.named_children(&mut right.walk()))
                    {
                        let held = self.value_of(value).or_else(|| self.created(value));
                        self.bind(target, held);
                    }
                    return;
                }
                let value = self.value_of(right).or_else(|| self.created(right));
                // `team.players = [...]`: from here on it holds what was assigned.
                if left.kind() == "attribute"
                    && let (Some(object), Some(name)) =
                        (left.child_by_field_id(FIELD.object), left.child_by_field_id(FIELD.attribute))
                {
                    let (object, name) = (self.text(object), self.text(name));
                    let facts = self.facts;
                    if let Some(Held::Object(tracked)) = self.held.get_mut(object)
                        && facts.sqlalchemy_relationship(&tracked.model, name).is_some()
                    {
                        tracked.eager.insert(name.to_owned());
                    }
                }
                if left.kind() == "identifier"
                    && let Some(expire_on_commit) = self.session_made_by(right)
                {
                    let name = self.text(left).to_owned();
                    self.sessions.insert(name, Session { expire_on_commit, open_until: usize::MAX });
                }
                self.bind(left, value);
            }
            "await" => {
                if let Some(call) = expression.named_child(0) {
                    self.identity_map(expression);
                    self.session_call(call, statement);
                }
            }
            "call" => self.session_call(expression, statement),
            _ => {}
        }
    }

    /// `user = User(...)`: a new object, tracked once it is added to a session.
    fn created(&self, value: Node<'t>) -> Option<Held<'t>> {
        let callee = value.child_by_field_id(FIELD.function).filter(|_| value.kind() == "call")?;
        let Value::Qualified(class) = self.evaluator.eval(callee, self.scope) else { return None };
        self.facts.is_sqlalchemy_model(&class).then(|| {
            Held::Object(Tracked {
                model: class,
                session: String::new(),
                eager: HashSet::new(),
                queried: HashSet::new(),
                state: State::Transient,
                loader: None,
                options_from: Vec::new(),
                created: true,
            })
        })
    }

    /// `await session.get(Team, player.team_id)`: the player's team is now in
    /// the identity map, and reading `player.team` runs no query.
    fn identity_map(&mut self, value: Node<'t>) {
        let Some(call) = value.named_child(0).filter(|_| value.kind() == "await") else { return };
        let Some((_, SessionVerb::Get, arguments)) = self.session_method(call) else { return };
        let (Some(class), Some(key)) = (arguments.named_child(0), arguments.named_child(1)) else { return };
        let Value::Qualified(class) = self.evaluator.eval(class, self.scope) else { return };
        let (Some(object), Some(column)) =
            (key.child_by_field_id(FIELD.object), key.child_by_field_id(FIELD.attribute))
        else {
            return;
        };
        if object.kind() != "identifier" {
            return;
        }
        let column = self.text(column);
        let name = self.text(object).to_owned();
        let Some(Held::Object(tracked)) = self.held.get(&name) else { return };
        let Some(relationship) = self.facts.sqlalchemy_relationships(&tracked.model).into_iter().find(|(_, found)| {
            matches!(&found.direction, Direction::ManyToOne { column: own } if own == column)
                && found.target.as_deref().is_some_and(|target| self.same_class(target, &class))
                // `lazy="raise"` raises before it looks in the identity map.
                && found.lazy.as_deref() != Some("raise")
        }) else {
            return;
        };
        if let Some(Held::Object(tracked)) = self.held.get_mut(&name)
            && !matches!(tracked.state, State::Expired { .. })
        {
            tracked.eager.insert(relationship.0);
        }
    }

    /// `await session.method(...)` on a known session, for a method the
    /// recipes' `[sqlalchemy.session]` names.
    pub(super) fn session_method(&self, call: Node<'t>) -> Option<(String, SessionVerb, Node<'t>)> {
        if call.kind() != "call" {
            return None;
        }
        let callee = call.child_by_field_id(FIELD.function)?;
        if callee.kind() != "attribute" {
            return None;
        }
        let object = callee.child_by_field_id(FIELD.object)?;
        let method = self.text(callee.child_by_field_id(FIELD.attribute)?);
        let verb = *self.evaluator.rules.sqlalchemy.session.get(method)?;
        let arguments = call.child_by_field_id(FIELD.arguments)?;
        if self.session(object).is_none() {
            if !self.queries_like_a_session(call, verb, arguments) {
                return None;
            }
            self.used_as_session.borrow_mut().insert(self.text(object).to_owned());
        }
        Some((self.text(object).to_owned(), verb, arguments))
    }

    /// `await db.execute(select(Team))`, `await db.get(Team, key)`: whatever
    /// `db` is (a project context manager's session, `info.context.db()`),
    /// only an `AsyncSession` is awaited on an ORM statement.
    fn queries_like_a_session(&self, call: Node<'t>, verb: SessionVerb, arguments: Node<'t>) -> bool {
        let receiver = call.child_by_field_id(FIELD.function).and_then(|callee| callee.child_by_field_id(FIELD.object));
        if call.parent().is_none_or(|parent| parent.kind() != "await")
            || !receiver.is_some_and(|receiver| matches!(receiver.kind(), "identifier" | "attribute"))
        {
            return false;
        }
        // A name annotated with a type that is not a session (`store: TeamStore`) is not one.
        if let Some(receiver) = receiver.filter(|receiver| receiver.kind() == "identifier")
            && let Some((_, bindings)) = self.evaluator.model.lookup(self.text(receiver), self.scope)
            && bindings
                .iter()
                .any(|binding| matches!(binding, Binding::Parameter { annotation: Some(_) } | Binding::Annotated(_)))
        {
            return false;
        }
        let Some(first) = arguments.named_child(0) else { return false };
        match verb {
            SessionVerb::Execute | SessionVerb::Scalars | SessionVerb::Scalar => {
                matches!(self.value_of(first), Some(Held::Statement(_)))
            }
            SessionVerb::Get => matches!(
                self.evaluator.eval(first, self.scope),
                Value::Qualified(model) if self.facts.is_sqlalchemy_model(&model)
            ),
            _ => false,
        }
    }

    /// `await session.get(Model, key, options=[selectinload(Model.rel)])`.
    pub(super) fn fetched_by_get(&self, arguments: Node<'t>, session: &str) -> Option<Tracked<'t>> {
        let first = arguments.named_child(0)?;
        let Value::Qualified(model) = self.evaluator.eval(first, self.scope) else { return None };
        if !self.facts.is_sqlalchemy_model(&model) {
            return None;
        }
        let eager: HashSet<String> = self.eager_paths(arguments).into_iter().map(|(_, path)| path).collect();
        // `get(cls, key, options=options)`: a parameter's options, known at each call.
        let mut cursor = arguments.walk();
        let options_from = arguments
            .named_children(&mut cursor)
            .filter(|argument| argument.kind() == "keyword_argument")
            .filter_map(|argument| argument.child_by_field_id(FIELD.value))
            .filter(|value| value.kind() == "identifier" && self.is_parameter(*value))
            .map(|value| self.text(value).to_owned())
            .collect();
        Some(Tracked {
            model,
            session: session.to_owned(),
            queried: eager.clone(),
            eager,
            state: State::Persistent,
            loader: None,
            options_from,
            created: false,
        })
    }

    /// `session.add(obj)`, `await session.flush()`, `commit()`, `rollback()`, `refresh(obj)`.
    pub(super) fn session_call(&mut self, call: Node<'t>, statement: Node<'t>) {
        let Some((session, verb, arguments)) = self.session_method(call) else { return };
        let expire_on_commit = call
            .child_by_field_id(FIELD.function)
            .and_then(|callee| callee.child_by_field_id(FIELD.object))
            .and_then(|object| self.session(object))
            .is_some_and(|session| session.expire_on_commit);
        match verb {
            SessionVerb::Add => {
                let Some(argument) = arguments.named_child(0) else { return };
                let mut names = vec![argument];
                if matches!(argument.kind(), "list" | "tuple") {
                    let mut cursor = argument.walk();
                    names = argument.named_children(&mut cursor).collect();
                }
                for name in names {
                    if let Some(Held::Object(tracked)) = self.held.get_mut(self.evaluator.model.text(name)) {
                        tracked.session.clone_from(&session);
                        tracked.state = State::Pending;
                    }
                }
            }
            SessionVerb::Flush => self.each_tracked(&session, |tracked| {
                if tracked.state == State::Pending {
                    tracked.state = State::Persistent;
                }
            }),
            SessionVerb::Commit | SessionVerb::Rollback => {
                self.commits.insert(statement.start_byte(), statement);
                let rollback = verb == SessionVerb::Rollback;
                let expires = expire_on_commit || rollback;
                let commit = statement.start_byte();
                self.each_tracked(&session, |tracked| match tracked.state {
                    State::Transient | State::Deleted => {}
                    // A rollback expunges what it added: a transient object
                    // again, whose attributes stay as they were set.
                    State::Pending if rollback => tracked.state = State::Transient,
                    _ if expires => tracked.state = State::Expired { commit },
                    State::Pending => tracked.state = State::Persistent,
                    _ => {}
                });
            }
            SessionVerb::Delete => {
                if let Some(object) = arguments.named_child(0).map(|node| self.text(node).to_owned())
                    && let Some(Held::Object(tracked)) = self.held.get_mut(&object)
                {
                    tracked.state = State::Deleted;
                }
            }
            SessionVerb::Refresh => {
                let Some(object) = arguments.named_child(0).map(|node| self.text(node).to_owned()) else { return };
                let names = self.attribute_names(arguments);
                if let Some(Held::Object(tracked)) = self.held.get_mut(&object) {
                    if names.is_empty() {
                        // What the loading query eager-loaded is loaded
                        // again; the rest is expired.
                        tracked.state = State::Persistent;
                        tracked.eager.clone_from(&tracked.queried);
                    } else {
                        tracked.eager.extend(names);
                        if matches!(tracked.state, State::Expired { .. }) {
                            // Refreshing some attributes reloads the key too, not the other columns.
                            tracked.state = State::Persistent;
                        }
                    }
                } else if !names.is_empty()
                    && let Some((root, path)) = object.split_once('.')
                    && path.split('.').all(is_identifier)
                    && let Some(Held::Object(tracked)) = self.held.get_mut(root)
                {
                    // `refresh(player.team, ["players"])`: the path `team.players` of `player`.
                    tracked.eager.extend(names.iter().map(|name| format!("{path}.{name}")));
                }
            }
            _ => {}
        }
    }

    /// Every object of `session` the function holds, in results and lists too.
    fn each_tracked(&mut self, session: &str, mut change: impl FnMut(&mut Tracked<'t>)) {
        for held in self.held.values_mut() {
            let tracked: Vec<&mut Tracked<'t>> = match held {
                Held::Object(tracked) => vec![tracked],
                Held::Rows { entities, .. } | Held::Row(entities) => entities.iter_mut().flatten().collect(),
                Held::Statement(_) | Held::Forward(..) => Vec::new(),
            };
            for tracked in tracked {
                if tracked.session == session {
                    change(tracked);
                }
            }
        }
    }

    /// `refresh(obj, ["a", "b"])` or `attribute_names=...`, in a list, tuple or set.
    pub(super) fn attribute_names(&self, arguments: Node<'t>) -> Vec<String> {
        let mut cursor = arguments.walk();
        let children: Vec<Node<'t>> = arguments.named_children(&mut cursor).collect();
        let keyword = children.iter().find_map(|argument| {
            (argument.kind() == "keyword_argument"
                && argument.child_by_field_id(FIELD.name).is_some_and(|name| self.text(name) == "attribute_names"))
            .then(|| argument.child_by_field_id(FIELD.value))
            .flatten()
        });
        let positional = children.get(1).filter(|argument| argument.kind() != "keyword_argument").copied();
        let Some(list) = keyword.or(positional).filter(|list| matches!(list.kind(), "list" | "tuple" | "set")) else {
            return Vec::new();
        };
        let mut cursor = list.walk();
        list.named_children(&mut cursor)
            .filter(|item| item.kind() == "string")
            .map(|item| self.text(item).trim_matches(|c| c == '"' || c == '\'').to_owned())
            .collect()
    }
}

impl<'t> Statement<'t> {
    /// The objects running the statement in `session` gives, one per entity.
    fn load(&self, session: &str) -> Vec<Option<Tracked<'t>>> {
        self.entities
            .iter()
            .map(|entity| {
                entity.as_ref().map(|(model, eager)| Tracked {
                    model: model.clone(),
                    session: session.to_owned(),
                    eager: eager.clone(),
                    queried: eager.clone(),
                    state: State::Persistent,
                    loader: self.node.map(Loader::Select),
                    options_from: self.options_from.clone(),
                    created: false,
                })
            })
            .collect()
    }
}

/// What iterating a held value gives.
fn item_of<'t>(held: &Held<'t>) -> Option<Held<'t>> {
    match held {
        Held::Rows { entities, scalars: true } => entities.first().cloned().flatten().map(Held::Object),
        Held::Rows { entities, scalars: false } => Some(Held::Row(entities.clone())),
        _ => None,
    }
}

/// What `name` is bound to by a `for` target: `Bound(None)` when the target
/// binds it to something not followed.
fn pattern_binding<'t>(
    model: &crate::semantic::SemanticModel<'t>,
    target: Node<'t>,
    name: &str,
    value: Option<Held<'t>>,
) -> Option<Bound<'t>> {
    match target.kind() {
        "identifier" => (model.text(target) == name).then_some(Bound(value)),
        "pattern_list" | "tuple_pattern" | "list_pattern" | "expression_list" | "tuple" => {
            let mut cursor = target.walk();
            let parts: Vec<Node<'t>> = target.named_children(&mut cursor).collect();
            let entities = match value {
                Some(Held::Row(entities)) if entities.len() == parts.len() => entities,
                _ => vec![None; parts.len()],
            };
            parts
                .into_iter()
                .zip(entities)
                .find_map(|(part, entity)| pattern_binding(model, part, name, entity.map(Held::Object)))
        }
        _ => None,
    }
}

/// The state after several paths meet: a name held on some paths keeps what
/// they agree on.
fn join(flows: Vec<Flow<'_>>) -> Option<Flow<'_>> {
    let mut flows = flows.into_iter();
    let mut joined = flows.next()?;
    for flow in flows {
        let mut next = Flow::new();
        for (name, held) in &joined {
            match flow.get(name) {
                Some(other) => {
                    if let Some(merged) = join_held(held, other) {
                        next.insert(name.clone(), merged);
                    }
                }
                None => {
                    next.insert(name.clone(), held.clone());
                }
            }
        }
        for (name, held) in flow {
            next.entry(name).or_insert(held);
        }
        joined = next;
    }
    Some(joined)
}

pub(super) fn join_held<'t>(first: &Held<'t>, second: &Held<'t>) -> Option<Held<'t>> {
    let entities = |first: &[Option<Tracked<'t>>], second: &[Option<Tracked<'t>>]| {
        (first.len() == second.len()).then(|| {
            first
                .iter()
                .zip(second)
                .map(|(first, second)| match (first, second) {
                    (Some(first), Some(second)) => join_tracked(first, second),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    };
    match (first, second) {
        (Held::Object(first), Held::Object(second)) => join_tracked(first, second).map(Held::Object),
        (Held::Rows { entities: first, scalars }, Held::Rows { entities: second, scalars: other })
            if scalars == other =>
        {
            Some(Held::Rows { entities: entities(first, second)?, scalars: *scalars })
        }
        (Held::Row(first), Held::Row(second)) => Some(Held::Row(entities(first, second)?)),
        (Held::Forward(first, passed), Held::Forward(second, _)) if first == second => {
            Some(Held::Forward(first.clone(), passed.clone()))
        }
        (Held::Statement(first), Held::Statement(second)) if first.entities.len() == second.entities.len() => {
            let mut joined = Vec::new();
            for (first, second) in first.entities.iter().zip(&second.entities) {
                joined.push(match (first, second) {
                    (Some((model, eager)), Some((other, other_eager))) if model == other => {
                        Some((model.clone(), eager.intersection(other_eager).cloned().collect()))
                    }
                    (None, None) => None,
                    _ => return None,
                });
            }
            let node =
                if first.node.map(|node| node.id()) == second.node.map(|node| node.id()) { first.node } else { None };
            let mut options_from = first.options_from.clone();
            options_from.extend(second.options_from.iter().filter(|name| !first.options_from.contains(name)).cloned());
            Some(Held::Statement(Statement { entities: joined, node, options_from }))
        }
        _ => None,
    }
}

/// One object on two paths: loaded where both loaded it, expired where
/// either expired it.
fn join_tracked<'t>(first: &Tracked<'t>, second: &Tracked<'t>) -> Option<Tracked<'t>> {
    if first.model != second.model {
        return None;
    }
    let state = match (first.state, second.state) {
        (expired @ State::Expired { .. }, _) | (_, expired @ State::Expired { .. }) => expired,
        (State::Persistent, _) | (_, State::Persistent) => State::Persistent,
        (State::Pending, _) | (_, State::Pending) => State::Pending,
        _ => State::Transient,
    };
    // A path where the object is new (not flushed) loads nothing on a read:
    // the other path says what is loaded.
    let new = |tracked: &Tracked<'t>| matches!(tracked.state, State::Transient | State::Pending);
    let (eager, queried) = match (new(first), new(second)) {
        (true, false) => (second.eager.clone(), second.queried.clone()),
        (false, true) => (first.eager.clone(), first.queried.clone()),
        _ => (
            first.eager.intersection(&second.eager).cloned().collect(),
            first.queried.intersection(&second.queried).cloned().collect(),
        ),
    };
    let same_loader = match (&first.loader, &second.loader) {
        (Some(first), Some(second)) => first.same(second),
        _ => false,
    };
    Some(Tracked {
        model: first.model.clone(),
        session: first.session.clone(),
        eager,
        queried,
        state,
        loader: if same_loader { first.loader.clone() } else { None },
        options_from: first.options_from.iter().chain(&second.options_from).cloned().collect(),
        created: first.created && second.created,
    })
}

/// Whether `text` is a plain name (`team`, not `teams[0]` or `f()`).
fn is_identifier(text: &str) -> bool {
    text.chars().next().is_some_and(|first| first.is_alphabetic() || first == '_')
        && text.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The block of a clause (`except E:` and its body).
fn last_block(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|child| child.kind() == "block").last()
}

/// Whether a block always ends by leaving it: its last statement is a
/// `return`, `raise`, `continue` or `break`.
fn leaves(block: Node<'_>) -> bool {
    last_named_child(block).is_some_and(|last| {
        matches!(last.kind(), "return_statement" | "raise_statement" | "continue_statement" | "break_statement")
    })
}

/// A function's summary of what it returns, from the join of its returns.
pub(super) fn loads_of(held: Held<'_>) -> Option<Loads> {
    let loads = |model: String, shape, eager: &HashSet<String>, options_from: &[String]| {
        let mut eager: Vec<String> = eager.iter().cloned().collect();
        eager.sort();
        Loads {
            model: Some(model),
            shape,
            eager,
            options_from: options_from.iter().map(|name| (name.clone(), 0)).collect(),
            forwards: None,
            parameters: Vec::new(),
            keywords: Vec::new(),
            returns_argument: None,
            yielded: false,
        }
    };
    match held {
        Held::Object(tracked) => Some(loads(tracked.model, LoadedShape::One, &tracked.eager, &tracked.options_from)),
        Held::Rows { entities, scalars: true } => {
            let tracked = entities.into_iter().next()??;
            Some(loads(tracked.model, LoadedShape::Many, &tracked.eager, &tracked.options_from))
        }
        Held::Statement(statement) if statement.entities.len() == 1 => {
            let (model, eager) = statement.entities.into_iter().next()??;
            Some(loads(model, LoadedShape::Statement, &eager, &statement.options_from))
        }
        Held::Forward(target, passed) => Some(Loads {
            model: None,
            shape: LoadedShape::One,
            eager: Vec::new(),
            options_from: Vec::new(),
            forwards: Some((target, passed)),
            parameters: Vec::new(),
            keywords: Vec::new(),
            returns_argument: None,
            yielded: false,
        }),
        _ => None,
    }
}
