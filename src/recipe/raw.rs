//! The recipe file as written: serde types that mirror the TOML one to one.
//!
//! Unknown keys are errors (`deny_unknown_fields`), and every value that is
//! checked after deserialisation keeps its span so the error can point at it.

use serde::Deserialize;
use toml::Spanned;

/// One recipe file: one rule, its documentation and what it matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRecipe {
    /// Stable rule code, such as `DJ001`: capital letters then digits.
    pub code: Spanned<String>,
    /// Kebab-case name, such as `django-orm-query-in-async`.
    pub name: Spanned<String>,
    /// One line for `asyncfix recipes`.
    pub summary: String,
    /// The diagnostic message; may use `{callee}`, `{method}` and `{wrapper}`.
    pub message: Spanned<String>,
    /// The message of a `SQLAlchemy` rule's site on a relationship declared
    /// `lazy="raise"` or `"raise_on_sql"`, which raises `InvalidRequestError`
    /// instead of loading; the same placeholders as `message`.
    #[serde(default)]
    pub raise_message: Option<Spanned<String>>,
    /// Markdown documentation printed by `asyncfix explain CODE`.
    pub doc: String,
    /// Whether `fix` may apply this rule's fixes without `--unsafe-fixes`.
    #[serde(default)]
    pub applicability: Option<RawApplicability>,
    /// How a site is rewritten.
    #[serde(default)]
    pub rewrite: Option<Spanned<RawRewrite>>,
    /// The wrapper to use instead of the default (`sync_to_async`, or
    /// `database_sync_to_async` in modules that import `channels`).
    #[serde(default)]
    pub wrapper: Option<RawWrapper>,
    /// What the rule's sites touch, for `{resource}` in messages of the
    /// project functions that make them (`"the cache backend"`); the
    /// database when absent.
    #[serde(default)]
    pub resource: Option<String>,
    /// Django apps one of which must be installed for the rule's sites to
    /// exist (`rest_framework_simplejwt.token_blacklist`): where the
    /// project's settings list none of them, the rule reports nothing.
    #[serde(default)]
    pub installed_apps: Vec<Spanned<String>>,
    /// A matcher built into asyncfix, for sites that need the project index.
    #[serde(default)]
    pub matcher: Option<Spanned<RawMatcher>>,
    /// The parameters of the `model-instance` kind: instance and
    /// related-manager methods that query. Several recipes may add to them;
    /// each entry reports under the recipe that declares it.
    #[serde(default)]
    pub model_instance: Option<RawModelInstance>,
    /// The parameters of the `implicit-evaluation` kind: builtins that
    /// evaluate a `QuerySet` passed to them. Several recipes may add to them.
    #[serde(default)]
    pub implicit_evaluation: Option<RawImplicitEvaluation>,
    /// The parameters of the `async-to-sync` kind: callables that run a
    /// coroutine function to completion from sync code.
    #[serde(default)]
    pub async_to_sync: Option<RawAsyncToSync>,
    /// The parameters of the `lazy-request-user` kind.
    #[serde(default)]
    pub lazy_request_user: Option<RawLazyRequestUser>,
    /// The parameters of the `template-render` kind.
    #[serde(default)]
    pub template_render: Option<RawTemplateRender>,
    /// Recipe format 1 kept these at the top level; format 2 rejects them
    /// with how to convert (`[model-instance]` `instance-methods`).
    #[serde(default)]
    pub instance_methods: Option<Spanned<toml::Value>>,
    /// Format 1, rejected: now `[model-instance]` `related-manager-methods`.
    #[serde(default)]
    pub related_manager_methods: Option<Spanned<toml::Value>>,
    /// Format 1, rejected: now `[implicit-evaluation]` `evaluating-functions`.
    #[serde(default)]
    pub evaluating_functions: Option<Spanned<toml::Value>>,
    /// Django ORM chains: managers, lazy and evaluating `QuerySet` methods.
    #[serde(default)]
    pub orm: Option<RawOrm>,
    /// Callables that hit the database when called.
    #[serde(default)]
    pub callable: Vec<RawCallable>,
    /// Methods that hit the database on values produced by a callable.
    #[serde(default)]
    pub method: Vec<RawMethod>,
    /// Attributes (or properties) whose read hits the database on values
    /// produced by a callable.
    #[serde(default)]
    pub attribute: Vec<RawMethod>,
    /// Models of installed libraries (never indexed): their bases and
    /// relation fields, as their source declares them.
    #[serde(default)]
    pub model: Vec<RawModel>,
    /// The `SQLAlchemy` vocabulary: result methods and loader options.
    #[serde(default)]
    pub sqlalchemy: Option<RawSqlAlchemy>,
    /// Template methods of library classes: on a project subclass of
    /// `base`, calling one of `calls` runs the subclass's `runs`.
    #[serde(default)]
    pub dispatch: Vec<RawDispatch>,
    /// pytest fixtures: what an unannotated parameter of that name holds in
    /// a test function or a fixture.
    #[serde(default)]
    pub fixture: Vec<RawFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFixture {
    /// Fixture names (`client`, `admin_user`).
    pub names: Vec<Spanned<String>>,
    /// The tag of the value; `django-user` is an instance of the user model,
    /// `django-user-model` the user model class.
    pub returns: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDispatch {
    /// The library class, by qualified name (`acme.jobs.Job`).
    pub base: Spanned<String>,
    /// Its methods that call the subclass's hook (`execute`).
    pub calls: Vec<Spanned<String>>,
    /// The hook a subclass defines (`process`).
    pub runs: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawModel {
    /// The model's qualified name: `django.contrib.auth.models.Group`.
    pub class: Spanned<String>,
    /// Its base classes that are models too, by qualified name: a class
    /// inherits their fields.
    #[serde(default)]
    pub bases: Vec<Spanned<String>>,
    /// An abstract model: its fields' reverse accessors go to each concrete
    /// subclass (the project's too), not to it.
    #[serde(default)]
    pub r#abstract: bool,
    /// Its relation fields.
    #[serde(default)]
    pub fields: Vec<RawModelField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawModelField {
    /// The field's name: `groups`.
    pub name: Spanned<String>,
    /// How it relates the two models.
    pub kind: RawRelationKind,
    /// The related model's qualified name.
    pub to: Spanned<String>,
    /// The reverse accessor's name; without it, `model_set` (`model` for a
    /// one-to-one); ending in `+`, none.
    #[serde(default)]
    pub related_name: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRelationKind {
    ForeignKey,
    OneToOne,
    ManyToMany,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawModelInstance {
    /// Methods that query when called on a model instance (`save`, `delete`).
    #[serde(default)]
    pub instance_methods: Vec<Spanned<String>>,
    /// Methods that write when called on a related manager (`add`, `set`).
    #[serde(default)]
    pub related_manager_methods: Vec<Spanned<String>>,
    /// Their native async twins (`save` -> `asave`, 4.2).
    #[serde(default)]
    pub async_twins: Vec<RawTwin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawImplicitEvaluation {
    /// Builtins that evaluate a `QuerySet` passed to them (`list`, `len`).
    #[serde(default)]
    pub evaluating_functions: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAsyncToSync {
    /// Qualified names: `asgiref.sync.async_to_sync`. `f(coroutine_function)`
    /// returns a sync callable that raises on an event loop's thread.
    pub drivers: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLazyRequestUser {
    /// Packages or classes (dotted prefixes: `rest_framework`) whose views
    /// authenticate the request before the handler runs: in a method of a
    /// subclass, or a function they decorate, `request.user` is loaded.
    #[serde(default)]
    pub authenticated_in: Vec<Spanned<String>>,
    /// `{ sync = "user", async = "auser", since = "5.0" }`: the request's
    /// coroutine that loads the user.
    #[serde(default)]
    pub async_twins: Vec<RawTwin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTemplateRender {
    /// Callables that render a template now, with their parameters.
    #[serde(default)]
    pub renderers: Vec<RawRenderer>,
    /// Context processors that hand templates the lazy request user, with
    /// the template variables through which reading it loads it.
    #[serde(default)]
    pub user_processors: Vec<RawUserProcessor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRenderer {
    /// `django.shortcuts.render`.
    pub name: Spanned<String>,
    /// Its parameters in order, among them `request`, `template_name` and
    /// `context` (`["request", "template_name", "context"]`).
    pub parameters: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawUserProcessor {
    /// `django.contrib.auth.context_processors.auth`.
    pub name: Spanned<String>,
    /// `["user", "perms"]`.
    pub variables: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawApplicability {
    Safe,
    Unsafe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawMatcher {
    /// Calls of project functions and methods that touch the database.
    ProjectHelpers,
    /// `save()`, `delete()`, ... on model instances; related-manager writes.
    ModelInstance,
    /// Lazy foreign-key and one-to-one reads on model instances.
    LazyRelation,
    /// `for x in qs`, `list(qs)`, `if qs:` and other implicit evaluations.
    ImplicitEvaluation,
    /// `SQLAlchemy`: lazy relationships read on objects from an `AsyncSession`.
    SqlalchemyLazyLoad,
    /// `SQLAlchemy`: attributes read on objects a commit or rollback expired.
    SqlalchemyExpired,
    /// An awaited wrapper around a call that has a native async twin
    /// (migration to native async, under `--style native`).
    NativeMigration,
    /// `async_to_sync(f)(...)` inside `async def`, and project functions
    /// that run it, called there.
    AsyncToSync,
    /// The authentication middleware's lazy `request.user`, first used
    /// inside `async def`.
    LazyRequestUser,
    /// A template rendered inside `async def` whose context processors or
    /// context query.
    TemplateRender,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRewrite {
    /// `wrapper(f)(args)` for a plain callee, `wrapper(lambda: expr)()` for a chain.
    Wrap,
    /// Always `wrapper(lambda: expr)()`.
    Lambda,
    /// Report only.
    None,
    /// `SQLAlchemy` lazy loads: query the related rows explicitly.
    Explicit,
    /// `SQLAlchemy` lazy loads: eager-load in the query that loaded the object.
    Selectinload,
    /// `SQLAlchemy`: `await session.refresh(obj, ...)` before the read.
    Refresh,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawWrapper {
    /// The module the wrapper is imported from, such as `asgiref.sync`.
    pub module: Spanned<String>,
    /// The wrapper's name in that module, such as `sync_to_async`.
    pub name: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOrm {
    /// Attributes of a model class that are managers: `objects`, `_default_manager`.
    pub managers: Vec<Spanned<String>>,
    /// Callables that return a model class: `django.contrib.auth.get_user_model`.
    #[serde(default)]
    pub model_factories: Vec<Spanned<String>>,
    /// Modules whose classes named `...Field` are model fields: a class
    /// declaring one is a model even when its base is not known.
    #[serde(default)]
    pub field_modules: Vec<Spanned<String>>,
    /// Callables that return the model an app label names:
    /// `apps.get_model("shop", "Book")`, `apps.get_model("shop.Book")`.
    #[serde(default)]
    pub model_loaders: Vec<Spanned<String>>,
    /// `QuerySet` methods that return a new `QuerySet` without a query.
    pub lazy: Vec<Spanned<String>>,
    /// `QuerySet` and manager methods that run a query.
    pub evaluating: Vec<Spanned<String>>,
    /// The evaluating methods that return one model instance (`get`, `first`).
    #[serde(default)]
    pub fetching: Vec<Spanned<String>>,
    /// The evaluating methods that return `(instance, created)`:
    /// `get_or_create`, `update_or_create`.
    #[serde(default)]
    pub fetching_pairs: Vec<Spanned<String>>,
    /// Base classes that make a class a Django model.
    #[serde(default)]
    pub model_bases: Vec<Spanned<String>>,
    /// Classes that make a class a `QuerySet`: `self` in its methods is one.
    #[serde(default)]
    pub queryset_classes: Vec<Spanned<String>>,
    /// Classes that make a class a manager: `self` in its methods is one.
    #[serde(default)]
    pub manager_classes: Vec<Spanned<String>>,
    /// Field classes that relate two models, by kind.
    #[serde(default)]
    pub relation_fields: Option<RawRelationFields>,
    /// Each evaluating method's native async twin and the Django version
    /// that introduced it (`{ sync = "get", async = "aget", since = "4.1" }`).
    #[serde(default)]
    pub async_twins: Vec<RawTwin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTwin {
    /// The synchronous name: in `[orm]` one of `evaluating`; in a
    /// `[[callable]]` one of its members (or its names' last part); in a
    /// `[[method]]` one of its names.
    pub sync: Spanned<String>,
    /// Its native async twin.
    pub r#async: Spanned<String>,
    /// The version that introduced the twin, `MAJOR.MINOR` or
    /// `MAJOR.MINOR.PATCH` (Django's, for the built-in recipes).
    #[serde(default)]
    pub since: Option<Spanned<String>>,
    /// Only in a `[[method]]`: the twin is a method of this sibling
    /// attribute of the receiver's owner (`self.client.get(...)` ->
    /// `await self.async_client.get(...)`).
    #[serde(default)]
    pub receiver: Option<Spanned<String>>,
    /// Only with `receiver`: the keyword arguments the twin takes as the
    /// sync method does; a call passing any other (or `**`) keeps its
    /// wrapper. Unset: every keyword.
    #[serde(default)]
    pub keywords: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRelationFields {
    /// Many-to-one: `django.db.models.ForeignKey`.
    pub foreign_key: Vec<Spanned<String>>,
    /// One-to-one: `django.db.models.OneToOneField`.
    pub one_to_one: Vec<Spanned<String>>,
    /// Many-to-many: `django.db.models.ManyToManyField`.
    pub many_to_many: Vec<Spanned<String>>,
    /// The model a field relates to when the declaration names none:
    /// `tags = TaggableManager()` relates to `taggit.models.Tag`.
    #[serde(default)]
    pub default_targets: Vec<RawDefaultTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaultTarget {
    /// A field class listed above.
    pub field: Spanned<String>,
    /// The model class it relates to by default.
    pub to: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawCallable {
    /// Qualified names, such as `ninja_jwt.tokens.RefreshToken` or
    /// `django.core.cache.caches[]` (`[]` stands for any subscript).
    pub names: Spanned<Vec<Spanned<String>>>,
    /// If given, the callables are `name.member` for each name and member.
    #[serde(default)]
    pub members: Vec<Spanned<String>>,
    /// A tag for the value the call returns, for `[[method]]` entries.
    #[serde(default)]
    pub returns: Option<Spanned<String>>,
    /// A context manager: a site only where a `with` statement enters it.
    #[serde(default)]
    pub with_only: bool,
    /// Native async twins of these callables (`for_user` -> `afor_user`).
    #[serde(default)]
    pub async_twins: Vec<RawTwin>,
    /// Whether calling it is a site. `false`: the call only tags the value
    /// it returns (a serializer constructed, then `is_valid()` queries).
    #[serde(default = "yes")]
    pub site: bool,
    /// A method that returns an instance of the class the receiver's
    /// attribute of this name holds (`get_serializer` and `serializer_class`).
    #[serde(default)]
    pub returns_instance_of: Option<Spanned<String>>,
    /// With `returns-instance-of`: the receiver's method that gives the
    /// class instead, when the project overrides it (`get_serializer_class`).
    #[serde(default)]
    pub class_getter: Option<Spanned<String>>,
    /// A method that returns an instance of the model of the receiver's
    /// attribute of this name (`get_object` and `queryset`).
    #[serde(default)]
    pub returns_model_of: Option<Spanned<String>>,
    /// A method that saves, or builds, an instance of the model the
    /// receiver's attribute of this name holds (`Meta.model` for a model
    /// form's `save`) from the data it was given: the relations it set are
    /// loaded on it.
    #[serde(default)]
    pub returns_saved_model_of: Option<Spanned<String>>,
    /// A function that returns one object of the model its positional
    /// argument at this index names: a model class, a manager or a
    /// `QuerySet` (`get_object_or_404(Book.objects.select_related("shelf"))`).
    #[serde(default)]
    pub returns_model_of_argument: Option<Spanned<usize>>,
    /// The same for a list of objects (`get_list_or_404`).
    #[serde(default)]
    pub returns_list_of_argument: Option<Spanned<usize>>,
    /// What iterating the call's result gives, as a qualified name (the
    /// items of `django.db.connections.all()` are `django.db.connections[]`),
    /// so calls on a loop variable resolve to the recipes' names.
    #[serde(default)]
    pub items: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawMethod {
    /// The tag of the receiver, as given by a callable's `returns`.
    pub receiver: Spanned<String>,
    /// Method names (`[[method]]`) or attribute names (`[[attribute]]`)
    /// that hit the database on such a value.
    pub names: Vec<Spanned<String>>,
    /// `[[method]]` only: native async twins of these methods
    /// (`charge` -> `acharge`).
    #[serde(default)]
    pub async_twins: Vec<RawTwin>,
    /// `[[method]]` only: keyword arguments, as `name=value`, that make the
    /// call query nothing (`commit=False` of a model form's `save`).
    #[serde(default)]
    pub unless: Vec<Spanned<String>>,
    /// Queries only when the receiver's project class does: `model-validation`
    /// (a model form's or serializer's validation: unique or relation
    /// fields, hooks) or `model-representation` (a serializer's output:
    /// many-valued relations, nested or computed fields).
    #[serde(default)]
    pub queries_when: Option<RawModelIo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawModelIo {
    ModelValidation,
    ModelRepresentation,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSqlAlchemy {
    /// Result methods that return one object (`scalar_one_or_none`, `first`).
    pub result_one: Vec<Spanned<String>>,
    /// Result methods that return a list of objects (`all`).
    pub result_many: Vec<Spanned<String>>,
    /// Loader options that load a relationship with its object
    /// (`selectinload`, `joinedload`), matched by the end of their name.
    pub eager_options: Vec<Spanned<String>>,
    /// `relationship(lazy=...)` strategies that load with the object.
    pub eager_strategies: Vec<Spanned<String>>,
    /// `AsyncSession` methods by what they do to the objects the rules follow.
    pub session: RawSessionMethods,
}

/// `[sqlalchemy.session]`: each key a behaviour the rules model, each value
/// the session methods that have it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSessionMethods {
    /// Return a result of the statement (`execute`).
    pub execute: Vec<Spanned<String>>,
    /// Return one object of the statement (`scalar`).
    pub scalar: Vec<Spanned<String>>,
    /// Return a result of the statement's objects (`scalars`).
    pub scalars: Vec<Spanned<String>>,
    /// Return the object of a class with a primary key (`get`).
    pub get: Vec<Spanned<String>>,
    /// Make a new object pending (`add`).
    pub add: Vec<Spanned<String>>,
    /// Make pending objects persistent (`flush`).
    pub flush: Vec<Spanned<String>>,
    /// Expire the session's objects unless `expire_on_commit=False` (`commit`).
    pub commit: Vec<Spanned<String>>,
    /// Expire the session's objects always (`rollback`).
    pub rollback: Vec<Spanned<String>>,
    /// Load an object, or the attributes `attribute_names=[...]` lists (`refresh`).
    pub refresh: Vec<Spanned<String>>,
    /// Mark an object for deletion: after the flush it is no longer persistent (`delete`).
    #[serde(default)]
    pub delete: Vec<Spanned<String>>,
}
