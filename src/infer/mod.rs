//! What an expression evaluates to, as far as asyncfix cares: a qualified
//! name, a model instance, a manager or `QuerySet`, or a value a recipe callable
//! produced. A local name of a function is what the bindings that reach
//! its use agree on (`flow.rs`: the last one in straight-line code); any
//! other name, what every binding of it agrees on.
//!
//! The evaluator runs twice: while the project index is built (no index: it
//! names things, and the index resolves them later) and while checking
//! (with the index: project classes, models, relations and helpers known).

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

mod awaited;
mod callers;
pub mod facts;
mod flow;
mod library;
mod names;
mod nested;
#[cfg(test)]
pub(crate) mod stub;
#[cfg(test)]
mod tests;

use facts::{OrmClass, ProjectFacts, ReturnedQuerySet};

use crate::parse::FIELD;
use crate::recipe::{RuleSet, TagId};
use crate::semantic::arguments::{Passed, passed_for};
use crate::semantic::{Binding, ScopeId, SemanticModel};

/// A name, the scope that binds it, and which of its bindings count.
type NameKey = (ScopeId, String, Option<Vec<usize>>);

/// How sure we are that a receiver is what it looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// Resolved through imports, the project index, a model factory or a `QuerySet` built from one.
    Certain,
    /// Only the spelling suggests it (`self.model.objects`, a capitalised local).
    Guess,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Unknown,
    /// Something named by a qualified name: a module, function, class or
    /// module-level object (`django.core.cache.cache`, `accounts.models.User`).
    Qualified(String),
    /// An instance of a class (usually a model), with the relations
    /// `select_related` already loaded.
    Instance {
        class: String,
        preloaded: Vec<String>,
    },
    /// A manager or related manager of a model.
    Manager {
        model: Option<String>,
        certainty: Certainty,
        /// The project's manager and `QuerySet` classes whose methods it has,
        /// in lookup order (`objects = ShelfManager.from_queryset(ShelfQuerySet)()`).
        classes: Vec<String>,
        /// Relations every object it fetches has loaded: a reverse foreign
        /// key's manager (`shelf.book_set`) sets each book's `shelf`.
        preloaded: Vec<String>,
    },
    /// A lazy `QuerySet`.
    QuerySet {
        model: Option<String>,
        certainty: Certainty,
        preloaded: Vec<String>,
        /// The project's `QuerySet` classes whose methods it has.
        classes: Vec<String>,
    },
    /// An evaluated list of model instances (`await sync_to_async(list)(qs)`),
    /// with what the `QuerySet` loaded on each.
    InstanceList {
        class: Option<String>,
        preloaded: Vec<String>,
    },
    /// A value returned by a recipe callable with `returns = "tag"`, and
    /// the project class that inherits the callable when one was built
    /// (`BookForm(...)` is a `django-model-form` of class `BookForm`).
    Tagged {
        tag: TagId,
        class: Option<String>,
    },
}

impl Value {
    /// A recipe's tagged value of no known project class.
    pub fn tagged(tag: TagId) -> Self {
        Value::Tagged { tag, class: None }
    }

    /// What is known of a value that is either `self` or `other`: two
    /// project classes of one tag keep the tag, two instances of one class
    /// what both loaded.
    #[must_use]
    pub fn either(self, other: Value) -> Value {
        match (self, other) {
            (same, other) if same == other => same,
            (Value::Tagged { tag, .. }, Value::Tagged { tag: other, .. }) if tag == other => Value::tagged(tag),
            (Value::Instance { class, preloaded }, Value::Instance { class: other, preloaded: also })
                if class == other =>
            {
                let preloaded = preloaded.into_iter().filter(|path| also.contains(path)).collect();
                Value::Instance { class, preloaded }
            }
            _ => Value::Unknown,
        }
    }
}

/// `QuerySet` methods whose string arguments name relations every object
/// it gives has loaded.
const LOADING: [&str; 2] = ["select_related", "prefetch_related"];

/// Fetching methods that build the object from their keyword arguments:
/// the related objects passed in stay cached on it.
const CONSTRUCTING: [&str; 3] = ["create", "create_user", "create_superuser"];

/// In an object's `preloaded`: every forward relation it has is loaded, as
/// on an object built from a form's or a serializer's data (what it was not
/// given is `None`, and reading it queries nothing).
pub const EVERY_RELATION: &str = "*";

/// Whether `relation` of an object that loaded `preloaded` is loaded: named,
/// or the first step of a longer path (`shelf` of `"shelf__store"`).
pub fn is_loaded(preloaded: &[String], relation: &str) -> bool {
    preloaded.iter().any(|path| {
        path == EVERY_RELATION
            || path.strip_prefix(relation).is_some_and(|rest| rest.is_empty() || rest.starts_with("__"))
    })
}

/// What the object behind `relation` loaded, of what its owner loaded:
/// `store` of `"shelf__store"` for `shelf`.
pub fn loaded_beyond(preloaded: &[String], relation: &str) -> Vec<String> {
    preloaded.iter().filter_map(|path| path.strip_prefix(relation)?.strip_prefix("__")).map(str::to_owned).collect()
}

/// Deepest evaluation before giving up: each link of a chain counts twice
/// (`qs.filter(...)` is a call and an attribute), each name followed once.
const MAX_DEPTH: usize = 80;

/// What the evaluator matches by spelling (see [`crate::scan::reach::Spellings`]):
/// `request.user` is the user model without any import.
pub const SPELLINGS: &[&str] = &[
    "request.user",
    "request.auser",
    "request.session",
    "scope[\"session\"]",
    "scope['session']",
    "scope[\"user\"]",
    "scope['user']",
];

/// The recipe tag for the session of a request or a Channels scope
/// (`request.session`, `scope["session"]`).
pub const SESSION_TAG: &str = "django-session-store";

/// The recipe tag for `SQLAlchemy` `AsyncSession` instances.
pub const SQLALCHEMY_SESSION_TAG: &str = "sqlalchemy-async-session";

/// Django's model base, standing for a model class not known more closely.
pub const DJANGO_MODEL: &str = "django.db.models.Model";

/// The user model when the project does not define one.
pub const DEFAULT_USER_MODEL: &str = "django.contrib.auth.models.User";

/// The recipe tag for values that are instances of the user model.
pub const USER_TAG: &str = "django-user";

/// The recipe tag for the user model class itself (pytest-django's
/// `django_user_model`).
pub const USER_MODEL_TAG: &str = "django-user-model";

/// Stands for the user model while the index is built; the index maps it to
/// the project's user model.
pub const USER_MODEL: &str = "django.contrib.auth.UserModel";

/// `MODEL_LABEL.shop.Book` stands for the model `apps.get_model("shop",
/// "Book")` names while the index is built; the index maps it to the
/// project's model, or to nothing.
pub const MODEL_LABEL: &str = "django.apps.ModelLabel";

/// The stand-in name for the model an app label (`shop.Book`) names.
pub fn label_stand_in(label: &str) -> String {
    format!("{MODEL_LABEL}.{label}")
}

/// Of a stand-in name (`MODEL_LABEL.shop.Book.objects`): the label
/// (`shop.Book`) and what follows it (`objects`).
pub fn split_stand_in(name: &str) -> Option<(&str, Option<&str>)> {
    let rest = name.strip_prefix(MODEL_LABEL)?.strip_prefix('.')?;
    let model_end = rest.find('.')? + 1;
    match rest[model_end..].find('.') {
        Some(tail) => Some((&rest[..model_end + tail], Some(&rest[model_end + tail + 1..]))),
        None => Some((rest, None)),
    }
}

pub struct Evaluator<'a, 't> {
    pub model: &'a SemanticModel<'t>,
    pub rules: &'a RuleSet,
    pub index: Option<&'a dyn ProjectFacts>,
    /// What each name evaluates to, by the scope that binds it and the
    /// bindings that reach the use (`None`: all of them). An entry in
    /// progress reads as `Unknown`, which cuts cycles (`x = x.strip()` in a
    /// loop) and keeps evaluation linear.
    names: RefCell<HashMap<NameKey, Value>>,
    /// What the calls of a function in this module pass for an unannotated
    /// parameter, by the function's scope and the parameter (`callers.rs`).
    passed: RefCell<HashMap<(ScopeId, String), Value>>,
    /// Imported classes whose manager the module reads, once asked.
    managed_imports: OnceCell<HashSet<String>>,
}

impl<'a, 't> Evaluator<'a, 't> {
    pub fn new(model: &'a SemanticModel<'t>, rules: &'a RuleSet, index: Option<&'a dyn ProjectFacts>) -> Self {
        Self {
            model,
            rules,
            index,
            names: RefCell::new(HashMap::new()),
            passed: RefCell::new(HashMap::new()),
            managed_imports: OnceCell::new(),
        }
    }
}

impl<'t> Evaluator<'_, 't> {
    pub fn eval(&self, node: Node<'t>, scope: ScopeId) -> Value {
        self.eval_at(node, scope, 0)
    }

    /// The value a call of `callee` returns.
    pub fn call_result(&self, callee: Node<'t>, scope: ScopeId) -> Value {
        self.call_result_at(callee, None, scope, 0)
    }

    /// Whether `callee` is a wrapper whose arguments run in a thread.
    pub fn is_wrapper(&self, callee: Node<'t>, scope: ScopeId) -> bool {
        matches!(self.eval(callee, scope), Value::Qualified(name) if self.rules.wrappers.contains(&name))
    }

    /// Whether a `decorated_definition` is decorated with a wrapper
    /// (`@sync_to_async`, `@database_sync_to_async(...)`): calling it then
    /// returns an awaitable, and its body runs in a thread.
    pub fn is_wrapped_definition(&self, decorated: Node<'t>, scope: ScopeId) -> bool {
        decorator_callees(decorated).into_iter().any(|callee| self.is_wrapper(callee, scope))
    }

    /// The class of the project's user model.
    pub fn user_model(&self) -> String {
        match self.index {
            Some(index) => index.user_model().unwrap_or(DEFAULT_USER_MODEL).to_owned(),
            None => USER_MODEL.to_owned(),
        }
    }

    fn eval_at(&self, node: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        match node.kind() {
            "identifier" => {
                let name = self.model.text(node);
                self.narrowed(node, name, scope, depth).unwrap_or_else(|| self.name(name, Some(node), scope, depth))
            }
            "attribute" => self.attribute(node, scope, depth),
            "subscript" | "call" if self.scope_key(node) == Some("session") => self.tag_value(SESSION_TAG),
            // Channels' auth middleware loaded the user before the consumer runs.
            "subscript" | "call" if self.scope_key(node) == Some("user") => {
                Value::Instance { class: self.user_model(), preloaded: Vec::new() }
            }
            "subscript" => match node.child_by_field_id(FIELD.value).map(|value| self.eval_at(value, scope, depth + 1))
            {
                // A type alias (`SessionDep = Annotated[AsyncSession, Depends(...)]`)
                // stands for the type it wraps.
                Some(Value::Qualified(name)) if is_type_wrapper(&name) => node
                    .child_by_field_id(FIELD.subscript)
                    .map_or(Value::Unknown, |wrapped| self.eval_at(wrapped, scope, depth + 1)),
                Some(Value::Qualified(name)) => Value::Qualified(format!("{name}[]")),
                // A slice stays lazy: `qs[:10]` is a QuerySet (an index is a query).
                Some(value @ Value::QuerySet { .. })
                    if node.child_by_field_id(FIELD.subscript).is_some_and(|index| index.kind() == "slice") =>
                {
                    value
                }
                Some(Value::InstanceList { class: Some(class), preloaded }) => Value::Instance { class, preloaded },
                _ => Value::Unknown,
            },
            "call" => {
                let Some(callee) = node.child_by_field_id(FIELD.function) else { return Value::Unknown };
                self.call_result_at(callee, node.child_by_field_id(FIELD.arguments), scope, depth + 1)
            }
            "await" => {
                let Some(inner) = node.named_child(0) else { return Value::Unknown };
                self.awaited(inner, scope, depth + 1)
            }
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) => self.eval_at(inner, scope, depth + 1),
                None => Value::Unknown,
            },
            // `items or []`: a list of instances, or an empty list.
            "boolean_operator" => {
                let operator = node.child_by_field_id(FIELD.operator).map(|operator| self.model.text(operator));
                let empty = node
                    .child_by_field_id(FIELD.right)
                    .is_some_and(|right| matches!(right.kind(), "list" | "tuple") && right.named_child_count() == 0);
                match node.child_by_field_id(FIELD.left) {
                    Some(left) if operator == Some("or") && empty => match self.eval_at(left, scope, depth + 1) {
                        list @ Value::InstanceList { .. } => list,
                        _ => Value::Unknown,
                    },
                    _ => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }

    fn attribute(&self, node: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        let (Some(object), Some(attribute)) =
            (node.child_by_field_id(FIELD.object), node.child_by_field_id(FIELD.attribute))
        else {
            return Value::Unknown;
        };
        let attribute = self.model.text(attribute);
        // `request.user`, `info.context.request.user`; `request.session`.
        if matches!(attribute, "user" | "session") && (object.kind() == "identifier" || object.kind() == "attribute") {
            let object_text = self.model.text(object);
            if object_text == "request" || object_text.ends_with(".request") {
                return match attribute {
                    "user" => Value::Instance { class: self.user_model(), preloaded: Vec::new() },
                    _ => self.tag_value(SESSION_TAG),
                };
            }
        }
        let object_value = self.eval_at(object, scope, depth + 1);
        self.attribute_of(object, object_value, attribute)
    }

    /// `object.attribute`, given what `object` evaluates to.
    fn attribute_of(&self, object: Node<'t>, object_value: Value, attribute: &str) -> Value {
        let is_manager = self.rules.orm.managers.contains(attribute);
        let declared = match (&object_value, self.index) {
            (Value::Qualified(name), Some(index)) => index.declared_manager(name, attribute, self.rules),
            _ => None,
        };
        match object_value {
            Value::Qualified(name) if declared.is_some() => Value::Manager {
                model: Some(name),
                certainty: Certainty::Certain,
                classes: declared.unwrap_or_default(),
                preloaded: Vec::new(),
            },
            Value::Qualified(name) if is_manager && looks_like_class(&name) => Value::Manager {
                model: Some(name),
                certainty: Certainty::Certain,
                classes: Vec::new(),
                preloaded: Vec::new(),
            },
            Value::Qualified(name) => self.resolve(format!("{name}.{attribute}")),
            Value::Unknown if is_manager && looks_like_model(self.model.text(object)) => {
                Value::Manager { model: None, certainty: Certainty::Guess, classes: Vec::new(), preloaded: Vec::new() }
            }
            Value::Instance { class, preloaded } => {
                let Some(index) = self.index else { return Value::Unknown };
                match index.relation(&class, attribute) {
                    // What Django sets on the objects it loads through the
                    // relation comes with them (`book.shelf` of `shelf.book_set.get()`).
                    Some(relation) if relation.many => Value::Manager {
                        model: Some(relation.target.clone()),
                        certainty: Certainty::Certain,
                        classes: Vec::new(),
                        preloaded: relation.back.iter().cloned().collect(),
                    },
                    Some(relation) => {
                        let mut loaded = loaded_beyond(&preloaded, attribute);
                        loaded.extend(
                            relation.back.iter().filter(|back| !loaded.contains(*back)).cloned().collect::<Vec<_>>(),
                        );
                        Value::Instance { class: relation.target.clone(), preloaded: loaded }
                    }
                    // `self.user` assigned in `setUp`, `self.shelf_model` at class level.
                    None => index
                        .instance_attribute(&class, attribute)
                        .or_else(|| {
                            index.property_returns(&class, attribute).map(|returned| self.instance_of(returned))
                        })
                        .unwrap_or_else(|| {
                            // An attribute a library base declares for its instances (`self.client`).
                            match self.recipe_callable(&format!("{class}.{attribute}")) {
                                Some(callable) if !callable.site => {
                                    callable.returns.map_or(Value::Unknown, Value::tagged)
                                }
                                _ => Value::Unknown,
                            }
                        }),
                }
            }
            _ => Value::Unknown,
        }
    }

    /// A qualified name, through the project index when there is one.
    fn resolve(&self, name: String) -> Value {
        match self.index {
            Some(index) => index.resolve_value(&name).unwrap_or(Value::Qualified(name)),
            None => Value::Qualified(name),
        }
    }

    /// `x.method(...)` on an instance of `class`: what the project's method
    /// returns (its annotation or `return`s), else what the recipes say.
    fn instance_method_result(&self, class: &str, method: &str) -> Value {
        let Some(index) = self.index else { return Value::Unknown };
        match index.method_returns(class, method) {
            Some(returned) => self.returned_value(returned),
            None => self.returned_from_attribute(index, class, method),
        }
    }

    fn call_result_at(&self, callee: Node<'t>, arguments: Option<Node<'t>>, scope: ScopeId, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        let mut callee_value = None;
        if callee.kind() == "attribute"
            && let (Some(object), Some(method)) =
                (callee.child_by_field_id(FIELD.object), callee.child_by_field_id(FIELD.attribute))
        {
            let method = self.model.text(method);
            // Evaluated once: evaluating it again per branch would be exponential in the chain's length.
            let object_value = self.eval_at(object, scope, depth + 1);
            match object_value.clone() {
                Value::Manager { model, certainty, classes, mut preloaded } if self.rules.orm.lazy.contains(method) => {
                    if LOADING.contains(&method) {
                        preloaded.extend(self.loaded_paths(arguments));
                    }
                    return Value::QuerySet { model, certainty, preloaded, classes: self.queryset_classes(classes) };
                }
                Value::QuerySet { model, certainty, mut preloaded, classes }
                    if self.rules.orm.lazy.contains(method) =>
                {
                    if LOADING.contains(&method) {
                        preloaded.extend(self.loaded_paths(arguments));
                    }
                    return Value::QuerySet { model, certainty, preloaded, classes };
                }
                Value::Manager { model, mut preloaded, certainty, .. }
                | Value::QuerySet { model, mut preloaded, certainty, .. }
                    if self.rules.orm.fetching.contains(method) =>
                {
                    if CONSTRUCTING.contains(&method) {
                        preloaded.extend(self.keyword_names(arguments));
                    }
                    return fetched(model, certainty, preloaded);
                }
                Value::Manager { model, certainty, classes, .. }
                | Value::QuerySet { model, certainty, classes, .. } => {
                    return self.custom_method_result(model, certainty, classes, method);
                }
                // `form.save(commit=False)` of a project `BookForm`.
                Value::Instance { class, .. } | Value::Tagged { class: Some(class), .. } => {
                    match self.instance_method_result(&class, method) {
                        // `self.form_class(...)`: an attribute holding a class, called.
                        Value::Unknown => callee_value = Some(self.attribute_of(object, object_value, method)),
                        known => return known,
                    }
                }
                _ => callee_value = Some(self.attribute_of(object, object_value, method)),
            }
        }
        if let Some(list) = self.evaluated_list(callee, arguments, scope, depth) {
            return list;
        }
        // `load(pk)` of a sync `def load` nested in this function.
        if let Some((definition, false)) = self.nested_function(callee, scope) {
            return self.nested_returns(definition, None, depth);
        }
        let callee_value = callee_value.unwrap_or_else(|| self.eval_at(callee, scope, depth + 1));
        match callee_value {
            Value::Qualified(name) => {
                // `TypeVar("M", bound=Book)`: as an annotation, it stands for its bound.
                if matches!(name.as_str(), "typing.TypeVar" | "typing_extensions.TypeVar") {
                    return self.type_variable_bound(arguments, scope, depth);
                }
                // `NewType("DbSession", AsyncSession)`: the type it is made from.
                if matches!(name.as_str(), "typing.NewType" | "typing_extensions.NewType") {
                    return arguments
                        .and_then(|arguments| arguments.named_child(1))
                        .map_or(Value::Unknown, |base| self.annotated(base, scope, depth));
                }
                if self.rules.orm.model_factories.contains(&name) {
                    return Value::Qualified(self.user_model());
                }
                if self.rules.orm.model_loaders.contains(&name) {
                    return self.model_by_label(arguments);
                }
                if let Some(fetched) = self.returned_from_argument(&name, arguments, scope, depth) {
                    return fetched;
                }
                if let Some(tag) = self.recipe_callable(&name).and_then(|callable| callable.returns) {
                    // The reserved tag `django-user` is an instance of the user model.
                    if self.rules.tags[tag.0] == USER_TAG {
                        return Value::Instance { class: self.user_model(), preloaded: Vec::new() };
                    }
                    // `BookSerializer(books, many=True)` builds a list serializer.
                    let many = arguments.is_some_and(|arguments| {
                        matches!(passed_for(arguments, "many", None, |node| self.model.text(node)), Passed::Argument(_))
                    });
                    let class = self.index.is_some_and(|index| index.is_class(&name) && !many).then_some(name);
                    return Value::Tagged { tag, class };
                }
                // While the index is built, which classes are models is not
                // known: the instance is recorded, and a call on it is
                // resolved once the index is complete.
                let Some(index) = self.index else {
                    return if looks_like_class(&name) {
                        Value::Instance { class: name, preloaded: Vec::new() }
                    } else {
                        Value::Unknown
                    };
                };
                // A project class, a library model the recipes describe
                // (`User(...)`, `get_user_model()(...)`), or a model whose
                // manager this module reads, builds an instance.
                if index.is_class(&name) || (looks_like_class(&name) && self.is_model_class(&name)) {
                    // `Item(shelf=shelf)` keeps the related object it was given.
                    return Value::Instance { class: name, preloaded: self.keyword_names(arguments) };
                }
                index.function_returns(&name).map_or(Value::Unknown, |returned| self.returned_value(returned))
            }
            _ => Value::Unknown,
        }
    }

    /// `list(qs)`: the builtin evaluates the `QuerySet` into instances.
    fn evaluated_list(
        &self,
        callee: Node<'t>,
        arguments: Option<Node<'t>>,
        scope: ScopeId,
        depth: usize,
    ) -> Option<Value> {
        let builtin = callee.kind() == "identifier" && self.model.lookup(self.model.text(callee), scope).is_none();
        if !builtin || !matches!(self.model.text(callee), "list" | "sorted" | "tuple") {
            return None;
        }
        match self.eval_at(arguments?.named_child(0)?, scope, depth + 1) {
            Value::QuerySet { model, preloaded, .. } | Value::Manager { model, preloaded, .. } => {
                Some(Value::InstanceList { class: model, preloaded })
            }
            _ => None,
        }
    }

    /// What a project function's return gives: an instance with what its
    /// `return`s loaded, a tagged value, or a lazy `QuerySet`.
    pub(super) fn returned_value(&self, returned: facts::Returned) -> Value {
        match self.instance_of(returned.class) {
            Value::Instance { class, .. } => Value::Instance { class, preloaded: returned.loaded },
            other => other,
        }
    }

    fn type_variable_bound(&self, arguments: Option<Node<'t>>, scope: ScopeId, depth: usize) -> Value {
        let Some(arguments) = arguments else { return Value::Unknown };
        let mut cursor = arguments.walk();
        let bound = arguments.named_children(&mut cursor).find_map(|argument| {
            let is_bound = argument.kind() == "keyword_argument"
                && argument.child_by_field_id(FIELD.name).is_some_and(|name| self.model.text(name) == "bound");
            is_bound.then(|| argument.child_by_field_id(FIELD.value)).flatten()
        });
        match bound.map(|bound| self.annotated(bound, scope, depth)) {
            Some(class @ Value::Qualified(_)) => class,
            _ => Value::Unknown,
        }
    }

    /// What a custom manager's or `QuerySet`'s own method returns: a lazy
    /// `QuerySet` when its `return` is one.
    fn custom_method_result(
        &self,
        model: Option<String>,
        certainty: Certainty,
        classes: Vec<String>,
        method: &str,
    ) -> Value {
        let Some(index) = self.index else { return Value::Unknown };
        let Some(found) = index.orm_method(&classes, method) else { return Value::Unknown };
        let model = match found.returns {
            Some(ReturnedQuerySet::SameModel) => model,
            Some(ReturnedQuerySet::Model(other)) => Some(other),
            // `async def aget_free(self) -> "Stream"`: an object, as its
            // annotation or its `return` says.
            None => {
                return index
                    .method_returns(&found.owner, method)
                    .map_or(Value::Unknown, |returned| self.returned_value(returned));
            }
        };
        Value::QuerySet { model, certainty, preloaded: Vec::new(), classes: self.queryset_classes(classes) }
    }

    /// Of a manager's classes, the `QuerySet` ones: what its `QuerySet`s have.
    pub(super) fn queryset_classes(&self, classes: Vec<String>) -> Vec<String> {
        let Some(index) = self.index else { return Vec::new() };
        classes.into_iter().filter(|class| index.orm_class(class, self.rules) == Some(OrmClass::QuerySet)).collect()
    }

    /// Whether a class's instances are `QuerySet`s or managers: the class
    /// is one of the recipes' classes, or a base is (through the project
    /// index, or classes defined in this module).
    fn orm_class(&self, class: &str, class_node: Option<Node<'t>>, depth: usize) -> Option<OrmClass> {
        if self.rules.orm.queryset_classes.contains(class) {
            return Some(OrmClass::QuerySet);
        }
        if self.rules.orm.manager_classes.contains(class) {
            return Some(OrmClass::Manager);
        }
        if let Some(found) = self.index.and_then(|index| index.orm_class(class, self.rules)) {
            return Some(found);
        }
        let bases = class_node?.child_by_field_id(FIELD.superclasses)?;
        if depth > MAX_DEPTH {
            return None;
        }
        let mut cursor = bases.walk();
        let bases: Vec<Node<'t>> = bases.named_children(&mut cursor).collect();
        bases.into_iter().find_map(|base| {
            let Value::Qualified(name) = self.eval_at(base, ScopeId::MODULE, depth + 1) else { return None };
            // A base defined in this module, followed through its own bases.
            let local = match self.model.lookup(self.model.text(base), ScopeId::MODULE) {
                Some((ScopeId::MODULE, [Binding::Class(node)])) if base.kind() == "identifier" => Some(*node),
                _ => None,
            };
            self.orm_class(&name, local, depth + 8)
        })
    }

    /// The relation paths `select_related(...)` or `prefetch_related(...)`
    /// loads: `"shelf__store"`, and `Prefetch("shelf", queryset=...)`
    /// unless its `to_attr` puts the objects elsewhere.
    pub(crate) fn loaded_paths(&self, arguments: Option<Node<'t>>) -> Vec<String> {
        let Some(arguments) = arguments else { return Vec::new() };
        let text = |node: Node<'_>| self.model.text(node).trim_matches(|c| c == '"' || c == '\'').to_owned();
        let mut cursor = arguments.walk();
        let mut paths = Vec::new();
        for argument in arguments.named_children(&mut cursor) {
            match argument.kind() {
                "string" => paths.push(text(argument)),
                "call" => {
                    let Some(inner) = argument.child_by_field_id(FIELD.arguments) else { continue };
                    let mut inner_cursor = inner.walk();
                    let inner: Vec<Node<'_>> = inner.named_children(&mut inner_cursor).collect();
                    let to_attr = inner.iter().any(|argument| {
                        argument.kind() == "keyword_argument"
                            && argument
                                .child_by_field_id(FIELD.name)
                                .is_some_and(|key| self.model.text(key) == "to_attr")
                    });
                    if let Some(lookup) = inner.first().filter(|lookup| lookup.kind() == "string" && !to_attr) {
                        paths.push(text(*lookup));
                    }
                }
                _ => {}
            }
        }
        paths
    }

    /// The keyword arguments of a call: the fields a constructor set
    /// (`Item(shelf=shelf)` caches `item.shelf`).
    fn keyword_names(&self, arguments: Option<Node<'t>>) -> Vec<String> {
        let Some(arguments) = arguments else { return Vec::new() };
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|argument| argument.kind() == "keyword_argument")
            .filter_map(|argument| argument.child_by_field_id(FIELD.name).map(|key| self.model.text(key).to_owned()))
            .collect()
    }

    /// Whether a qualified name is a model class: known to the index, or by
    /// its spelling; a class the index does not hold is one when this module
    /// reads its manager ([`Self::managed_imports`]).
    pub fn is_model_class(&self, class: &str) -> bool {
        match self.index {
            Some(index) if index.is_model(class, self.rules) => true,
            Some(index) => !index.is_class(class) && self.managed_imports().contains(class),
            None => looks_like_class(class),
        }
    }

    /// The qualified name of `Name` or `module.Name` where the first name
    /// is imported (`from billing import models as billing_models`).
    fn imported_name(&self, node: Node<'t>) -> Option<String> {
        let mut path = Vec::new();
        let mut root = node;
        while root.kind() == "attribute" {
            path.push(self.model.text(root.child_by_field_id(FIELD.attribute)?));
            root = root.child_by_field_id(FIELD.object)?;
        }
        if root.kind() != "identifier" {
            return None;
        }
        let Some((_, [Binding::Import(imported)])) =
            self.model.lookup(self.model.text(root), self.model.scope_at(root))
        else {
            return None;
        };
        let qualified = std::iter::once(imported.as_str()).chain(path.into_iter().rev()).collect::<Vec<_>>().join(".");
        match self.resolve(qualified) {
            Value::Qualified(name) => Some(name),
            _ => None,
        }
    }

    /// Imported classes whose manager this module reads (`Shelf.objects`,
    /// of `from shop.models import Shelf`): models, though the index may not
    /// hold their module (an installed app, a file the run does not reach),
    /// as `Shelf.objects.get(...)` is a query whatever `Shelf`'s module.
    /// Read from the whole module once, when first asked, so the answer
    /// does not depend on which use is evaluated first; sync functions'
    /// bodies left out, as the check may skim them ([`crate::scan::skim`])
    /// and must find the same either way.
    fn managed_imports(&self) -> &HashSet<String> {
        self.managed_imports.get_or_init(|| {
            let mut found = HashSet::new();
            let mut stack = vec![self.model.tree.root_node()];
            while let Some(node) = stack.pop() {
                if node.kind() == "function_definition" && node.child(0).is_none_or(|first| first.kind() != "async") {
                    continue;
                }
                if node.kind() == "attribute"
                    && let (Some(object), Some(attribute)) =
                        (node.child_by_field_id(FIELD.object), node.child_by_field_id(FIELD.attribute))
                    && self.rules.orm.managers.contains(self.model.text(attribute))
                    && let Some(class) = self.imported_name(object)
                    && looks_like_class(&class)
                {
                    found.insert(class);
                }
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
            found
        })
    }
}

/// What a query of `model` fetches: an instance of it; of some model
/// (Django's `Model`: it saves and deletes, and has no relations) where a
/// manager or `QuerySet` class of no known model is certainly one
/// (`self.get(...)` in a `QuerySet` subclass's method).
pub(super) fn fetched(model: Option<String>, certainty: Certainty, preloaded: Vec<String>) -> Value {
    match model {
        Some(class) => Value::Instance { class, preloaded },
        None if certainty == Certainty::Certain => Value::Instance { class: DJANGO_MODEL.to_owned(), preloaded },
        None => Value::Unknown,
    }
}

/// What each decorator of a `decorated_definition` calls: `f` of `@f` and
/// of `@f(...)`.
fn decorator_callees(decorated: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = decorated.walk();
    decorated
        .named_children(&mut cursor)
        .filter(|child| child.kind() == "decorator")
        .filter_map(|decorator| decorator.named_child(0))
        .map(|expression| match expression.kind() {
            "call" => expression.child_by_field_id(FIELD.function).unwrap_or(expression),
            _ => expression,
        })
        .collect()
}

/// For `wrapper(f)(args)`, the node `f`.
pub fn wrapped_callee(call: Node<'_>) -> Option<Node<'_>> {
    if call.kind() != "call" {
        return None;
    }
    let inner = call.child_by_field_id(FIELD.function)?;
    if inner.kind() != "call" {
        return None;
    }
    let arguments = inner.child_by_field_id(FIELD.arguments)?;
    arguments.named_child(0)
}

/// `app.models.User` names a class when its last part is capitalised.
/// `typing.Annotated[X, ...]` and `typing.Optional[X]` as values: `X`.
fn is_type_wrapper(name: &str) -> bool {
    matches!(
        name,
        "typing.Annotated" | "typing.Optional" | "typing_extensions.Annotated" | "typing_extensions.Optional"
    )
}

pub fn looks_like_class(qualified: &str) -> bool {
    qualified.rsplit('.').next().is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// The text of an unresolved receiver that is probably a model class.
fn looks_like_model(text: &str) -> bool {
    let last = text.rsplit('.').next().unwrap_or(text);
    last.starts_with(|c: char| c.is_ascii_uppercase()) || last == "model"
}
