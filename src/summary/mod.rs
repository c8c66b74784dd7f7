//! What the index keeps of one module: its imports, module-level values,
//! classes (bases, relation fields, methods) and functions, each function
//! with the database evidence found in its body and the calls it makes,
//! named but not yet resolved. Made from one parse; the tree is dropped.

mod abstract_method;
mod attributes;
mod forced;
mod guards;
mod sqlalchemy;

pub use sqlalchemy::DECLARATIVE_BASE;
use sqlalchemy::{SqlAlchemyAttribute, session_constructions, session_factory, sqlalchemy_attribute};

use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use crate::infer::facts::{
    CallTarget, Effect, GuardParameter, Loads, Passing, ReturnedElement, ReturnedQuerySet, Touch, call_target,
    returned_chain, self_attribute_call, self_attribute_evaluated, self_chain,
};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::{META_MODEL, RelationKind, RuleSet};
use crate::rules;
use crate::semantic::{Binding, MethodKind, ModuleName, ScopeId, ScopeKind, SemanticModel};

#[derive(Debug, Default)]
pub struct ModuleSummary {
    pub module: ModuleName,
    /// Module-level names bound by imports, to qualified names.
    pub imports: HashMap<String, String>,
    /// Module-level names bound by one assignment, to what they evaluate to.
    pub values: HashMap<String, Value>,
    pub classes: HashMap<String, ClassSummary>,
    pub functions: HashMap<String, FunctionSummary>,
    /// `SQLAlchemy` session factories (`async_sessionmaker(...)`) and whether
    /// their sessions expire objects on commit.
    pub session_factories: HashMap<String, bool>,
    /// Every session or factory the module makes, named or not: whether
    /// each expires objects on commit.
    pub session_constructions: Vec<bool>,
    /// Modules whose names it takes whole: `from .database import *`.
    pub star_imports: Vec<String>,
}

#[derive(Debug, Default)]
pub struct ClassSummary {
    /// Base classes as qualified names, as this module imports them.
    pub bases: Vec<String>,
    pub fields: HashMap<String, FieldSummary>,
    /// Class-level instances that may be managers, by attribute: the
    /// classes whose methods they have (`objects = ShelfManager()`,
    /// `ShelfQuerySet.as_manager()`, `ShelfManager.from_queryset(ShelfQuerySet)()`).
    /// Which ones are managers is known once the index is complete.
    pub managers: HashMap<String, Vec<String>>,
    pub methods: HashMap<String, FunctionSummary>,
    /// Declares a model field (`name = models.CharField(...)`): a model,
    /// whatever its bases.
    pub declares_fields: bool,
    /// What the attributes of its instances hold, by name, as far as the
    /// class itself says (`Value::Unknown`: assigned, but not known to what).
    pub attributes: HashMap<String, Value>,
    /// `class Meta: default_related_name = "..."`: the reverse accessor of
    /// its relation fields that name none.
    pub default_related_name: Option<String>,
    /// `SQLAlchemy`: `__tablename__`.
    pub table: Option<String>,
    /// `SQLAlchemy`: mapped columns.
    pub columns: HashMap<String, ColumnSummary>,
    /// `SQLAlchemy`: `relationship()` attributes.
    pub relationships: HashMap<String, RelationshipSummary>,
    /// Class-level attributes assigned a call, with the callee's last name:
    /// a form's or serializer's declared fields (`email = EmailField()`).
    pub declared: HashMap<String, String>,
    /// A model's fields, by name, and which of them are unique
    /// (`unique=True`, `primary_key=True`).
    pub model_fields: Vec<String>,
    pub unique_fields: Vec<String>,
    /// `class Meta:` options a form's or serializer's validation and a
    /// model's uniqueness depend on.
    pub meta: MetaSummary,
}

/// The `class Meta:` options of a model form, a serializer or a model.
#[derive(Debug, Clone, Default)]
pub struct MetaSummary {
    /// A `class Meta:` body is there.
    pub present: bool,
    pub fields: Selection,
    pub exclude: Selection,
    /// `depth = N` (a serializer nesting its relations).
    pub depth: bool,
    /// `unique_together` or `constraints` (a model's multi-field uniqueness).
    pub unique_together: bool,
}

/// `fields = [...]`, `exclude = (...)` or `fields = "__all__"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    #[default]
    Absent,
    All,
    Names(Vec<String>),
    /// Written, but not as a literal.
    Unknown,
}

/// What the summariser matches by the end of a name or by text, not by a
/// resolved import; the byte scans keep the modules that spell them
/// (`crate::project::spellings`).
pub const SPELLINGS: &[&str] = &[DECLARATIVE_BASE_FACTORY, USER_MODEL_SETTING, FOREIGN_KEY];
/// `declarative_base()`, from wherever it is imported.
const DECLARATIVE_BASE_FACTORY: &str = "declarative_base";
/// `settings.AUTH_USER_MODEL` as a relation's target.
const USER_MODEL_SETTING: &str = "AUTH_USER_MODEL";
/// `ForeignKey(...)` in a `SQLAlchemy` column.
const FOREIGN_KEY: &str = "ForeignKey";
/// Where sessions are made decides how every module's sessions expire: a
/// factory, a session built directly, or the setting itself.
pub const SESSION_SPELLINGS: [&str; 3] = ["sessionmaker", "AsyncSession(", "expire_on_commit"];

/// A `SQLAlchemy` column: `user_id = mapped_column(ForeignKey("users.id"))`.
#[derive(Debug, Clone, Default)]
pub struct ColumnSummary {
    /// `"users.id"` from `ForeignKey("users.id")`.
    pub foreign_key: Option<String>,
    pub primary_key: bool,
}

/// A `SQLAlchemy` `relationship()`.
#[derive(Debug, Clone, Default)]
pub struct RelationshipSummary {
    /// The target class: a qualified name, or a bare class name from a string.
    pub target: Option<String>,
    /// The `lazy=` strategy; `None` is the default, `"select"`.
    pub lazy: Option<String>,
    /// `secondary=` given: many-to-many.
    pub secondary: bool,
    /// `primaryjoin=` given: a join asyncfix does not rewrite.
    pub custom_join: bool,
    /// `Mapped[list[...]]` (`Some(true)`), `Mapped[X]` (`Some(false)`), or `uselist=`.
    pub collection: Option<bool>,
    /// Column names given by `foreign_keys=`.
    pub foreign_keys: Vec<String>,
    /// `order_by=` or `collection_class=` given: a plain query would lose them.
    pub shaped: bool,
}

/// A relation field: `user = models.ForeignKey(User, related_name="posts")`.
#[derive(Debug, Clone)]
pub struct FieldSummary {
    pub kind: RelationKind,
    pub target: FieldTarget,
    pub related_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTarget {
    /// A class named through the module's imports.
    Class(String),
    /// `"self"`.
    SelfReference,
    /// `"app_label.Model"` or `"Model"`.
    Label(String),
    /// `settings.AUTH_USER_MODEL`.
    UserModel,
}

#[derive(Debug, Default, Clone)]
#[allow(clippy::struct_excessive_bools, reason = "independent facts about one function, each read where it matters")]
pub struct FunctionSummary {
    pub is_async: bool,
    pub kind: Option<MethodKind>,
    /// Decorated with a wrapper: calling it returns an awaitable.
    pub wrapped: bool,
    /// Its body yields: calling it returns a generator.
    pub generator: bool,
    /// A placeholder its subclasses override (`@abstractmethod`, or a body
    /// of only `pass`, `...`, a docstring or `raise NotImplementedError`).
    pub is_abstract: bool,
    /// The first direct database access (or `async_to_sync` run) in the
    /// body: the call, for messages, and its effect.
    pub direct: Option<Touch>,
    pub calls: Vec<CallTarget>,
    /// The model class it returns, from its annotation or a `return`.
    pub returns: Option<String>,
    /// The relations loaded on it by every `return` of that class (none
    /// when a `return` gives an object whose load state is not known).
    pub returns_loaded: Vec<String>,
    /// The classes its `return`s give (see
    /// [`ProjectFacts::method_returns_classes`]); `None` when one gives
    /// something else.
    pub returns_classes: Option<Vec<String>>,
    /// What it returns when a `return` gives a lazy `QuerySet`.
    pub returns_queryset: Option<ReturnedQuerySet>,
    /// When every `return` gives a tuple of one length (`return trade,
    /// members`): what each element is where every one agrees.
    pub returns_elements: Vec<Option<ReturnedElement>>,
    /// `SQLAlchemy`: the objects (or statement) it returns and what their
    /// query loaded, when every `return` agrees.
    pub loads: Option<Loads>,
    /// Which parameters its direct accesses and its calls need truthy.
    pub guards: Guards,
    /// A sync function's parameters that it reads on every path (see
    /// `forced.rs`): a lazy `request.user` passed for one loads there.
    pub forces: Vec<GuardParameter>,
}

/// The `if` tests of parameters around a function's database accesses
/// (see `guards.rs`): each access or call with the parameters (indices
/// into `parameters`) that must all be truthy for it to run; none, always.
#[derive(Debug, Default, Clone)]
pub struct Guards {
    pub parameters: Vec<GuardParameter>,
    /// One entry per direct access, in the order found.
    pub direct: Vec<Vec<usize>>,
    /// One entry per element of [`FunctionSummary::calls`].
    pub calls: Vec<Vec<usize>>,
    /// What each of [`FunctionSummary::calls`] passes, for its callee's guards.
    pub passing: Vec<Passing>,
}

impl Guards {
    fn add(&mut self, found: Vec<GuardParameter>) -> Vec<usize> {
        found
            .into_iter()
            .map(|parameter| {
                self.parameters.iter().position(|known| *known == parameter).unwrap_or_else(|| {
                    self.parameters.push(parameter);
                    self.parameters.len() - 1
                })
            })
            .collect()
    }
}

impl ModuleSummary {
    /// Whether the module binds `name` itself: a class, function, value or
    /// an import of something other than its own submodule.
    pub fn binds(&self, name: &str) -> bool {
        self.classes.contains_key(name)
            || self.functions.contains_key(name)
            || self.values.contains_key(name)
            || self.imports.get(name).is_some_and(|target| *target != format!("{}.{name}", self.module.name))
    }
}

pub fn summarize(source: &str, tree: &Tree, module: ModuleName, rules: &RuleSet) -> ModuleSummary {
    summarize_model(&SemanticModel::build(source, tree, module), rules)
}

/// [`summarize`] from the module's semantic model.
pub fn summarize_model(model: &SemanticModel<'_>, rules: &RuleSet) -> ModuleSummary {
    let evaluator = Evaluator::new(model, rules, None);
    let mut summary = ModuleSummary {
        module: model.module.clone(),
        star_imports: model.star_imports.clone(),
        ..ModuleSummary::default()
    };
    for (name, bindings) in &model.scope(ScopeId::MODULE).bindings {
        match bindings.as_slice() {
            [Binding::Import(target)] => {
                summary.imports.insert((*name).to_owned(), target.clone());
            }
            [Binding::Assign(value)] => {
                if let Some(factory) = session_factory(*value, &evaluator) {
                    summary.session_factories.insert((*name).to_owned(), factory);
                    continue;
                }
                let is_declarative_base = value.kind() == "call"
                    && value.child_by_field_id(FIELD.function).is_some_and(|function| {
                        matches!(evaluator.eval(function, ScopeId::MODULE), Value::Qualified(name) if name.ends_with(DECLARATIVE_BASE_FACTORY))
                    });
                if is_declarative_base {
                    summary.values.insert((*name).to_owned(), Value::Qualified(DECLARATIVE_BASE.to_owned()));
                    continue;
                }
                let value = evaluator.eval(*value, ScopeId::MODULE);
                if value != Value::Unknown {
                    summary.values.insert((*name).to_owned(), value);
                }
            }
            _ => {}
        }
    }
    let root = model.tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let definition = definition_of(statement);
        match definition.kind() {
            "class_definition" => {
                if let Some((name, class)) = class_summary(definition, ScopeId::MODULE, &evaluator) {
                    summary.classes.insert(name, class);
                }
            }
            "function_definition" => {
                if let Some(name) = definition.child_by_field_id(FIELD.name) {
                    let function = function_summary(definition, &evaluator);
                    summary.functions.insert(model.text(name).to_owned(), function);
                }
            }
            _ => {}
        }
    }
    local_classes(&evaluator, &mut summary);
    summary.session_constructions = session_constructions(&evaluator);
    summary
}

/// Classes defined inside functions (a consumer class in a test function),
/// by their `__qualname__` (`test_consumer.<locals>.TestConsumer`).
fn local_classes(evaluator: &Evaluator<'_, '_>, summary: &mut ModuleSummary) {
    let model = evaluator.model;
    let prefix = format!("{}.", model.module.name);
    let mut stack = vec![model.tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "class_definition"
            && let Some(inner) = model.scope_opened_by(node)
            && let Some(outer) = model.scope(inner).parent
            && matches!(model.scope(outer).kind, ScopeKind::Function { .. })
            && let Some(key) = model.scope(inner).class_name.as_deref().and_then(|name| name.strip_prefix(&prefix))
            && let Some((_, class)) = class_summary(node, outer, evaluator)
        {
            summary.classes.insert(key.to_owned(), class);
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor).filter(|child| {
            // Only statements can hold a class definition.
            !matches!(
                child.kind(),
                "expression_statement" | "return_statement" | "import_statement" | "import_from_statement"
            )
        }));
    }
}

/// An attribute read in a function body (not a call's callee): the first
/// use of a lazy `request.user` loads the user (noted when `touch_matters`),
/// and an instance's attribute may be a property the call graph follows.
fn attribute_read(
    node: Node<'_>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
    touch_matters: bool,
    note: &mut impl FnMut(usize, String, Effect),
    calls: &mut Vec<CallTarget>,
) {
    let is_callee = node.parent().is_some_and(|parent| {
        parent.kind() == "call" && parent.child_by_field_id(FIELD.function).is_some_and(|f| f.id() == node.id())
    });
    if is_callee {
        return;
    }
    if touch_matters && let Some(site) = rules::lazy_request_user::check_attribute(node, scope, evaluator) {
        note(node.start_byte(), site.callee, Effect::LazyUser);
    }
    if let (Some(object), Some(attribute)) =
        (node.child_by_field_id(FIELD.object), node.child_by_field_id(FIELD.attribute))
        && let Value::Instance { class, .. } = evaluator.eval(object, scope)
    {
        let target = CallTarget::Attribute { class, attribute: evaluator.model.text(attribute).to_owned() };
        add_call(calls, target);
    }
}

/// A `for` loop or comprehension clause in a function body: iterating a
/// `QuerySet` queries (noted when `touch_matters`); iterating what a
/// project function returns is a call the graph follows.
fn loop_iterable(
    node: Node<'_>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
    touch_matters: bool,
    note: &mut impl FnMut(usize, String, Effect),
    calls: &mut Vec<CallTarget>,
) {
    let Some(iterable) = node.child_by_field_id(FIELD.right) else { return };
    if let Value::QuerySet { .. } = evaluator.eval(iterable, scope)
        && touch_matters
    {
        let reason = format!("for ... in {}", rules::summarize(iterable, evaluator.model.source));
        note(iterable.start_byte(), reason, Effect::Database);
    } else if let Some(target) = iterated_target(iterable, scope, evaluator) {
        add_call(calls, target);
    }
}

/// The def or class inside a decorated definition.
fn definition_of(statement: Node<'_>) -> Node<'_> {
    if statement.kind() == "decorated_definition" {
        statement.child_by_field_id(FIELD.definition).unwrap_or(statement)
    } else {
        statement
    }
}

/// A class's summary; `scope` is where it is defined (its bases are names there).
fn class_summary(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<(String, ClassSummary)> {
    let model = evaluator.model;
    let name = model.text(node.child_by_field_id(FIELD.name)?).to_owned();
    let mut class = ClassSummary::default();
    if let Some(bases) = node.child_by_field_id(FIELD.superclasses) {
        let mut cursor = bases.walk();
        for base in bases.named_children(&mut cursor) {
            if let Value::Qualified(qualified) = evaluator.eval(base, scope) {
                class.bases.push(qualified);
            }
        }
    }
    class.attributes = attributes::instance_attributes(node, evaluator);
    let body = node.child_by_field_id(FIELD.body)?;
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        let definition = definition_of(statement);
        if definition.kind() == "function_definition" {
            if let Some(method) = definition.child_by_field_id(FIELD.name) {
                // `@declared_attr def team(cls): return relationship(...)` in a mixin.
                if let Some(relationship) = declared_relationship(statement, definition, evaluator) {
                    class.relationships.insert(model.text(method).to_owned(), relationship);
                }
                class.methods.insert(model.text(method).to_owned(), function_summary(definition, evaluator));
            }
            continue;
        }
        if definition.kind() == "class_definition"
            && definition.child_by_field_id(FIELD.name).is_some_and(|inner| model.text(inner) == "Meta")
        {
            class.default_related_name = meta_string(definition, "default_related_name", evaluator);
            // A model form's or serializer's model, read as the attribute
            // `Meta.model` (a subclass's `class Meta(Base.Meta)` inherits it).
            match meta_value(definition, "model", evaluator) {
                Some(Value::Qualified(meta_model)) => {
                    class.attributes.insert(META_MODEL.to_owned(), Value::Qualified(meta_model));
                }
                // `from .models import *`: the index resolves the module's
                // own name through its star imports.
                Some(Value::Unknown) if !model.star_imports.is_empty() => {
                    if let Some(name) =
                        meta_assigned(definition, "model", evaluator).filter(|n| n.kind() == "identifier")
                    {
                        let own = format!("{}.{}", model.module.name, model.text(name));
                        class.attributes.insert(META_MODEL.to_owned(), Value::Qualified(own));
                    }
                }
                _ => {}
            }
            class.meta = meta_options(definition, evaluator);
            continue;
        }
        // `user = models.ForeignKey(...)`, `user_id: Mapped[int] = mapped_column(...)`
        let Some(assignment) = statement.named_child(0).filter(|child| child.kind() == "assignment") else { continue };
        let (Some(left), Some(right)) =
            (assignment.child_by_field_id(FIELD.left), assignment.child_by_field_id(FIELD.right))
        else {
            continue;
        };
        if left.kind() != "identifier" {
            continue;
        }
        let attribute = model.text(left).to_owned();
        if attribute == "__tablename__" && right.kind() == "string" {
            class.table = Some(string_value(model.text(right)));
            continue;
        }
        if right.kind() != "call" {
            continue;
        }
        if is_model_field(right, evaluator) {
            class.declares_fields = true;
            class.model_fields.push(attribute.clone());
            if declares_unique(right, evaluator) {
                class.unique_fields.push(attribute.clone());
            }
        }
        if let Some(callee) = right.child_by_field_id(FIELD.function) {
            let callee = model.text(callee);
            class.declared.insert(attribute.clone(), callee.rsplit('.').next().unwrap_or(callee).to_owned());
        }
        if let Some(field) = relation_field(right, evaluator) {
            class.fields.insert(attribute.clone(), field);
        } else if let Some(classes) = manager_classes(right, evaluator) {
            class.managers.insert(attribute.clone(), classes);
        }
        let annotation = assignment.child_by_field_id(FIELD.r#type);
        match sqlalchemy_attribute(right, annotation, evaluator) {
            Some(SqlAlchemyAttribute::Column(column)) => {
                class.columns.insert(attribute, column);
            }
            Some(SqlAlchemyAttribute::Relationship(relationship)) => {
                class.relationships.insert(attribute, relationship);
            }
            None => {}
        }
    }
    // `class Hero(SQLModel, table=True)` names its table after the class.
    if class.table.is_none() && is_sqlmodel_table(node, scope, evaluator) {
        class.table = Some(name.to_lowercase());
    }
    Some((name, class))
}

/// `class Hero(SQLModel, table=True)`.
fn is_sqlmodel_table(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> bool {
    let model = evaluator.model;
    let Some(bases) = node.child_by_field_id(FIELD.superclasses) else { return false };
    let mut cursor = bases.walk();
    let arguments: Vec<Node<'_>> = bases.named_children(&mut cursor).collect();
    let is_table = arguments.iter().any(|argument| {
        argument.kind() == "keyword_argument"
            && argument.child_by_field_id(FIELD.name).is_some_and(|name| model.text(name) == "table")
            && argument.child_by_field_id(FIELD.value).is_some_and(|value| model.text(value) == "True")
    });
    is_table
        && arguments.iter().any(|argument| {
            matches!(evaluator.eval(*argument, scope), Value::Qualified(base) if base.starts_with("sqlmodel"))
        })
}

/// The relationship a `@declared_attr` method returns.
fn declared_relationship(
    statement: Node<'_>,
    method: Node<'_>,
    evaluator: &Evaluator<'_, '_>,
) -> Option<RelationshipSummary> {
    let model = evaluator.model;
    if statement.kind() != "decorated_definition" {
        return None;
    }
    let mut cursor = statement.walk();
    let declared = statement
        .named_children(&mut cursor)
        .filter(|child| child.kind() == "decorator")
        .any(|decorator| model.text(decorator).contains("declared_attr"));
    if !declared {
        return None;
    }
    let body = method.child_by_field_id(FIELD.body)?;
    let mut cursor = body.walk();
    let returned = body
        .named_children(&mut cursor)
        .find(|statement| statement.kind() == "return_statement")
        .and_then(|statement| statement.named_child(0))
        .filter(|value| value.kind() == "call")?;
    let annotation = method.child_by_field_id(FIELD.return_type);
    match sqlalchemy_attribute(returned, annotation, evaluator)? {
        SqlAlchemyAttribute::Relationship(relationship) => Some(relationship),
        SqlAlchemyAttribute::Column(_) => None,
    }
}

/// The value assigned to `key` in a `class Meta:` body.
fn meta_assigned<'t>(meta: Node<'t>, key: &str, evaluator: &Evaluator<'_, 't>) -> Option<Node<'t>> {
    let model = evaluator.model;
    let body = meta.child_by_field_id(FIELD.body)?;
    let mut cursor = body.walk();
    let statements: Vec<Node<'t>> = body.named_children(&mut cursor).collect();
    statements.into_iter().find_map(|statement| {
        let assignment = statement.named_child(0).filter(|child| child.kind() == "assignment")?;
        let left = assignment.child_by_field_id(FIELD.left)?;
        (model.text(left) == key).then(|| assignment.child_by_field_id(FIELD.right)).flatten()
    })
}

/// `key = "value"` in a `class Meta:` body.
fn meta_string(meta: Node<'_>, key: &str, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    let right = meta_assigned(meta, key, evaluator).filter(|right| right.kind() == "string")?;
    Some(string_value(evaluator.model.text(right)))
}

/// What `key = Name` in a `class Meta:` body names, as the module sees it.
fn meta_value(meta: Node<'_>, key: &str, evaluator: &Evaluator<'_, '_>) -> Option<Value> {
    let right =
        meta_assigned(meta, key, evaluator).filter(|right| matches!(right.kind(), "identifier" | "attribute"))?;
    Some(evaluator.eval(right, ScopeId::MODULE))
}

/// `unique=True` or `primary_key=True` among a field's arguments.
fn declares_unique(call: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    let Some(arguments) = call.child_by_field_id(FIELD.arguments) else { return false };
    let mut cursor = arguments.walk();
    let keywords: Vec<Node<'_>> =
        arguments.named_children(&mut cursor).filter(|argument| argument.kind() == "keyword_argument").collect();
    keywords.into_iter().any(|argument| {
        argument
            .child_by_field_id(FIELD.name)
            .is_some_and(|name| matches!(evaluator.model.text(name), "unique" | "primary_key"))
            && argument.child_by_field_id(FIELD.value).is_some_and(|value| evaluator.model.text(value) != "False")
    })
}

/// The options of a `class Meta:` body that decide what a form or
/// serializer validates and shows.
fn meta_options(meta: Node<'_>, evaluator: &Evaluator<'_, '_>) -> MetaSummary {
    let names = |key: &str| -> Selection {
        let Some(right) = meta_assigned(meta, key, evaluator) else { return Selection::Absent };
        match right.kind() {
            "string" if string_value(evaluator.model.text(right)) == "__all__" => Selection::All,
            "list" | "tuple" => {
                let mut cursor = right.walk();
                let items: Vec<Node<'_>> =
                    right.named_children(&mut cursor).filter(|item| item.kind() != "comment").collect();
                items
                    .iter()
                    .map(|item| crate::parse::string_literal(*item, evaluator.model.source))
                    .collect::<Option<Vec<String>>>()
                    .map_or(Selection::Unknown, Selection::Names)
            }
            _ => Selection::Unknown,
        }
    };
    MetaSummary {
        present: true,
        fields: names("fields"),
        exclude: names("exclude"),
        depth: meta_assigned(meta, "depth", evaluator).is_some_and(|depth| evaluator.model.text(depth) != "0"),
        unique_together: meta_assigned(meta, "unique_together", evaluator).is_some()
            || meta_assigned(meta, "constraints", evaluator).is_some(),
    }
}

/// `models.CharField(...)`, `ArrayField(...)`: a field of the recipes' field modules.
fn is_model_field(call: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    let Some(callee) = call.child_by_field_id(FIELD.function) else { return false };
    let Value::Qualified(class) = evaluator.eval(callee, ScopeId::MODULE) else { return false };
    let Some((module, name)) = class.rsplit_once('.') else { return false };
    name.ends_with("Field")
        && evaluator.rules.orm.field_modules.iter().any(|fields| {
            module == fields || module.strip_prefix(fields.as_str()).is_some_and(|rest| rest.starts_with('.'))
        })
}

fn relation_field(call: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<FieldSummary> {
    let model = evaluator.model;
    let callee = call.child_by_field_id(FIELD.function)?;
    let Value::Qualified(field_class) = evaluator.eval(callee, ScopeId::MODULE) else { return None };
    let kind = *evaluator.rules.orm.relation_fields.get(&field_class)?;
    let arguments = call.child_by_field_id(FIELD.arguments)?;
    let mut target = None;
    let mut related_name = None;
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        if argument.kind() == "keyword_argument" {
            let key = argument.child_by_field_id(FIELD.name).map_or("", |key| model.text(key));
            let Some(value) = argument.child_by_field_id(FIELD.value) else { continue };
            match key {
                "related_name" if value.kind() == "string" => related_name = Some(string_value(model.text(value))),
                "to" => target = Some(value),
                _ => {}
            }
        } else if target.is_none() {
            target = Some(argument);
        }
    }
    let Some(target) = target else {
        let default = evaluator.rules.orm.default_targets.get(&field_class)?;
        return Some(FieldSummary { kind, target: FieldTarget::Class(default.clone()), related_name });
    };
    let target = if target.kind() == "string" {
        match string_value(model.text(target)).as_str() {
            "self" => FieldTarget::SelfReference,
            label => FieldTarget::Label(label.to_owned()),
        }
    } else if model.text(target).ends_with(USER_MODEL_SETTING) {
        FieldTarget::UserModel
    } else {
        match evaluator.eval(target, ScopeId::MODULE) {
            Value::Qualified(class) => FieldTarget::Class(class),
            _ => return None,
        }
    };
    Some(FieldSummary { kind, target, related_name })
}

/// The classes behind a class-level instance that may be a manager:
/// `M()` is `[M]`, `Q.as_manager()` is `[Q]`, `M.from_queryset(Q)()` is `[M, Q]`.
fn manager_classes(call: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<Vec<String>> {
    let model = evaluator.model;
    let class_of = |node: Node<'_>| match evaluator.eval(node, ScopeId::MODULE) {
        Value::Qualified(name) if crate::infer::looks_like_class(&name) => Some(name),
        _ => None,
    };
    let callee = call.child_by_field_id(FIELD.function)?;
    match callee.kind() {
        "attribute" if model.text(callee.child_by_field_id(FIELD.attribute)?) == "as_manager" => {
            Some(vec![class_of(callee.child_by_field_id(FIELD.object)?)?])
        }
        "call" => {
            let inner = callee.child_by_field_id(FIELD.function)?;
            if inner.kind() != "attribute" || model.text(inner.child_by_field_id(FIELD.attribute)?) != "from_queryset" {
                return None;
            }
            let manager = class_of(inner.child_by_field_id(FIELD.object)?)?;
            let queryset = class_of(callee.child_by_field_id(FIELD.arguments)?.named_child(0)?)?;
            Some(vec![manager, queryset])
        }
        _ => Some(vec![class_of(callee)?]),
    }
}

fn string_value(text: &str) -> String {
    text.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_matches(|c| c == '"' || c == '\'').to_owned()
}

/// A decorator that enters a recipe's context manager on every call
/// (`@transaction.atomic`, `@atomic(using="default")`): the function
/// touches the database whatever its body does.
fn touching_decorator(decorated: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<String> {
    let mut cursor = decorated.walk();
    let decorators: Vec<Node<'_>> =
        decorated.named_children(&mut cursor).filter(|child| child.kind() == "decorator").collect();
    decorators.into_iter().find_map(|decorator| {
        let expression = decorator.named_child(0)?;
        let callee = match expression.kind() {
            "call" => expression.child_by_field_id(FIELD.function)?,
            _ => expression,
        };
        let Value::Qualified(name) = evaluator.eval(callee, ScopeId::MODULE) else { return None };
        let callable = evaluator.rules.callables.get(&name)?;
        (callable.site && callable.with_only).then(|| format!("`@{}`", evaluator.model.text(callee)))
    })
}

/// Whether `node` runs only when a test found a coroutine function
/// (`if asyncio.iscoroutinefunction(f): async_to_sync(f)(...)`): code that
/// accepts sync and async callables drives async code only when given one,
/// which its callers cannot be judged by.
fn adapts_to_coroutines(node: Node<'_>, source: &str) -> bool {
    const TESTS: [&str; 3] = ["iscoroutinefunction", "iscoroutine", "isawaitable"];
    let mut child = node;
    while let Some(parent) = child.parent() {
        let condition = match parent.kind() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "if_statement" | "elif_clause" | "while_statement" => parent.child_by_field_id(FIELD.condition),
            // `a if test else b`: no field names.
            "conditional_expression" => parent.named_child(1),
            _ => None,
        };
        if condition.is_some_and(|condition| {
            condition.id() != child.id() && TESTS.iter().any(|test| source[condition.byte_range()].contains(test))
        }) {
            return true;
        }
        child = parent;
    }
    false
}

/// What a function's `return`s give, gathered in one walk of its body.
#[derive(Default)]
struct Returns {
    /// What each `return` of an instance loaded on it (empty for a value
    /// whose load state is unknown).
    loads: Vec<Vec<String>>,
    /// The class each `return` gives, if it gives one.
    classes: Vec<Option<String>>,
    /// The model class of each tuple element the `return`s so far agree on.
    elements: Elements,
}

impl Returns {
    fn note(&mut self, summary: &mut FunctionSummary, value: Option<Node<'_>>, evaluated: Option<Value>, source: &str) {
        let class = value.zip(evaluated.as_ref());
        self.classes.push(class.and_then(|(value, evaluated)| returned_class(value, evaluated, source)));
        match evaluated {
            Some(Value::Instance { class, preloaded }) => {
                let same = *summary.returns.get_or_insert_with(|| class.clone()) == class;
                self.loads.push(if same { preloaded } else { Vec::new() });
            }
            // `return None` loads nothing and hides nothing.
            _ if value.is_some_and(|value| value.kind() == "none") => {}
            Some(Value::QuerySet { model, .. }) if summary.returns_queryset.is_none() => {
                summary.returns_queryset = Some(model.map_or(ReturnedQuerySet::SameModel, ReturnedQuerySet::Model));
            }
            // Anything else may be an instance whose load state is not known.
            _ => self.loads.push(Vec::new()),
        }
    }

    /// `return trade, members`: the class of each element, position by
    /// position, kept where every `return` agrees.
    fn note_elements(&mut self, value: Option<Node<'_>>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) {
        let tuple = value.filter(|value| matches!(value.kind(), "expression_list" | "tuple")).map(|value| {
            let mut cursor = value.walk();
            value
                .named_children(&mut cursor)
                .filter(|element| element.kind() != "comment")
                .map(|element| match evaluator.eval(element, scope) {
                    Value::Instance { class, .. } => Some(ReturnedElement::Instance(class)),
                    Value::InstanceList { class: Some(class), .. } => Some(ReturnedElement::List(class)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        });
        self.elements = match (std::mem::take(&mut self.elements), tuple) {
            (Elements::Unseen, Some(tuple)) => Elements::Agreed(tuple),
            (Elements::Agreed(agreed), Some(tuple)) if agreed.len() == tuple.len() => Elements::Agreed(
                agreed.into_iter().zip(tuple).map(|(old, new)| old.filter(|old| new.as_ref() == Some(old))).collect(),
            ),
            _ => Elements::NotTuples,
        };
    }
}

/// What the `return`s of a function read so far say of tuple elements.
#[derive(Default)]
enum Elements {
    #[default]
    Unseen,
    /// Each gives a tuple of this length; the class at each position where
    /// all agree.
    Agreed(Vec<Option<ReturnedElement>>),
    /// One gives something else.
    NotTuples,
}

/// The class a `return` gives, for [`FunctionSummary::returns_classes`]: a
/// class, `self.x` (as `"self.x"`) or `super().method(...)` (as `"super"`).
fn returned_class(value: Node<'_>, evaluated: &Value, source: &str) -> Option<String> {
    let text = &source[value.byte_range()];
    if value.kind() == "attribute"
        && value.child_by_field_id(FIELD.object).is_some_and(|object| &source[object.byte_range()] == "self")
    {
        return Some(text.to_owned());
    }
    if value.kind() == "call" && text.starts_with("super().") {
        return Some("super".to_owned());
    }
    match evaluated {
        Value::Qualified(name) if crate::infer::looks_like_class(name) => Some(name.clone()),
        _ => None,
    }
}

/// The relation paths every one of `loads` has.
fn loaded_by_all(loads: &[Vec<String>]) -> Vec<String> {
    let Some((first, rest)) = loads.split_first() else { return Vec::new() };
    first.iter().filter(|path| rest.iter().all(|other| other.contains(path))).cloned().collect()
}

/// The evidence that explains a function's direct touch, and where it is.
struct FirstDirect(Option<(usize, Touch)>);

impl FirstDirect {
    /// The first in source order explains the function, except that a
    /// stronger effect wins over an earlier weaker one (a query after the
    /// lazy user's load).
    fn note(&mut self, offset: usize, reason: &str, effect: Effect) {
        let wins = self.0.as_ref().is_none_or(|(first, touch)| {
            let (new, old) = (effect.strength(), touch.effect.strength());
            new > old || (new == old && offset < *first)
        });
        if wins {
            self.0 = Some((
                offset,
                Touch { reason: format!("`{reason}`"), effect, generator: false, only_when: Vec::new() },
            ));
        }
    }
}

/// Records a call; [`dedup_calls`] merges repeats once their guards are known.
fn add_call(calls: &mut Vec<CallTarget>, target: CallTarget) {
    calls.push(target);
}

/// Each call once: a call made in several places runs whenever one of them
/// does, so it keeps only the guards they share, and what they pass only
/// when they pass the same.
fn dedup_calls(
    calls: Vec<CallTarget>,
    guards: Vec<(Vec<usize>, Passing)>,
) -> (Vec<CallTarget>, Vec<Vec<usize>>, Vec<Passing>) {
    let mut kept: Vec<CallTarget> = Vec::with_capacity(calls.len());
    let mut kept_guards: Vec<Vec<usize>> = Vec::with_capacity(calls.len());
    let mut kept_passing: Vec<Passing> = Vec::with_capacity(calls.len());
    for (call, (guard, passing)) in calls.into_iter().zip(guards) {
        if let Some(at) = kept.iter().position(|known| *known == call) {
            kept_guards[at].retain(|parameter| guard.contains(parameter));
            if kept_passing[at] != passing {
                kept_passing[at] = Passing::default();
            }
        } else {
            kept.push(call);
            kept_guards.push(guard);
            kept_passing.push(passing);
        }
    }
    (kept, kept_guards, kept_passing)
}

/// What a site in a sync body makes its function do on the event loop.
fn effect_of(rule: crate::recipe::RuleId, rules: &RuleSet) -> Effect {
    if Some(rule) == rules.async_to_sync {
        Effect::AsyncToSync
    } else if Some(rule) == rules.lazy_request_user {
        Effect::LazyUser
    } else if rules.rule(rule).resource.is_some() {
        Effect::Resource(rule)
    } else {
        Effect::Database
    }
}

/// `for x in self.m1()` or `for x in self.members.all()`: the target to
/// resolve once the index knows what `self` and the chain are.
fn iterated_target(iterable: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<CallTarget> {
    match self_chain(iterable, scope, evaluator) {
        Some((class, methods)) => Some(CallTarget::SelfChain { class, methods, evaluates: None }),
        None => self_attribute_evaluated(iterable, scope, evaluator),
    }
}

/// `list(self.members.all())`, `len(self.book_set.filter(...))`: a builtin
/// the recipes say evaluates a `QuerySet`, on a chain from a relation of `self`.
fn evaluated_argument(call: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<CallTarget> {
    let model = evaluator.model;
    let callee = call.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "identifier")?;
    let name = model.text(callee);
    if !evaluator.rules.evaluating_functions.contains_key(name) || model.lookup(name, scope).is_some() {
        return None;
    }
    let argument = call.child_by_field_id(FIELD.arguments)?.named_child(0)?;
    self_attribute_evaluated(argument, scope, evaluator)
}

/// What a function's signature says: async or not, its kind, whether a
/// wrapper decorates it (and a decorator that touches the database), its
/// annotated return.
fn signature_summary(node: Node<'_>, evaluator: &Evaluator<'_, '_>) -> (FunctionSummary, Option<String>) {
    let model = evaluator.model;
    let scope = model.scope_opened_by(node).unwrap_or(ScopeId::MODULE);
    let data = model.scope(scope);
    let mut summary = FunctionSummary {
        is_async: node.child(0).is_some_and(|first| first.kind() == "async"),
        kind: data.method.as_ref().map(|method| method.kind),
        is_abstract: data.method.is_some() && abstract_method::is_abstract(node, model.source),
        ..FunctionSummary::default()
    };
    let mut decorated_by = None;
    if let Some(decorated) = node.parent().filter(|parent| parent.kind() == "decorated_definition") {
        summary.wrapped = evaluator.is_wrapped_definition(decorated, ScopeId::MODULE);
        decorated_by = touching_decorator(decorated, evaluator);
    }
    // `-> Member`, `-> "Member"`, `-> Optional[Member]`.
    summary.returns = node
        .child_by_field_id(FIELD.return_type)
        .and_then(|returns| evaluator.annotated_instance_class(returns, ScopeId::MODULE));
    summary.loads = rules::sqlalchemy::function_loads(node, evaluator);
    (summary, decorated_by)
}

fn function_summary(node: Node<'_>, evaluator: &Evaluator<'_, '_>) -> FunctionSummary {
    let model = evaluator.model;
    let scope = model.scope_opened_by(node).unwrap_or(ScopeId::MODULE);
    let class = model.scope(scope).method.as_ref().map(|method| method.class.clone());
    let (mut summary, decorated_by) = signature_summary(node, evaluator);
    let Some(body) = node.child_by_field_id(FIELD.body) else { return summary };
    // Most bodies never spell `yield`: no walk for them.
    summary.generator = model.text(body).contains("yield") && rules::yields(body);
    // Walk the body, not nested defs, lambdas or classes: they run only if called.
    if decorated_by.is_some() {
        summary.guards.direct.push(Vec::new());
    }
    let mut first_direct = FirstDirect(
        decorated_by
            .map(|reason| (0, Touch { reason, effect: Effect::Database, generator: false, only_when: Vec::new() })),
    );
    let notes = std::cell::Cell::new(0_usize);
    let mut note = |offset: usize, reason: String, effect: Effect| {
        notes.set(notes.get() + 1);
        first_direct.note(offset, &reason, effect);
    };
    let guarded = guards::Guarded {
        model,
        definition: node,
        scope,
        skip_first: summary.kind.is_some_and(|kind| kind != MethodKind::Static),
    };
    let mut call_guards: Vec<(Vec<usize>, Passing)> = Vec::new();
    let mut returned = Returns::default();
    // Only a sync, unwrapped function's own database access is ever asked
    // about ([`crate::index`]'s call graph): an async one's calls are the
    // check's, and cost the rules a second look here.
    let touch_matters = !summary.is_async && !summary.wrapped;
    let mut stack = vec![(body, scope)];
    while let Some((current, current_scope)) = stack.pop() {
        let (calls_before, notes_before) = (summary.calls.len(), notes.get());
        if touch_matters {
            forced::note(&mut summary.forces, current, current_scope, &guarded);
        }
        match current.kind() {
            "function_definition" | "lambda" | "class_definition" | "decorated_definition" => continue,
            "call" => {
                let site = if touch_matters { rules::check_call(current, current_scope, evaluator) } else { None };
                if let Some(site) = site {
                    let effect = effect_of(site.rule, evaluator.rules);
                    if effect != Effect::AsyncToSync || !adapts_to_coroutines(current, model.source) {
                        note(current.start_byte(), site.callee, effect);
                    }
                } else if let Some((class, mut methods)) = self_chain(current, current_scope, evaluator)
                    && methods.last().is_some_and(|last| evaluator.rules.orm.evaluating.contains(last))
                {
                    let evaluates = methods.pop();
                    add_call(&mut summary.calls, CallTarget::SelfChain { class, methods, evaluates });
                } else if let Some(target) = returned_chain(current, current_scope, evaluator) {
                    add_call(&mut summary.calls, target);
                } else if let Some(target) = evaluated_argument(current, current_scope, evaluator) {
                    add_call(&mut summary.calls, target);
                }
                let targets = [
                    call_target(current, current_scope, evaluator, class.as_deref()),
                    self_attribute_call(current, current_scope, evaluator),
                ];
                for target in targets.into_iter().flatten() {
                    add_call(&mut summary.calls, target);
                }
            }
            "attribute" => {
                attribute_read(current, current_scope, evaluator, touch_matters, &mut note, &mut summary.calls);
            }
            "return_statement" => {
                let value = current.named_child(0);
                let evaluated = value.map(|value| evaluator.eval(value, current_scope));
                returned.note(&mut summary, value, evaluated, model.source);
                returned.note_elements(value, current_scope, evaluator);
            }
            "for_statement" | "for_in_clause" => {
                loop_iterable(current, current_scope, evaluator, touch_matters, &mut note, &mut summary.calls);
            }
            _ => {}
        }
        let (new_calls, new_notes) = (summary.calls.len() - calls_before, notes.get() - notes_before);
        if new_calls + new_notes > 0 {
            let guard = if touch_matters { summary.guards.add(guarded.guard_of(current)) } else { Vec::new() };
            // A call's arguments (a `for` or an attribute read has none).
            let record = |parameter| summary.guards.add(vec![parameter])[0];
            let passing = if touch_matters { guards::passing(current, &guarded, record) } else { Passing::default() };
            summary.guards.direct.extend(std::iter::repeat_n(guard.clone(), new_notes));
            call_guards.extend(std::iter::repeat_n((guard, passing), new_calls));
        }
        let child_scope = model.scope_opened_by(current).unwrap_or(current_scope);
        let mut cursor = current.walk();
        for child in current.named_children(&mut cursor) {
            stack.push((child, child_scope));
        }
    }
    (summary.calls, summary.guards.calls, summary.guards.passing) =
        dedup_calls(std::mem::take(&mut summary.calls), call_guards);
    summary.direct = first_direct.0.map(|(_, text)| text);
    summary.returns_loaded = loaded_by_all(&returned.loads);
    if let Elements::Agreed(elements) = returned.elements {
        summary.returns_elements = elements;
    }
    // Every `return` must give a class (`None` when one does not).
    summary.returns_classes =
        returned.classes.into_iter().collect::<Option<Vec<_>>>().filter(|classes| !classes.is_empty());
    summary
}
