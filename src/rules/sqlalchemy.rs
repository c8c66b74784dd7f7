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
//! The rewrite inserts statements, so the rule builds its own fixes, in the
//! style `--sqlalchemy-fix` chooses: an explicit query (`explicit`, the
//! seed's own fix), `.options(selectinload(...))` on the query that loaded
//! the object (`selectinload`), or `await session.refresh(obj, ...)`
//! (`refresh`).

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use crate::fix::importer::Importer;
use crate::fix::{Applicability, Edit, Fix, SqlAlchemyFix};
use crate::infer::facts::{Direction, ProjectFacts};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::{RuleId, Wrapper};
use crate::semantic::ScopeId;
use crate::source::{Locator, line_ending};

/// One site with its fix, or why there is none.
pub struct SqlAlchemySite<'t> {
    pub rule: RuleId,
    pub node: Node<'t>,
    pub message: String,
    pub fix: Result<Fix, String>,
}

/// Result methods that return one object, and the ones that return a list.
const ONE: [&str; 6] = ["scalar_one_or_none", "scalar_one", "scalar", "first", "one", "one_or_none"];
const MANY: [&str; 1] = ["all"];
/// Loader options that load a relationship with its object.
const EAGER_OPTIONS: [&str; 4] = ["selectinload", "joinedload", "subqueryload", "immediateload"];
/// `lazy=` strategies that load with the object.
const EAGER_STRATEGIES: [&str; 4] = ["selectin", "joined", "subquery", "immediate"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Created here and not yet added to a session: nothing to load.
    Transient,
    /// Added, not flushed: reading a relationship loads nothing.
    Pending,
    Persistent,
    /// Expired by the commit or rollback statement at this offset.
    Expired {
        commit: usize,
    },
}

#[derive(Debug, Clone)]
struct Tracked<'t> {
    model: String,
    session: String,
    eager: HashSet<String>,
    state: State,
    /// The `select(...)` expression that loaded the object.
    select: Option<Node<'t>>,
}

#[derive(Debug, Clone)]
struct Session {
    expire_on_commit: bool,
    /// The session is closed past this offset (the end of its `async with`).
    open_until: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadKind {
    LazyRelationship,
    Expired,
}

struct Read<'t> {
    kind: ReadKind,
    object: String,
    attribute: String,
    node: Node<'t>,
    statement: Node<'t>,
    tracked: Tracked<'t>,
    /// The commit statement that expired the object.
    commit: Option<Node<'t>>,
    session_open: bool,
    /// For relationships declared `raise` or `write_only`: report only.
    blocked: Option<String>,
}

/// Reads that share one fix: the object, the attribute (empty for expired reads) and the kind.
type GroupKey = (String, String, ReadKind);

pub struct Rules {
    pub lazy_load: Option<RuleId>,
    pub expired: Option<RuleId>,
}

struct Walker<'a, 't> {
    evaluator: &'a Evaluator<'a, 't>,
    index: &'a dyn ProjectFacts,
    sessions: HashMap<String, Session>,
    results: HashMap<String, Tracked<'t>>,
    lists: HashMap<String, Tracked<'t>>,
    objects: HashMap<String, Tracked<'t>>,
    /// Commit statements by their start offset.
    commits: HashMap<usize, Node<'t>>,
    reads: Vec<Read<'t>>,
}

/// Every SA001 and SA002 site in one `async def`.
pub fn check_function<'t>(
    function: Node<'t>,
    evaluator: &Evaluator<'_, 't>,
    rules: &Rules,
    style: SqlAlchemyFix,
    importer: &Importer<'_, 't>,
    locator: &Locator<'t>,
) -> Vec<SqlAlchemySite<'t>> {
    let Some(index) = evaluator.index else { return Vec::new() };
    if rules.lazy_load.is_none() && rules.expired.is_none() {
        return Vec::new();
    }
    let Some(scope) = evaluator.model.scope_opened_by(function) else { return Vec::new() };
    let mut walker = Walker {
        evaluator,
        index,
        sessions: HashMap::new(),
        results: HashMap::new(),
        lists: HashMap::new(),
        objects: HashMap::new(),
        commits: HashMap::new(),
        reads: Vec::new(),
    };
    walker.parameters(function, scope);
    if walker.sessions.is_empty() && !mentions_session_factory(function, evaluator) {
        return Vec::new();
    }
    if let Some(body) = function.child_by_field_id(FIELD.body) {
        walker.block(body, scope);
    }
    let reads = std::mem::take(&mut walker.reads);
    let builder = FixBuilder { evaluator, index, importer, locator, function, scope, style };
    let mut sites = Vec::new();
    // Reads of one relationship on one object share one fix.
    let mut groups: Vec<(GroupKey, Vec<&Read<'t>>)> = Vec::new();
    for read in &reads {
        let key = (read.object.clone(), read.attribute.clone(), read.kind);
        let key = if read.kind == ReadKind::Expired { (read.object.clone(), String::new(), read.kind) } else { key };
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
        let fix = builder.fix(&members);
        for read in members {
            let text = evaluator.model.text(read.node);
            let message = match read.kind {
                ReadKind::LazyRelationship => format!(
                    "`{text}` lazy-loads a relationship inside `async def` (MissingGreenlet): the query that loaded `{}` did not load it",
                    read.object
                ),
                ReadKind::Expired => format!(
                    "`{text}` reads an attribute expired by `{}` inside `async def` (MissingGreenlet)",
                    read.commit.map_or("commit()", |commit| evaluator.model.text(commit).trim())
                ),
            };
            sites.push(SqlAlchemySite { rule, node: read.node, message, fix: fix.clone() });
        }
    }
    sites
}

/// Whether the function names a session factory at all (cheap pre-check).
fn mentions_session_factory(function: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    let text = evaluator.model.text(function);
    text.contains("session") || text.contains("Session")
}

impl<'t> Walker<'_, 't> {
    fn text(&self, node: Node<'t>) -> &'t str {
        self.evaluator.model.text(node)
    }

    /// `session: AsyncSession` parameters.
    fn parameters(&mut self, function: Node<'t>, scope: ScopeId) {
        let Some(parameters) = function.child_by_field_id(FIELD.parameters) else { return };
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            let (Some(annotation), Some(name)) = (
                parameter.child_by_field_id(FIELD.r#type),
                parameter.child_by_field_id(FIELD.name).or_else(|| parameter.named_child(0)),
            ) else {
                continue;
            };
            let is_session = matches!(
                annotation.named_child(0).map(|node| self.evaluator.eval(node, scope)),
                Some(Value::Qualified(name)) if name.ends_with("AsyncSession")
            );
            if is_session {
                // Where the session comes from is not known: it expires on commit
                // unless every session factory of the project says otherwise.
                let expire_on_commit = !self.index.sessions_never_expire();
                self.sessions.insert(self.text(name).to_owned(), Session { expire_on_commit, open_until: usize::MAX });
            }
        }
    }

    fn block(&mut self, block: Node<'t>, scope: ScopeId) {
        let mut cursor = block.walk();
        let statements: Vec<Node<'t>> = block.named_children(&mut cursor).collect();
        for statement in statements {
            self.statement(statement, scope);
        }
    }

    fn statement(&mut self, statement: Node<'t>, scope: ScopeId) {
        match statement.kind() {
            "function_definition" | "class_definition" | "decorated_definition" => {}
            "if_statement" | "elif_clause" | "while_statement" => {
                if let Some(condition) = statement.child_by_field_id(FIELD.condition) {
                    self.reads_in(condition, statement);
                }
                self.children_blocks(statement, scope);
            }
            "for_statement" => {
                if let Some(iterable) = statement.child_by_field_id(FIELD.right) {
                    self.reads_in(iterable, statement);
                    if let (Some(target), Some(list)) =
                        (statement.child_by_field_id(FIELD.left), self.lists.get(self.text(iterable)).cloned())
                        && target.kind() == "identifier"
                    {
                        self.objects.insert(self.text(target).to_owned(), list);
                    }
                }
                self.children_blocks(statement, scope);
            }
            "with_statement" => {
                let mut cursor = statement.walk();
                for child in statement.named_children(&mut cursor) {
                    if child.kind() == "with_clause" {
                        self.with_clause(child, statement, scope);
                    }
                }
                self.children_blocks(statement, scope);
            }
            "try_statement" | "else_clause" | "except_clause" | "finally_clause" | "block" => {
                self.children_blocks(statement, scope);
            }
            _ => {
                self.reads_in(statement, statement);
                self.effects(statement, scope);
            }
        }
    }

    fn children_blocks(&mut self, statement: Node<'t>, scope: ScopeId) {
        let mut cursor = statement.walk();
        let children: Vec<Node<'t>> = statement.named_children(&mut cursor).collect();
        for child in children {
            match child.kind() {
                "block" => self.block(child, scope),
                "elif_clause" | "else_clause" | "except_clause" | "finally_clause" => self.statement(child, scope),
                _ => {}
            }
        }
    }

    /// `async with SessionLocal() as session:`.
    fn with_clause(&mut self, clause: Node<'t>, statement: Node<'t>, scope: ScopeId) {
        let mut cursor = clause.walk();
        for item in clause.named_children(&mut cursor) {
            let Some(pattern) = item.named_child(0).filter(|node| node.kind() == "as_pattern") else { continue };
            let (Some(value), Some(alias)) = (pattern.named_child(0), pattern.child_by_field_id(FIELD.alias)) else {
                continue;
            };
            if let Some(expire_on_commit) = self.session_made_by(value, scope) {
                let name = self.text(alias).trim().to_owned();
                self.sessions.insert(name, Session { expire_on_commit, open_until: statement.end_byte() });
            }
        }
    }

    /// `SessionLocal()` or `AsyncSession(engine, ...)`: whether it expires on commit.
    fn session_made_by(&self, value: Node<'t>, scope: ScopeId) -> Option<bool> {
        if value.kind() != "call" {
            return None;
        }
        let callee = value.child_by_field_id(FIELD.function)?;
        let name = match self.evaluator.eval(callee, scope) {
            Value::Qualified(name) => name,
            _ => self.evaluator.qualified_name(callee, scope)?,
        };
        if name.ends_with("AsyncSession") {
            let arguments: String = self.text(value).chars().filter(|c| !c.is_whitespace()).collect();
            return Some(!arguments.contains("expire_on_commit=False"));
        }
        self.index.session_factory(&name)
    }

    /// Attribute reads on tracked objects inside one statement, in source order.
    fn reads_in(&mut self, node: Node<'t>, statement: Node<'t>) {
        let mut stack = vec![node];
        let mut found = Vec::new();
        while let Some(current) = stack.pop() {
            match current.kind() {
                "lambda" | "function_definition" | "class_definition" => continue,
                "call" if self.is_run_sync(current) => continue,
                "attribute" => {
                    if let Some(read) = self.read(current, statement) {
                        found.push(read);
                    }
                }
                _ => {}
            }
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor));
        }
        found.sort_by_key(|read| read.node.start_byte());
        self.reads.extend(found);
    }

    /// `session.run_sync(...)`: the function runs where lazy loads work.
    fn is_run_sync(&self, call: Node<'t>) -> bool {
        call.child_by_field_id(FIELD.function)
            .and_then(|callee| callee.child_by_field_id(FIELD.attribute))
            .is_some_and(|attribute| self.text(attribute) == "run_sync")
    }

    fn read(&self, attribute: Node<'t>, statement: Node<'t>) -> Option<Read<'t>> {
        let object = attribute.child_by_field_id(FIELD.object)?;
        if object.kind() != "identifier" {
            return None;
        }
        let parent = attribute.parent()?;
        let is_callee = parent.kind() == "call"
            && parent.child_by_field_id(FIELD.function).is_some_and(|callee| callee.id() == attribute.id());
        let is_target = matches!(parent.kind(), "assignment" | "augmented_assignment")
            && parent.child_by_field_id(FIELD.left).is_some_and(|left| left.id() == attribute.id());
        if is_callee || is_target {
            return None;
        }
        let name = self.text(object);
        let tracked = self.objects.get(name)?;
        let attribute_name = self.text(attribute.child_by_field_id(FIELD.attribute)?).to_owned();
        let session_open =
            self.sessions.get(&tracked.session).is_some_and(|session| attribute.start_byte() < session.open_until);
        let commit = match tracked.state {
            State::Expired { commit } => self.commits.get(&commit).copied(),
            _ => None,
        };
        let mut read = Read {
            kind: ReadKind::Expired,
            object: name.to_owned(),
            attribute: attribute_name.clone(),
            node: attribute,
            statement,
            tracked: tracked.clone(),
            commit,
            session_open,
            blocked: None,
        };
        if let Some(relationship) = self.index.sqlalchemy_relationship(&tracked.model, &attribute_name) {
            let lazy = relationship.lazy.as_deref().unwrap_or("select");
            match lazy {
                "noload" => return None,
                "raise" | "raise_on_sql" | "write_only" => {
                    read.blocked = Some(format!("the relationship is declared `lazy=\"{lazy}\"`: load it explicitly"));
                }
                _ => {}
            }
            let expired = matches!(tracked.state, State::Expired { .. });
            let loaded = (EAGER_STRATEGIES.contains(&lazy) || tracked.eager.contains(&attribute_name)) && !expired;
            if loaded || matches!(tracked.state, State::Transient | State::Pending) {
                return None;
            }
            read.kind = ReadKind::LazyRelationship;
            return Some(read);
        }
        matches!(tracked.state, State::Expired { .. }).then_some(read)
    }

    /// Bindings and session events in one simple statement.
    fn effects(&mut self, statement: Node<'t>, scope: ScopeId) {
        let Some(expression) = statement.named_child(0) else { return };
        match expression.kind() {
            "assignment" => {
                let (Some(left), Some(right)) =
                    (expression.child_by_field_id(FIELD.left), expression.child_by_field_id(FIELD.right))
                else {
                    return;
                };
                if left.kind() != "identifier" {
                    return;
                }
                let name = self.text(left).to_owned();
                self.objects.remove(&name);
                self.results.remove(&name);
                self.lists.remove(&name);
                self.assign(&name, right, scope);
            }
            "await" => {
                if let Some(call) = expression.named_child(0) {
                    self.session_call(call, statement);
                }
            }
            "call" => self.session_call(expression, statement),
            _ => {}
        }
    }

    fn assign(&mut self, name: &str, value: Node<'t>, scope: ScopeId) {
        // `x = await session.execute(select(...))`, `.get(Model, key)`, `.scalar(...)`, `.scalars(...)`.
        if value.kind() == "await" {
            let Some(call) = value.named_child(0) else { return };
            if call.kind() != "call" {
                return;
            }
            if let Some((session, method, arguments)) = self.session_method(call) {
                match method {
                    "execute" => {
                        if let Some(tracked) = self.loaded_by(arguments.named_child(0), &session, scope) {
                            self.results.insert(name.to_owned(), tracked);
                        }
                    }
                    "scalar" | "get" => {
                        let tracked = if method == "get" {
                            self.fetched_by_get(arguments, &session, scope)
                        } else {
                            self.loaded_by(arguments.named_child(0), &session, scope)
                        };
                        if let Some(tracked) = tracked {
                            self.objects.insert(name.to_owned(), tracked);
                        }
                    }
                    "scalars" => {
                        if let Some(tracked) = self.loaded_by(arguments.named_child(0), &session, scope) {
                            self.results.insert(name.to_owned(), tracked);
                        }
                    }
                    _ => {}
                }
                return;
            }
            // `(await session.execute(...)).scalar_one()` is handled below through the result.
        }
        if value.kind() == "call" {
            // `res.scalar_one_or_none()`, `res.scalars().all()`, `(await session.execute(q)).scalar_one()`.
            if let Some((tracked, many)) = self.loaded_from_result(value, scope) {
                if many {
                    self.lists.insert(name.to_owned(), tracked);
                } else {
                    self.objects.insert(name.to_owned(), tracked);
                }
                return;
            }
            // `user = User(...)`: a new object, tracked once it is added to a session.
            if let Some(callee) = value.child_by_field_id(FIELD.function)
                && let Value::Qualified(class) = self.evaluator.eval(callee, scope)
                && self.index.is_sqlalchemy_model(&class)
            {
                let tracked = Tracked {
                    model: class,
                    session: String::new(),
                    eager: HashSet::new(),
                    state: State::Transient,
                    select: None,
                };
                self.objects.insert(name.to_owned(), tracked);
            }
            if let Some(expire_on_commit) = self.session_made_by(value, scope) {
                self.sessions.insert(name.to_owned(), Session { expire_on_commit, open_until: usize::MAX });
            }
        }
    }

    /// `await session.method(...)` on a known session.
    fn session_method(&self, call: Node<'t>) -> Option<(String, &'t str, Node<'t>)> {
        let callee = call.child_by_field_id(FIELD.function)?;
        if callee.kind() != "attribute" {
            return None;
        }
        let object = callee.child_by_field_id(FIELD.object)?;
        let session = self.text(object);
        if !self.sessions.contains_key(session) {
            return None;
        }
        let method = self.text(callee.child_by_field_id(FIELD.attribute)?);
        Some((session.to_owned(), method, call.child_by_field_id(FIELD.arguments)?))
    }

    /// The model a `select(Model)...` statement loads, with its eager options.
    fn loaded_by(&self, statement: Option<Node<'t>>, session: &str, scope: ScopeId) -> Option<Tracked<'t>> {
        let statement = statement?;
        // The innermost call of the chain is `select(Model)`.
        let mut select = statement;
        while select.kind() == "call" {
            let callee = select.child_by_field_id(FIELD.function)?;
            match callee.kind() {
                "attribute" => select = callee.child_by_field_id(FIELD.object)?,
                _ => break,
            }
        }
        let callee = select.child_by_field_id(FIELD.function)?;
        let Value::Qualified(function) = self.evaluator.eval(callee, scope) else { return None };
        if !function.starts_with("sqlalchemy") || !function.ends_with("select") {
            return None;
        }
        let first = select.child_by_field_id(FIELD.arguments)?.named_child(0)?;
        let Value::Qualified(model) = self.evaluator.eval(first, scope) else { return None };
        if !self.index.is_sqlalchemy_model(&model) {
            return None;
        }
        Some(Tracked {
            model,
            session: session.to_owned(),
            eager: self.eager_options(statement, scope),
            state: State::Persistent,
            select: Some(statement),
        })
    }

    /// `await session.get(Model, key, options=[selectinload(Model.rel)])`.
    fn fetched_by_get(&self, arguments: Node<'t>, session: &str, scope: ScopeId) -> Option<Tracked<'t>> {
        let first = arguments.named_child(0)?;
        let Value::Qualified(model) = self.evaluator.eval(first, scope) else { return None };
        if !self.index.is_sqlalchemy_model(&model) {
            return None;
        }
        Some(Tracked {
            model,
            session: session.to_owned(),
            eager: self.eager_options(arguments, scope),
            state: State::Persistent,
            select: None,
        })
    }

    /// Relationship names loaded by `selectinload(Model.rel)` and friends inside `node`.
    fn eager_options(&self, node: Node<'t>, scope: ScopeId) -> HashSet<String> {
        let mut eager = HashSet::new();
        let mut stack = vec![node];
        while let Some(current) = stack.pop() {
            if current.kind() == "call" {
                let is_option = current.child_by_field_id(FIELD.function).is_some_and(|callee| {
                    matches!(self.evaluator.eval(callee, scope), Value::Qualified(name)
                        if EAGER_OPTIONS.iter().any(|option| name.ends_with(option)))
                });
                if is_option
                    && let Some(argument) =
                        current.child_by_field_id(FIELD.arguments).and_then(|arguments| arguments.named_child(0))
                    && let Some(attribute) = argument.child_by_field_id(FIELD.attribute)
                {
                    eager.insert(self.text(attribute).to_owned());
                }
            }
            let mut cursor = current.walk();
            stack.extend(current.named_children(&mut cursor));
        }
        eager
    }

    /// `res.scalar_one_or_none()` (one) or `res.scalars().all()` (many).
    fn loaded_from_result(&self, call: Node<'t>, scope: ScopeId) -> Option<(Tracked<'t>, bool)> {
        let callee = call.child_by_field_id(FIELD.function)?;
        let method = self.text(callee.child_by_field_id(FIELD.attribute)?);
        let mut object = callee.child_by_field_id(FIELD.object)?;
        // `res.scalars().first()`: step over `.scalars()`.
        if object.kind() == "call" {
            let inner = object.child_by_field_id(FIELD.function)?;
            if inner.child_by_field_id(FIELD.attribute).is_some_and(|attribute| self.text(attribute) == "scalars") {
                object = inner.child_by_field_id(FIELD.object)?;
            }
        }
        let tracked = match object.kind() {
            "identifier" => self.results.get(self.text(object)).cloned(),
            "parenthesized_expression" => {
                let awaited = object.named_child(0).filter(|node| node.kind() == "await")?;
                let call = awaited.named_child(0)?;
                let (session, method, arguments) = self.session_method(call)?;
                (method == "execute" || method == "scalars")
                    .then(|| self.loaded_by(arguments.named_child(0), &session, scope))
                    .flatten()
            }
            _ => None,
        }?;
        if ONE.contains(&method) {
            Some((tracked, false))
        } else if MANY.contains(&method) {
            Some((tracked, true))
        } else {
            None
        }
    }

    /// `session.add(obj)`, `await session.flush()`, `commit()`, `rollback()`, `refresh(obj)`.
    fn session_call(&mut self, call: Node<'t>, statement: Node<'t>) {
        let Some((session, method, arguments)) = self.session_method(call) else { return };
        let expire_on_commit = self.sessions.get(&session).is_some_and(|session| session.expire_on_commit);
        match method {
            "add" => {
                if let Some(object) = arguments.named_child(0).map(|node| self.text(node).to_owned())
                    && let Some(tracked) = self.objects.get_mut(&object)
                {
                    tracked.session.clone_from(&session);
                    tracked.state = State::Pending;
                }
            }
            "flush" => {
                for tracked in self.objects.values_mut().filter(|tracked| tracked.session == session) {
                    if tracked.state == State::Pending {
                        tracked.state = State::Persistent;
                    }
                }
            }
            "commit" | "rollback" => {
                self.commits.insert(statement.start_byte(), statement);
                let expires = expire_on_commit || method == "rollback";
                for tracked in self.objects.values_mut().filter(|tracked| tracked.session == session) {
                    if expires && tracked.state != State::Transient {
                        tracked.state = State::Expired { commit: statement.start_byte() };
                    } else if tracked.state == State::Pending {
                        tracked.state = State::Persistent;
                    }
                }
            }
            "refresh" => {
                let Some(object) = arguments.named_child(0).map(|node| self.text(node).to_owned()) else { return };
                let names = self.attribute_names(arguments);
                if let Some(tracked) = self.objects.get_mut(&object) {
                    if names.is_empty() {
                        tracked.state = State::Persistent;
                    } else {
                        tracked.eager.extend(names);
                        if matches!(tracked.state, State::Expired { .. }) {
                            // Refreshing some attributes reloads the key too, not the other columns.
                            tracked.state = State::Persistent;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// `attribute_names=["a", "b"]`.
    fn attribute_names(&self, arguments: Node<'t>) -> Vec<String> {
        let mut cursor = arguments.walk();
        let keyword = arguments.named_children(&mut cursor).find(|argument| {
            argument.kind() == "keyword_argument"
                && argument.child_by_field_id(FIELD.name).is_some_and(|name| self.text(name) == "attribute_names")
        });
        let Some(list) = keyword.and_then(|keyword| keyword.child_by_field_id(FIELD.value)) else { return Vec::new() };
        let mut cursor = list.walk();
        list.named_children(&mut cursor)
            .filter(|item| item.kind() == "string")
            .map(|item| self.text(item).trim_matches(|c| c == '"' || c == '\'').to_owned())
            .collect()
    }
}

struct FixBuilder<'a, 't> {
    evaluator: &'a Evaluator<'a, 't>,
    index: &'a dyn ProjectFacts,
    importer: &'a Importer<'a, 't>,
    locator: &'a Locator<'t>,
    function: Node<'t>,
    scope: ScopeId,
    style: SqlAlchemyFix,
}

impl<'t> FixBuilder<'_, 't> {
    fn source(&self) -> &'t str {
        self.evaluator.model.source
    }

    fn fix(&self, reads: &[&Read<'t>]) -> Result<Fix, String> {
        let first = reads[0];
        if let Some(reason) = &first.blocked {
            return Err(reason.clone());
        }
        if !first.session_open {
            return Err(format!(
                "the session `{}` is closed here: load it while the session is open",
                first.tracked.session
            ));
        }
        match first.kind {
            ReadKind::Expired => {
                let commit = first.commit.ok_or("the commit that expired the object is not in this function")?;
                let refresh = self
                    .after_statement(commit, &format!("await {}.refresh({})", first.tracked.session, first.object))?;
                Ok(Fix {
                    edits: Vec::new(),
                    shared: vec![refresh.clone()],
                    span: refresh.range.clone(),
                    applicability: Applicability::Safe,
                })
            }
            ReadKind::LazyRelationship => self.relationship_fix(reads),
        }
    }

    fn relationship_fix(&self, reads: &[&Read<'t>]) -> Result<Fix, String> {
        let first = reads[0];
        let relationship = self
            .index
            .sqlalchemy_relationship(&first.tracked.model, &first.attribute)
            .ok_or("the relationship is not known to the index")?;
        let mut shared = Vec::new();
        // A key read after a commit would itself reload: refresh the object first.
        if let Some(commit) = first.commit {
            shared.push(
                self.after_statement(commit, &format!("await {}.refresh({})", first.tracked.session, first.object))?,
            );
        }
        let style = match (self.style, &relationship.direction, &relationship.lazy) {
            (_, _, Some(lazy)) if lazy == "dynamic" => SqlAlchemyFix::Refresh,
            (SqlAlchemyFix::Explicit, Direction::ManyToMany | Direction::Complex, _) => SqlAlchemyFix::Refresh,
            (SqlAlchemyFix::Selectinload, _, _) if first.tracked.select.is_none() || first.commit.is_some() => {
                SqlAlchemyFix::Refresh
            }
            (style, _, _) => style,
        };
        let session = &first.tracked.session;
        let object = &first.object;
        let attribute = &first.attribute;
        let mut edits = Vec::new();
        match style {
            SqlAlchemyFix::Explicit => {
                let target = relationship.target.clone().ok_or("the relationship's target class is not known")?;
                let target_name = self.import(&target, &mut shared)?;
                match &relationship.direction {
                    Direction::OneToMany { column, collection } => {
                        let select = self.import("sqlalchemy.select", &mut shared)?;
                        let result = self.fresh_name(&format!("{attribute}_result"));
                        let value = self.fresh_name(&format!("{attribute}_list"));
                        let key = self.index.primary_key(&first.tracked.model);
                        let take = if *collection { "scalars().all()" } else { "scalar_one_or_none()" };
                        edits.push(self.before_statement(
                            first.statement,
                            &[
                                format!("{result} = await {session}.execute({select}({target_name}).where({target_name}.{column} == {object}.{key}))"),
                                format!("{value} = {result}.{take}"),
                            ],
                        )?);
                        edits.extend(
                            reads.iter().map(|read| Edit { range: read.node.byte_range(), content: value.clone() }),
                        );
                    }
                    Direction::ManyToOne { column } => {
                        let value = self.fresh_name(attribute);
                        edits.push(self.before_statement(
                            first.statement,
                            &[format!("{value} = await {session}.get({target_name}, {object}.{column})")],
                        )?);
                        edits.extend(
                            reads.iter().map(|read| Edit { range: read.node.byte_range(), content: value.clone() }),
                        );
                    }
                    Direction::ManyToMany | Direction::Complex => unreachable!("handled as refresh above"),
                }
            }
            SqlAlchemyFix::Selectinload => {
                let select = first.tracked.select.ok_or("the object was not loaded by a query in this function")?;
                let owner = self.import(&first.tracked.model, &mut shared)?;
                let loader = self.import("sqlalchemy.orm.selectinload", &mut shared)?;
                edits.push(Edit::insert(select.end_byte(), format!(".options({loader}({owner}.{attribute}))")));
            }
            SqlAlchemyFix::Refresh => {
                edits.push(self.before_statement(
                    first.statement,
                    &[format!("await {session}.refresh({object}, attribute_names=[\"{attribute}\"])")],
                )?);
            }
        }
        let start = edits.iter().map(|edit| edit.range.start).min().unwrap_or(first.node.start_byte());
        let end = edits.iter().map(|edit| edit.range.end).max().unwrap_or(first.node.end_byte());
        Ok(Fix { edits, shared, span: start..end.max(start + 1), applicability: Applicability::Safe })
    }

    /// How the file refers to `qualified` (importing it when needed).
    fn import(&self, qualified: &str, shared: &mut Vec<Edit>) -> Result<String, String> {
        let (module, name) = qualified.rsplit_once('.').ok_or("cannot import a name without a module")?;
        let plan = self.importer.import(&Wrapper::new(module, name), self.scope)?;
        shared.extend(plan.edit);
        Ok(plan.expression)
    }

    /// A name not used anywhere in the function or bound in the module.
    fn fresh_name(&self, base: &str) -> String {
        let text = self.evaluator.model.text(self.function);
        let taken = |name: &str| {
            self.evaluator.model.lookup(name, self.scope).is_some()
                || text.match_indices(name).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + name.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
        };
        if !taken(base) {
            return base.to_owned();
        }
        (2..10_000).map(|n| format!("{base}_{n}")).find(|name| !taken(name)).unwrap_or_else(|| base.to_owned())
    }

    /// Lines inserted before `statement`, at its indentation. The statement
    /// must start its line.
    fn before_statement(&self, statement: Node<'t>, lines: &[String]) -> Result<Edit, String> {
        let line_start = self.locator.line_start(statement.start_byte());
        let indentation = &self.source()[line_start..statement.start_byte()];
        if !indentation.chars().all(|c| c == ' ' || c == '\t') {
            return Err("the statement does not start its line".to_owned());
        }
        let eol = line_ending(self.source());
        let mut text = String::new();
        for line in lines {
            text.push_str(indentation);
            text.push_str(line);
            text.push_str(eol);
        }
        Ok(Edit::insert(line_start, text))
    }

    /// A line inserted after `statement`, at its indentation.
    fn after_statement(&self, statement: Node<'t>, line: &str) -> Result<Edit, String> {
        let line_start = self.locator.line_start(statement.start_byte());
        let indentation = &self.source()[line_start..statement.start_byte()];
        if !indentation.chars().all(|c| c == ' ' || c == '\t') {
            return Err("the commit does not start its line".to_owned());
        }
        let end = self.locator.full_line_end(statement.end_byte().saturating_sub(1).max(statement.start_byte()));
        let rest = &self.source()[statement.end_byte()..end];
        if !rest.trim().is_empty() && !rest.trim_start().starts_with('#') {
            return Err("the commit shares its line with other code".to_owned());
        }
        let eol = line_ending(self.source());
        let prefix = if end == self.source().len() && !self.source().ends_with('\n') { eol } else { "" };
        Ok(Edit::insert(end, format!("{prefix}{indentation}{line}{eol}")))
    }
}
