//! What the check may ask about the project beyond one file, and the types
//! of the answers. The evaluator and the rules ask through [`ProjectFacts`];
//! the project index (`crate::index`) answers. Keeping the question here
//! keeps the data flowing one way: inference never imports the index.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::{Evaluator, Value};
use crate::parse::FIELD;
use crate::recipe::{Callable, RuleSet};
use crate::semantic::arguments::{self, Passed};
use crate::semantic::{Binding, ScopeId};

/// What the settings modules of one import root say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DjangoSettings {
    /// Every app named by `INSTALLED_APPS` or a list it is built from
    /// (`THIRD_PARTY_APPS`); `None` when one of them is not a literal.
    pub installed_apps: Option<BTreeSet<String>>,
    /// `TEMPLATES[...]["OPTIONS"]["context_processors"]`, every backend's;
    /// `None` when a list of them is not a literal.
    pub context_processors: Option<BTreeSet<String>>,
    /// A project middleware in `MIDDLEWARE` replaces the authentication
    /// middleware's lazy `request.user` with a loaded user.
    pub eager_request_user: bool,
}

/// What one template reads, with every template it extends or includes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TemplateUses {
    /// Every dotted variable a tag or a `{{ }}` names, and each of its
    /// prefixes: `user.profile.name` gives `user`, `user.profile` and itself.
    pub variables: BTreeSet<String>,
    /// An `{% extends %}` or `{% include %}` names a template that is not
    /// found, or by a variable: what it reads is not known.
    pub incomplete: bool,
}

impl TemplateUses {
    pub fn reads(&self, variable: &str) -> bool {
        self.variables.contains(variable)
    }
}

/// Project facts, as one file's check sees them.
pub trait ProjectFacts: Sync {
    /// The project's user model, when it defines one.
    fn user_model(&self) -> Option<&str>;
    /// What a qualified name evaluates to, when the project defines it.
    fn resolve_value(&self, name: &str) -> Option<Value>;
    /// Whether a qualified name is a project class.
    fn is_class(&self, name: &str) -> bool;
    /// Whether a class is a Django model (a project model or a recipe's base).
    fn is_model(&self, class: &str, rules: &RuleSet) -> bool;
    /// What `attribute` of an instance of `class` holds, from the first class
    /// of its MRO that assigns it (`self.user = User.objects.create(...)` in
    /// `setUp`, `shelf_model = Shelf`).
    fn instance_attribute(&self, class: &str, attribute: &str) -> Option<Value>;
    /// The class a property of `class` is annotated to return (`-> Client`).
    fn property_returns(&self, class: &str, attribute: &str) -> Option<String>;
    /// The project model an app label names (`"shop.Book"`): a model class
    /// `Book` in a module with a part `shop`.
    fn model_by_app_label(&self, label: &str) -> Option<String>;
    /// The relation a model attribute reads, forward or reverse.
    fn relation(&self, class: &str, attribute: &str) -> Option<&Relation>;
    /// Whether a class is a `QuerySet` or a manager: it is, or derives from,
    /// one of the recipes' `queryset-classes` or `manager-classes`.
    fn orm_class(&self, class: &str, rules: &RuleSet) -> Option<OrmClass>;
    /// The project's manager and `QuerySet` classes behind a manager
    /// attribute the model (or a base) declares (`objects = ShelfQuerySet.as_manager()`);
    /// `None` when it declares no manager by that name.
    fn declared_manager(&self, model: &str, attribute: &str, rules: &RuleSet) -> Option<Vec<String>>;
    /// A method of the first of `classes` (project `QuerySet` or manager
    /// classes) that has it.
    fn orm_method(&self, classes: &[String], method: &str) -> Option<OrmMethod>;
    /// The model class a project method returns.
    fn method_returns(&self, class: &str, method: &str) -> Option<Returned>;
    /// The classes a project method of `class` (or its bases) returns, when
    /// the project defines it: `Some(None)` when a `return` gives
    /// something else. `"self.x"` stands for the instance's attribute `x`,
    /// `"super"` for what the overridden method returns.
    fn method_returns_classes(&self, class: &str, method: &str) -> Option<Option<Vec<String>>>;
    /// The model class a project function returns.
    fn function_returns(&self, name: &str) -> Option<Returned>;
    /// A recipe callable a project class inherits.
    fn inherited_callable(&self, name: &str, rules: &RuleSet) -> Option<Callable>;
    /// The recipe callable `Base.method` that `method` called on an instance
    /// of a project class runs (from the class's bases with `skip_self`, as
    /// `super().method()` does): none when a project class on the way
    /// defines the method, since its body is then what runs.
    fn inherited_method(&self, class: &str, method: &str, skip_self: bool, rules: &RuleSet) -> Option<Callable>;
    /// Whether a call target is a sync project function that touches the
    /// database (or runs `async_to_sync`): its qualified name and why.
    fn touching_call(&self, target: &CallTarget, rules: &RuleSet) -> Option<(String, Touch)>;
    /// Element `index` of the tuple a call target (a project function)
    /// returns, and whether calling it gives an awaitable (an `async def`,
    /// or one decorated with a wrapper).
    fn returned_element(
        &self,
        _target: &CallTarget,
        _index: usize,
        _rules: &RuleSet,
    ) -> Option<(ReturnedElement, bool)> {
        None
    }
    /// The parameters a call target (a sync project function) reads on
    /// every path: a lazy object passed for one loads in the call.
    fn forced_parameters(&self, _target: &CallTarget, _rules: &RuleSet) -> Vec<GuardParameter> {
        Vec::new()
    }
    /// The touching method with this name, when exactly one project class
    /// defines a method of that name: the basis of an unsafe guess.
    fn touching_method_named(&self, method: &str) -> Option<(String, Touch)>;
    /// An override of `class`'s `method` in a project subclass that
    /// touches the database, where `class`'s own does not: which runs
    /// depends on the receiver, so the basis of an unsafe guess.
    fn touching_override(&self, _class: &str, _method: &str) -> Option<(String, Touch)> {
        None
    }
    /// Whether a class is mapped by `SQLAlchemy`'s declarative system.
    fn is_sqlalchemy_model(&self, class: &str) -> bool;
    /// Whether any project class is: without one, no read can lazy-load or
    /// expire, and the `SQLAlchemy` rules have nothing to look for.
    fn maps_sqlalchemy(&self) -> bool;
    /// The primary key column of a mapped class (`id` when none is marked).
    fn primary_key(&self, class: &str) -> String;
    /// A `relationship()` of a mapped class, with its direction worked out.
    fn sqlalchemy_relationship(&self, class: &str, attribute: &str) -> Option<SqlAlchemyRelationship>;
    /// Every `relationship()` of a mapped class and its bases, by attribute.
    fn sqlalchemy_relationships(&self, class: &str) -> Vec<(String, SqlAlchemyRelationship)>;
    /// What a call of a project function returns of `SQLAlchemy`'s (its
    /// forwards followed), and the class it is called on when it has one.
    fn sqlalchemy_loads(&self, target: &CallTarget) -> Option<(Loads, Option<String>)>;
    /// Whether two names stand for the same class (an alias, a re-export).
    fn same_class(&self, first: &str, second: &str) -> bool;
    /// A class and its bases, nearest first, as far as the index knows them
    /// (a library base ends the walk with its qualified name).
    fn ancestors(&self, class: &str) -> Vec<String>;
    /// The project classes that derive from `class`, at any depth, sorted.
    fn subclasses(&self, class: &str) -> Vec<String>;
    /// The project classes a mixin is mixed into, when there are some and
    /// every one is a model: its `self` is then a model instance.
    fn mixed_into_models(&self, class: &str, rules: &RuleSet) -> Option<Vec<String>> {
        let users = self.subclasses(class);
        (!users.is_empty() && users.iter().all(|user| self.is_model(user, rules))).then_some(users)
    }
    /// Whether sessions from this factory expire objects on commit.
    fn session_factory(&self, name: &str) -> Option<bool>;
    /// Whether every session factory of the project keeps objects on commit.
    fn sessions_never_expire(&self) -> bool;
    /// What the project's Django settings say; `None` without a settings module.
    fn django_settings(&self) -> Option<&DjangoSettings> {
        None
    }
    /// Whether the project model form or serializer `class` may query while
    /// it validates or shows a model.
    fn model_io_queries(&self, _class: &str, _io: crate::recipe::ModelIo) -> ModelIoQueries {
        ModelIoQueries::May
    }
    /// What the project's template `name` reads, with its parents and
    /// includes; `None` when it is not found.
    fn template_uses(&self, _name: &str) -> Option<std::sync::Arc<TemplateUses>> {
        None
    }
}

/// What a class's instances are, to the ORM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrmClass {
    QuerySet,
    Manager,
}

/// A project method of a custom `QuerySet` or manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrmMethod {
    /// The class that defines it.
    pub owner: String,
    /// What it returns, when that is a lazy `QuerySet`.
    pub returns: Option<ReturnedQuerySet>,
}

/// The `QuerySet` a method returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnedQuerySet {
    /// One of the receiver's model (`return self.filter(...)`).
    SameModel,
    /// One of this model (`return Other.objects.filter(...)`).
    Model(String),
}

/// A related object or manager reached from a model attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub target: String,
    /// A manager (reverse foreign key, many-to-many) rather than one object.
    pub many: bool,
    /// The relation of the target that Django sets to the owner on each
    /// object it loads through this one: a reverse foreign key's `book.shelf`,
    /// either side of a one-to-one.
    pub back: Option<String>,
}

/// A `relationship()` as the rewrite needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlAlchemyRelationship {
    pub target: Option<String>,
    /// `lazy=`; `None` is the default, `select`.
    pub lazy: Option<String>,
    pub direction: Direction,
    /// `order_by=` or `collection_class=`: a plain query of the target rows
    /// would not give the collection the relationship gives.
    pub shaped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direction {
    /// The target has a foreign key `column` to this class.
    OneToMany {
        column: String,
        collection: bool,
    },
    /// This class has a foreign key `column` to the target.
    ManyToOne {
        column: String,
    },
    ManyToMany,
    /// A join asyncfix does not rewrite as a query.
    Complex,
}

/// What a function returns of `SQLAlchemy`'s: objects a query loaded (one
/// or a list), or the statement itself, with the relationship paths its
/// options load, those of its parameters it applies too, or the call whose
/// result it returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loads {
    /// The mapped class as this module names it; `None`: the class the
    /// method is called on (`select(cls)` in a class method).
    pub model: Option<String>,
    pub shape: LoadedShape,
    pub eager: Vec<String>,
    /// Parameters whose loader options the query applies (`.options(*options)`),
    /// by name and position (`self` and `cls` not counted).
    pub options_from: Vec<(String, usize)>,
    /// It returns what this call returns; each pair a keyword of the callee
    /// (or `#position`) and the parameter of its own passed to it.
    pub forwards: Option<(CallTarget, Vec<(String, String)>)>,
    /// Its parameters in order, `self` and `cls` left out.
    pub parameters: Vec<String>,
    /// Those a call may pass by keyword: not positional-only, not `*args`
    /// or `**kwargs`.
    pub keywords: Vec<String>,
    /// Every `return` gives back this parameter unchanged (`def
    /// get_or_error(v): ... return v`), by position: the call is its argument.
    pub returns_argument: Option<usize>,
    /// A context manager (`@asynccontextmanager`) that yields the objects:
    /// `async with f(...) as x` binds them, a plain call does not.
    pub yielded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadedShape {
    One,
    Many,
    Statement,
}

/// The model instances a project function returns: their class, and the
/// relations every `return` loaded on them (`select_related`, a
/// constructor's keyword arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub class: String,
    pub loaded: Vec<String>,
}

/// Why a sync project function must not run on the event loop, and what
/// it does there: the first evidence in its body, or the call that leads to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// For messages: ``"`User.objects.get(...)`"``, ``"calls `load`"``.
    pub reason: String,
    pub effect: Effect,
    /// The function yields: calling it runs none of its body, iterating
    /// what it returns does (on the event loop, unless consumed in a thread).
    pub generator: bool,
    /// Empty: any call touches. Otherwise every access in the body sits
    /// under `if` tests of parameters that default to a falsy value
    /// (`if commit:`, `if token is not None:`, `if args:`), and a call
    /// touches only when it passes every parameter of one of these sets.
    pub only_when: Vec<Vec<GuardParameter>>,
}

/// A parameter whose truth an `if` around a database access tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuardParameter {
    pub name: String,
    /// Its position among the arguments a call passes (`self` left out),
    /// unless it is keyword-only; for `*args`, how many positional
    /// parameters come before it.
    pub position: Option<usize>,
    /// `*args`: passed when a call has more positional arguments than
    /// `position`.
    pub star: bool,
    /// The access runs when it is false (`if not shallow:`, `if x is
    /// None:`): a call passing a literal true value skips it.
    pub negated: bool,
}

impl GuardParameter {
    /// Whether the test may hold at `call`: for a plain guard, the call
    /// passes something other than a literal `None`, `False`, `0` or `""`
    /// (a `*`/`**` spread may); for a negated one, anything but a literal
    /// true value.
    pub fn may_hold<'t>(&self, call: Node<'t>, text: impl Fn(Node<'t>) -> &'t str) -> bool {
        let Some(arguments) = call.child_by_field_id(FIELD.arguments) else { return self.negated };
        let passed = if self.star {
            // `*args` holds what comes after the positional parameters.
            let beyond = self.position.and_then(|before| {
                arguments::positional(arguments).into_iter().find(|(at, _)| *at >= before).map(|(_, node)| node)
            });
            let mut cursor = arguments.walk();
            let spread = arguments.named_children(&mut cursor).any(|child| child.kind() == "list_splat");
            match beyond {
                Some(value) => Passed::Argument(value),
                None if spread => Passed::Unknown,
                None => Passed::Nothing,
            }
        } else {
            arguments::passed_for(arguments, &self.name, self.position, &text)
        };
        match passed {
            Passed::Unknown => true,
            Passed::Nothing => self.negated,
            Passed::Argument(value) => {
                let value = text(value);
                if self.negated { !is_truthy_literal(value) } else { !is_falsy_literal(value) }
            }
        }
    }
}

/// A literal that is false: `None`, `False`, `0`, an empty string or collection.
pub fn is_falsy_literal(text: &str) -> bool {
    matches!(text, "None" | "False" | "0" | "\"\"" | "''" | "()" | "[]" | "{}")
}

/// A literal that is true: `True`, a number other than 0, a non-empty string.
pub fn is_truthy_literal(text: &str) -> bool {
    text == "True"
        || (text.chars().all(|c| c.is_ascii_digit()) && text.chars().any(|c| c != '0'))
        || ((text.starts_with('"') || text.starts_with('\'')) && text.len() > 2 && !text.contains('{'))
}

/// What a call passes, as far as a callee's guards ask
/// ([`GuardParameter`]): recorded in the caller's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passing {
    /// `false`: not a call, or calls whose arguments differ: every
    /// parameter may be passed.
    pub known: bool,
    pub positional: Vec<Argument>,
    pub keywords: Vec<(String, Argument)>,
    /// `*x`.
    pub splat: Option<Argument>,
    /// `**x`.
    pub double_splat: bool,
}

/// One argument of a [`Passing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argument {
    /// `None`, `False`, `0`, `""`, or left out.
    Falsy,
    /// `True`, a number other than 0, a non-empty string.
    Truthy,
    /// The caller's own guarding parameter at this index of its guards.
    Parameter(usize),
    /// Anything else: may be truthy.
    Other,
}

impl Passing {
    /// What the call passes for the callee's `parameter`.
    pub fn argument_for(&self, parameter: &GuardParameter) -> Argument {
        if !self.known {
            return Argument::Other;
        }
        let given = parameter.position.is_some_and(|position| self.positional.len() > position);
        if parameter.star {
            return match (given, self.splat) {
                (true, _) => Argument::Other,
                (false, Some(splat)) => splat,
                (false, None) => Argument::Falsy,
            };
        }
        if let Some(position) = parameter.position.filter(|_| given) {
            return self.positional[position];
        }
        if let Some((_, value)) = self.keywords.iter().find(|(name, _)| *name == parameter.name) {
            return *value;
        }
        // `*x` may fill a positional parameter, `**x` any but `*args`.
        let spread = self.double_splat || (self.splat.is_some() && parameter.position.is_some());
        if spread { Argument::Other } else { Argument::Falsy }
    }
}

/// Whether a model form or serializer queries while it validates or shows
/// its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelIoQueries {
    /// Every field it touches is a plain column, and no hook runs.
    No,
    /// Something it touches may query (a relation, a unique field, a hook,
    /// a library base whose fields are not listed).
    May,
    /// Its model is nowhere in sight (not in the project, its installed
    /// packages or the recipes): whether it queries is a guess.
    Unseen,
}

/// An element of the tuples a function returns: an instance of a model
/// class, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnedElement {
    Instance(String),
    List(String),
}

/// What a sync function does that the event loop's thread forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A database query (or the cache, a token check): `SynchronousOnlyOperation`.
    Database,
    /// `async_to_sync(...)(...)`: `RuntimeError` on a thread with a running loop.
    AsyncToSync,
    /// The first use of the middleware's lazy `request.user`: a query only
    /// while nothing has loaded it.
    LazyUser,
    /// A site of a rule whose recipe names what else it touches
    /// (`resource = "the cache backend"`).
    Resource(crate::recipe::RuleId),
}

impl Effect {
    /// How much a touch says: a lazy user's load is the weakest, and gives
    /// way to anything else the function does.
    pub fn strength(self) -> u8 {
        match self {
            Effect::LazyUser => 0,
            Effect::Resource(_) => 1,
            Effect::Database | Effect::AsyncToSync => 2,
        }
    }
}

/// Something a function calls or reads, to resolve once the index is complete.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// A qualified name: a function, a class, `Class.method`.
    Name(String),
    /// `x.method()` on an instance of `class`.
    Method { class: String, method: String },
    /// `super().method()` inside `class`.
    Super { class: String, method: String },
    /// `x.attribute` read on an instance of `class`.
    Attribute { class: String, attribute: String },
    /// `self.m1().m2().evaluating()` (or `for x in self.m1()`) in a method
    /// of `class`, whose `QuerySet` or manager nature the module alone
    /// does not show: a query once the index knows `class` is one and each
    /// method keeps the chain a `QuerySet`. `evaluates`: the last method,
    /// `None` when the chain is iterated.
    SelfChain { class: String, methods: Vec<String>, evaluates: Option<String> },
    /// `self.attribute.a.b.method()` in a method of `class`: a query when
    /// what `self.attribute` holds (known once the index is complete: set
    /// by the class, a base or every subclass) makes the chain one
    /// (`self.user_model.objects.create_user(...)`).
    /// `constructed`: the call is on an instance built from it
    /// (`location = self.location_model(...)`, then `location.save()`).
    SelfAttribute { class: String, attribute: String, path: Vec<String>, method: String, constructed: bool },
    /// `f(...).m1().evaluating()`, or `qs = f(...)` then `qs.evaluating()`,
    /// with `f` a project function: a query once the index knows `f`
    /// returns a `QuerySet` (`-> QuerySet`) and each method keeps it one.
    /// `x = f(...)` then `x.method()` with `f` returning an instance: that
    /// class's `method`.
    Returned { function: String, methods: Vec<String>, evaluates: String },
}

impl CallTarget {
    /// The qualified names this target refers to, to load their modules.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Self::Name(name) => vec![name],
            Self::Method { class, .. }
            | Self::Super { class, .. }
            | Self::Attribute { class, .. }
            | Self::SelfChain { class, .. }
            | Self::SelfAttribute { class, .. } => vec![class],
            Self::Returned { function, .. } => vec![function],
        }
    }
}

/// `self.attribute.a.b.method(...)` in an instance method: the class of
/// `self`, the attribute, the attributes after it and the method.
pub fn self_attribute_call(call: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<CallTarget> {
    let model = evaluator.model;
    let callee = call.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "attribute")?;
    let method = model.text(callee.child_by_field_id(FIELD.attribute)?).to_owned();
    let mut path = Vec::new();
    let mut current = callee.child_by_field_id(FIELD.object)?;
    loop {
        // `self.members.filter(...).exists()`: a method called on the way
        // is a step of the path too (resolving asks that it keeps the chain lazy).
        if current.kind() == "call"
            && let Some(function) = current.child_by_field_id(FIELD.function).filter(|f| f.kind() == "attribute")
        {
            current = function;
        }
        if current.kind() != "attribute" {
            break;
        }
        path.push(model.text(current.child_by_field_id(FIELD.attribute)?).to_owned());
        current = current.child_by_field_id(FIELD.object)?;
    }
    if current.kind() != "identifier" {
        return None;
    }
    // `x.method()` where `x = self.attribute(...)` is the method's only binding of `x`.
    let mut constructed = false;
    if path.is_empty() {
        let (_, [crate::semantic::Binding::Assign(value)]) = model.lookup(model.text(current), scope)? else {
            return None;
        };
        let built = value.child_by_field_id(FIELD.function).filter(|_| value.kind() == "call")?;
        if built.kind() != "attribute" {
            return None;
        }
        path.push(model.text(built.child_by_field_id(FIELD.attribute)?).to_owned());
        current = built.child_by_field_id(FIELD.object).filter(|object| object.kind() == "identifier")?;
        constructed = true;
    }
    let (found, _) = model.lookup(model.text(current), scope)?;
    let data = model.scope(found).method.as_ref()?;
    let on_instance =
        matches!(data.kind, crate::semantic::MethodKind::Instance | crate::semantic::MethodKind::Property);
    if data.first_parameter != Some(model.text(current)) || !on_instance {
        return None;
    }
    path.reverse();
    let attribute = path.remove(0);
    Some(CallTarget::SelfAttribute { class: data.class.clone(), attribute, path, method, constructed })
}

/// The method name a [`CallTarget::SelfAttribute`] has when its chain is
/// iterated or evaluated by a builtin rather than called.
pub const ITERATED: &str = "__iter__";

/// `self.members.all()` or `self.book_set.order_by("x")[:10]` in a method,
/// iterated or passed to `list()` and friends: a query once the index knows
/// the attribute is a relation and each step keeps the chain lazy.
pub fn self_attribute_evaluated(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<CallTarget> {
    let mut node = node;
    while node.kind() == "subscript" {
        node = node.child_by_field_id(FIELD.value)?;
    }
    if node.kind() != "call" {
        return None;
    }
    let CallTarget::SelfAttribute { class, attribute, mut path, method, constructed: false } =
        self_attribute_call(node, scope, evaluator)?
    else {
        return None;
    };
    path.push(method);
    Some(CallTarget::SelfAttribute { class, attribute, path, method: ITERATED.to_owned(), constructed: false })
}

/// `f(...).m1(...).evaluating(...)`, or `qs.evaluating(...)` with `qs`
/// bound once to `f(...)`, where `f` resolves to a name of the project: the
/// target to resolve once the index knows what `f` returns.
pub fn returned_chain(call: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<CallTarget> {
    let model = evaluator.model;
    let callee = call.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "attribute")?;
    let evaluates = model.text(callee.child_by_field_id(FIELD.attribute)?);
    let mut object = callee.child_by_field_id(FIELD.object)?;
    // `token = Token.from_raw(raw)` then `token.user()`, or
    // `Token.from_raw(raw).user()`: a method of what the function returns,
    // once the index knows its class.
    if !evaluator.rules.orm.evaluating.contains(evaluates) && !matches!(object.kind(), "identifier" | "call") {
        return None;
    }
    let mut methods = Vec::new();
    // `.filter(...).order_by(...)` between the root and the evaluating call.
    while object.kind() == "call"
        && let Some(inner) = object.child_by_field_id(FIELD.function).filter(|inner| inner.kind() == "attribute")
    {
        methods.push(model.text(inner.child_by_field_id(FIELD.attribute)?).to_owned());
        object = inner.child_by_field_id(FIELD.object)?;
    }
    methods.reverse();
    let root = match object.kind() {
        "call" => object,
        "identifier" => match model.lookup(model.text(object), scope)? {
            (_, [Binding::Assign(value)]) if value.kind() == "call" => *value,
            _ => return None,
        },
        _ => return None,
    };
    let function = root.child_by_field_id(FIELD.function)?;
    if !matches!(function.kind(), "identifier" | "attribute") {
        return None;
    }
    let Value::Qualified(name) = evaluator.eval(function, scope) else { return None };
    Some(CallTarget::Returned { function: name, methods, evaluates: evaluates.to_owned() })
}

/// `self.m1(...).m2(...)` in a method: the class of `self` and the methods
/// called on it in order; `None` unless the chain starts at the method's
/// first parameter.
pub fn self_chain(node: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<(String, Vec<String>)> {
    let model = evaluator.model;
    let mut methods = Vec::new();
    let mut current = node;
    while current.kind() == "call" {
        let callee = current.child_by_field_id(FIELD.function)?;
        if callee.kind() != "attribute" {
            return None;
        }
        methods.push(model.text(callee.child_by_field_id(FIELD.attribute)?).to_owned());
        current = callee.child_by_field_id(FIELD.object)?;
    }
    if current.kind() != "identifier" {
        return None;
    }
    let (found, _) = model.lookup(model.text(current), scope)?;
    let method = model.scope(found).method.as_ref()?;
    let on_instance =
        matches!(method.kind, crate::semantic::MethodKind::Instance | crate::semantic::MethodKind::Property);
    if method.first_parameter != Some(model.text(current)) || !on_instance {
        return None;
    }
    methods.reverse();
    Some((method.class.clone(), methods))
}

/// The named target of a call, for resolving once the index is complete.
pub fn call_target(
    call: Node<'_>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
    class: Option<&str>,
) -> Option<CallTarget> {
    callee_target(call.child_by_field_id(FIELD.function)?, scope, evaluator, class)
}

/// What calling `callee` runs (see [`call_target`]).
pub fn callee_target(
    callee: Node<'_>,
    scope: ScopeId,
    evaluator: &Evaluator<'_, '_>,
    class: Option<&str>,
) -> Option<CallTarget> {
    let model = evaluator.model;
    let mut callee = callee;
    let mut scope = scope;
    // `check = handler.is_allowed; check(x)`: the bound method it holds.
    if callee.kind() == "identifier"
        && let Some((found, [Binding::Assign(value)])) = model.lookup(model.text(callee), scope)
        && value.kind() == "attribute"
    {
        callee = *value;
        scope = found;
    }
    if callee.kind() == "attribute" {
        let object = callee.child_by_field_id(FIELD.object)?;
        let method = model.text(callee.child_by_field_id(FIELD.attribute)?).to_owned();
        let is_super = object.kind() == "call"
            && object.child_by_field_id(FIELD.function).is_some_and(|function| model.text(function) == "super");
        if is_super {
            return class.map(|class| CallTarget::Super { class: class.to_owned(), method });
        }
        return match evaluator.eval(object, scope) {
            Value::Qualified(name) => Some(CallTarget::Name(format!("{name}.{method}"))),
            Value::Instance { class, .. } => Some(CallTarget::Method { class, method }),
            // A custom manager's or `QuerySet`'s own method.
            Value::Manager { classes, .. } | Value::QuerySet { classes, .. } if !classes.is_empty() => {
                match evaluator.index {
                    Some(index) => index
                        .orm_method(&classes, &method)
                        .map(|found| CallTarget::Method { class: found.owner, method }),
                    None => Some(CallTarget::Method { class: classes[0].clone(), method }),
                }
            }
            _ => None,
        };
    }
    match evaluator.eval(callee, scope) {
        Value::Qualified(name) => Some(CallTarget::Name(name)),
        _ => None,
    }
}
