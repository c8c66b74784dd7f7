//! Follows one `async def` statement by statement: the sessions, the
//! results and objects they load, what each query eager-loaded, and what a
//! commit or rollback expired.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::{Read, ReadKind, Session, State, Tracked};
use crate::fix::NoFix;
use crate::infer::facts::ProjectFacts;
use crate::infer::{Evaluator, SQLALCHEMY_SESSION_TAG, Value};
use crate::parse::FIELD;
use crate::recipe::SessionVerb;
use crate::semantic::ScopeId;

pub(super) struct Walker<'a, 't> {
    pub(super) evaluator: &'a Evaluator<'a, 't>,
    pub(super) index: &'a dyn ProjectFacts,
    /// The scope of the function walked.
    pub(super) scope: ScopeId,
    pub(super) sessions: HashMap<String, Session>,
    pub(super) results: HashMap<String, Tracked<'t>>,
    pub(super) lists: HashMap<String, Tracked<'t>>,
    pub(super) objects: HashMap<String, Tracked<'t>>,
    /// Commit statements by their start offset.
    pub(super) commits: HashMap<usize, Node<'t>>,
    pub(super) reads: Vec<Read<'t>>,
}

impl<'t> Walker<'_, 't> {
    pub(super) fn text(&self, node: Node<'t>) -> &'t str {
        self.evaluator.model.text(node)
    }

    /// The session an expression names: one this function opened, or any
    /// value the evaluator knows is an `AsyncSession` (a parameter however
    /// annotated, `self.session`, a session captured from the enclosing
    /// function).
    pub(super) fn session(&self, object: Node<'t>) -> Option<Session> {
        if let Some(session) = self.sessions.get(self.text(object)) {
            return Some(session.clone());
        }
        if !matches!(object.kind(), "identifier" | "attribute") {
            return None;
        }
        let expire_on_commit = self.session_value(&self.evaluator.eval(object, self.scope))?;
        Some(Session { expire_on_commit, open_until: usize::MAX })
    }

    /// Whether a value is an `AsyncSession`, and if so whether it expires
    /// objects on commit. Where it came from is not known: it expires unless
    /// every session the project makes says otherwise.
    pub(super) fn session_value(&self, value: &Value) -> Option<bool> {
        let is_session = match value {
            Value::Tagged(tag) => self.evaluator.rules.tags[tag.0] == SQLALCHEMY_SESSION_TAG,
            Value::Instance { class, .. } => class.ends_with(super::ASYNC_SESSION),
            _ => false,
        };
        is_session.then(|| !self.index.sessions_never_expire())
    }

    pub(super) fn block(&mut self, block: Node<'t>, scope: ScopeId) {
        let mut cursor = block.walk();
        let statements: Vec<Node<'t>> = block.named_children(&mut cursor).collect();
        for statement in statements {
            self.statement(statement, scope);
        }
    }

    pub(super) fn statement(&mut self, statement: Node<'t>, scope: ScopeId) {
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

    pub(super) fn children_blocks(&mut self, statement: Node<'t>, scope: ScopeId) {
        let mut cursor = statement.walk();
        let children: Vec<Node<'t>> = statement.named_children(&mut cursor).collect();
        // A branch or handler that leaves (`raise`, `return`, ...) does not
        // reach the code after the statement: what it did there is undone.
        let branches = matches!(statement.kind(), "if_statement" | "try_statement");
        for child in children {
            let leaves = branches && child.kind() != "finally_clause" && leaves(child);
            let before = leaves.then(|| (self.objects.clone(), self.results.clone(), self.lists.clone()));
            match child.kind() {
                "block" => self.block(child, scope),
                "elif_clause" | "else_clause" | "except_clause" | "finally_clause" => self.statement(child, scope),
                _ => {}
            }
            if let Some((objects, results, lists)) = before {
                self.objects = objects;
                self.results = results;
                self.lists = lists;
            }
        }
    }

    /// `async with SessionLocal() as session:`.
    pub(super) fn with_clause(&mut self, clause: Node<'t>, statement: Node<'t>, scope: ScopeId) {
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

    /// `SessionLocal()`, `SessionLocal.begin()` or `AsyncSession(engine, ...)`:
    /// whether it expires on commit.
    pub(super) fn session_made_by(&self, value: Node<'t>, scope: ScopeId) -> Option<bool> {
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
        let name = match self.evaluator.eval(callee, scope) {
            Value::Qualified(name) => name,
            _ => self.evaluator.qualified_name(callee, scope)?,
        };
        if name.ends_with(super::ASYNC_SESSION) {
            let arguments: String = self.text(value).chars().filter(|c| !c.is_whitespace()).collect();
            return Some(!arguments.contains("expire_on_commit=False"));
        }
        self.index.session_factory(&name)
    }

    /// Attribute reads on tracked objects inside one statement, in source order.
    pub(super) fn reads_in(&mut self, node: Node<'t>, statement: Node<'t>) {
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
    pub(super) fn is_run_sync(&self, call: Node<'t>) -> bool {
        call.child_by_field_id(FIELD.function)
            .and_then(|callee| callee.child_by_field_id(FIELD.attribute))
            .is_some_and(|attribute| self.text(attribute) == "run_sync")
    }

    pub(super) fn read(&self, attribute: Node<'t>, statement: Node<'t>) -> Option<Read<'t>> {
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
            self.sessions.get(&tracked.session).is_none_or(|session| attribute.start_byte() < session.open_until);
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
                    read.blocked = Some(NoFix::LoadedOnlyExplicitly(lazy.to_owned()));
                }
                _ => {}
            }
            let expired = matches!(tracked.state, State::Expired { .. });
            let loaded = (self.evaluator.rules.sqlalchemy.eager_strategies.contains(lazy)
                || tracked.eager.contains(&attribute_name))
                && !expired;
            if loaded || matches!(tracked.state, State::Transient | State::Pending) {
                return None;
            }
            read.kind = ReadKind::LazyRelationship;
            return Some(read);
        }
        matches!(tracked.state, State::Expired { .. }).then_some(read)
    }

    /// Bindings and session events in one simple statement.
    pub(super) fn effects(&mut self, statement: Node<'t>, scope: ScopeId) {
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

    pub(super) fn assign(&mut self, name: &str, value: Node<'t>, scope: ScopeId) {
        // `x = await session.execute(select(...))`, `.get(Model, key)`, `.scalar(...)`, `.scalars(...)`.
        if value.kind() == "await" {
            let Some(call) = value.named_child(0) else { return };
            if call.kind() != "call" {
                return;
            }
            if let Some((session, verb, arguments)) = self.session_method(call) {
                match verb {
                    SessionVerb::Execute => {
                        if let Some(tracked) = self.loaded_by(arguments.named_child(0), &session, scope) {
                            self.results.insert(name.to_owned(), tracked);
                        }
                    }
                    SessionVerb::Scalar | SessionVerb::Get => {
                        let tracked = if verb == SessionVerb::Get {
                            self.fetched_by_get(arguments, &session, scope)
                        } else {
                            self.loaded_by(arguments.named_child(0), &session, scope)
                        };
                        if let Some(tracked) = tracked {
                            self.objects.insert(name.to_owned(), tracked);
                        }
                    }
                    SessionVerb::Scalars => {
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

    /// `await session.method(...)` on a known session, for a method the
    /// recipes' `[sqlalchemy.session]` names.
    pub(super) fn session_method(&self, call: Node<'t>) -> Option<(String, SessionVerb, Node<'t>)> {
        let callee = call.child_by_field_id(FIELD.function)?;
        if callee.kind() != "attribute" {
            return None;
        }
        let object = callee.child_by_field_id(FIELD.object)?;
        let session = self.text(object);
        self.session(object)?;
        let method = self.text(callee.child_by_field_id(FIELD.attribute)?);
        let verb = *self.evaluator.rules.sqlalchemy.session.get(method)?;
        Some((session.to_owned(), verb, call.child_by_field_id(FIELD.arguments)?))
    }

    /// The model a `select(Model)...` statement loads, with its eager options.
    pub(super) fn loaded_by(&self, statement: Option<Node<'t>>, session: &str, scope: ScopeId) -> Option<Tracked<'t>> {
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
    pub(super) fn fetched_by_get(&self, arguments: Node<'t>, session: &str, scope: ScopeId) -> Option<Tracked<'t>> {
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
    pub(super) fn eager_options(&self, node: Node<'t>, scope: ScopeId) -> HashSet<String> {
        let mut eager = HashSet::new();
        let mut stack = vec![node];
        while let Some(current) = stack.pop() {
            if current.kind() == "call" {
                let is_option = current.child_by_field_id(FIELD.function).is_some_and(|callee| {
                    matches!(self.evaluator.eval(callee, scope), Value::Qualified(name)
                        if self.evaluator.rules.sqlalchemy.eager_options.iter().any(|option| name.ends_with(option.as_str())))
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
    pub(super) fn loaded_from_result(&self, call: Node<'t>, scope: ScopeId) -> Option<(Tracked<'t>, bool)> {
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
                matches!(method, SessionVerb::Execute | SessionVerb::Scalars)
                    .then(|| self.loaded_by(arguments.named_child(0), &session, scope))
                    .flatten()
            }
            _ => None,
        }?;
        if self.evaluator.rules.sqlalchemy.result_one.contains(method) {
            Some((tracked, false))
        } else if self.evaluator.rules.sqlalchemy.result_many.contains(method) {
            Some((tracked, true))
        } else {
            None
        }
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
                if let Some(object) = arguments.named_child(0).map(|node| self.text(node).to_owned())
                    && let Some(tracked) = self.objects.get_mut(&object)
                {
                    tracked.session.clone_from(&session);
                    tracked.state = State::Pending;
                }
            }
            SessionVerb::Flush => {
                for tracked in self.objects.values_mut().filter(|tracked| tracked.session == session) {
                    if tracked.state == State::Pending {
                        tracked.state = State::Persistent;
                    }
                }
            }
            SessionVerb::Commit | SessionVerb::Rollback => {
                self.commits.insert(statement.start_byte(), statement);
                let expires = expire_on_commit || verb == SessionVerb::Rollback;
                for tracked in self.objects.values_mut().filter(|tracked| tracked.session == session) {
                    if expires && tracked.state != State::Transient {
                        tracked.state = State::Expired { commit: statement.start_byte() };
                    } else if tracked.state == State::Pending {
                        tracked.state = State::Persistent;
                    }
                }
            }
            SessionVerb::Refresh => {
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

/// Whether a block (or a clause's block) always ends by leaving it: its last
/// statement is a `return`, `raise`, `continue` or `break`.
fn leaves(node: Node<'_>) -> bool {
    let block = if node.kind() == "block" {
        Some(node)
    } else {
        let mut cursor = node.walk();
        node.named_children(&mut cursor).filter(|child| child.kind() == "block").last()
    };
    block.and_then(|block| block.named_child(block.named_child_count().checked_sub(1)?)).is_some_and(|last| {
        matches!(last.kind(), "return_statement" | "raise_statement" | "continue_statement" | "break_statement")
    })
}
