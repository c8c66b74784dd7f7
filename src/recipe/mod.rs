//! Recipes: the knowledge of which callables, methods and chains hit the
//! database. Raw TOML ([`raw`]) is validated into a [`RuleSet`] once per run
//! and shared read-only by every file.

mod builtin;
mod load;
pub mod raw;
mod validate;
mod vocabulary;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

pub use builtin::BUILTIN_RECIPES;
use raw::RawRecipe;

pub use crate::fix::Wrapper;
use crate::fix::{Applicability, SqlAlchemyFix};
use crate::source::Locator;
use validate::Loader;

/// Names of a kind's entries, each with the rule of the recipe that lists it.
type EntryRules = HashMap<String, RuleId>;

/// Index of a rule in [`RuleSet::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub usize);

/// Index of a value tag (a callable's `returns`) in [`RuleSet::tags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagId(pub usize);

/// How a site is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// `await w(f)(args)` for a call whose callee has no call in it,
    /// `await w(lambda: expr)()` otherwise.
    Wrap,
    /// Always `await w(lambda: expr)()`.
    Lambda,
    /// Report only.
    None,
    /// A `SQLAlchemy` rule's default style (`--sqlalchemy-fix` overrides it).
    SqlAlchemy(SqlAlchemyFix),
}

/// One validated rule.
#[derive(Debug)]
pub struct Rule {
    pub code: String,
    pub name: String,
    pub summary: String,
    pub message: String,
    /// For a `SQLAlchemy` relationship declared `lazy="raise"`: `message` otherwise.
    pub raise_message: Option<String>,
    pub doc: String,
    pub applicability: Applicability,
    pub rewrite: Rewrite,
    pub wrapper: Option<Wrapper>,
    /// What its sites touch, when not the database (`resource`).
    pub resource: Option<String>,
    /// Apps one of which the project must install for the rule to report
    /// (`installed-apps`); empty: always.
    pub installed_apps: Vec<String>,
    /// Where the rule came from: `builtin:recipes/x.toml` or a user's path.
    pub origin: String,
}

impl Rule {
    /// The message with its placeholders filled in.
    pub fn render_message(&self, callee: &str, method: &str, wrapper: &str, via: &str) -> String {
        render(&self.message, callee, method, wrapper, via)
    }

    /// The message of a site that touches `resource` (another rule's, when
    /// not the database) through a project function.
    pub fn render_touching(&self, callee: &str, method: &str, wrapper: &str, via: &str, resource: &str) -> String {
        render(&self.message.replace("{resource}", resource), callee, method, wrapper, via)
    }

    /// The message for a read of a relationship declared `lazy="raise"`
    /// (`raise-message`, else `message`).
    pub fn render_raise_message(&self, callee: &str, method: &str, via: &str) -> String {
        render(self.raise_message.as_deref().unwrap_or(&self.message), callee, method, "", via)
    }
}

/// `template` with its placeholders filled in.
fn render(template: &str, callee: &str, method: &str, wrapper: &str, via: &str) -> String {
    template
        .replace("{callee}", callee)
        .replace("{method}", method)
        .replace("{wrapper}", wrapper)
        .replace("{via}", via)
        .replace("{resource}", DATABASE)
}

/// What a site touches unless its rule says otherwise.
pub const DATABASE: &str = "the database";

/// A callable that hits the database.
#[derive(Debug, Clone, Copy)]
pub struct Callable {
    pub rule: RuleId,
    pub returns: Option<TagId>,
    /// A site only where a `with` statement enters it.
    pub with_only: bool,
    /// Calling it is a site; when not, the call only tags what it returns.
    pub site: bool,
    /// What it returns, from an attribute of its receiver or an argument:
    /// an index into [`RuleSet::returned_from`].
    pub returns_from: Option<usize>,
}

/// The attribute under which the index keeps a class's
/// `class Meta: model = Book` (a model form's or serializer's model).
pub const META_MODEL: &str = "Meta.model";

/// What a method returns, from an attribute of its receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnedFrom {
    /// An instance of the class the attribute holds (`serializer_class`),
    /// or that the project's override of `getter` returns
    /// (`get_serializer_class`).
    InstanceOf { attribute: String, getter: Option<String> },
    /// An instance of the model of the attribute's `QuerySet` (`queryset`).
    ModelOf(String),
    /// An instance of the model the attribute holds (`Meta.model`), built
    /// from the receiver's data: every relation it has is loaded.
    SavedModelOf(String),
    /// One object (or, `many`, a list) of the model the positional argument
    /// at `position` names: a model class, a manager or a `QuerySet`.
    ModelOfArgument { position: usize, many: bool },
}

/// What a model form or serializer does with its model's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelIo {
    /// Validating data (`is_valid()`): unique and relation fields query.
    Validation,
    /// Showing an instance (`.data`): many-valued relations, nested and
    /// computed fields query.
    Representation,
}

/// Django ORM vocabulary.
#[derive(Debug, Default)]
pub struct Orm {
    pub rule: Option<RuleId>,
    pub managers: HashSet<String>,
    pub model_factories: HashSet<String>,
    pub model_loaders: HashSet<String>,
    pub field_modules: Vec<String>,
    pub lazy: HashSet<String>,
    pub evaluating: HashSet<String>,
    pub fetching: HashSet<String>,
    pub model_bases: HashSet<String>,
    /// Classes whose subclasses are `QuerySet`s (`self` in their methods).
    pub queryset_classes: HashSet<String>,
    /// Classes whose subclasses are managers (`self` in their methods).
    pub manager_classes: HashSet<String>,
    /// The evaluating methods that return `(instance, created)`.
    pub fetching_pairs: HashSet<String>,
    /// Native async twins by their async name (`aget` -> `get`, 4.1).
    /// (`RuleSet::twins` lists every recipe's, for `explain`.)
    pub async_twins: HashMap<String, AsyncTwin>,
    /// Relation field classes and their kind.
    pub relation_fields: HashMap<String, RelationKind>,
    /// The model a relation field class relates to when its declaration
    /// names none (`TaggableManager()`).
    pub default_targets: HashMap<String, String>,
}

/// A model of an installed library, declared by a recipe's `[[model]]`:
/// the index never reads its source.
#[derive(Debug, Clone, Default)]
pub struct LibraryModel {
    /// Its bases that are models too.
    pub bases: Vec<String>,
    /// Its fields' reverse accessors go to its concrete subclasses.
    pub is_abstract: bool,
    pub fields: Vec<LibraryField>,
}

/// A relation field of a library model.
#[derive(Debug, Clone)]
pub struct LibraryField {
    pub name: String,
    pub kind: RelationKind,
    /// The related model's qualified name.
    pub to: String,
    pub related_name: Option<String>,
}

/// What the `SQLAlchemy` rules know of the library, from `[sqlalchemy]`.
#[derive(Debug, Default)]
pub struct SqlAlchemyVocabulary {
    pub result_one: HashSet<String>,
    pub result_many: HashSet<String>,
    pub eager_options: Vec<String>,
    pub eager_strategies: HashSet<String>,
    /// `AsyncSession` methods the rules model, by what they do.
    pub session: HashMap<String, SessionVerb>,
}

/// What a session method does to the objects SA001/SA002 follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionVerb {
    Execute,
    Scalar,
    Scalars,
    Get,
    Add,
    Flush,
    Commit,
    Rollback,
    Refresh,
    Delete,
}

/// A method's native async twin, and the Django version that introduced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncTwin {
    pub sync: String,
    pub since: Option<String>,
}

/// A native async twin a recipe declares (`get` -> `aget`, since 4.1).
#[derive(Debug, Clone)]
pub struct Twin {
    pub rule: RuleId,
    pub sync: String,
    pub name: String,
    /// The version that introduced it.
    pub since: Option<String>,
    /// The sibling attribute of the receiver's owner the twin is called on
    /// (`client` -> `async_client`); `None`: the same receiver.
    pub receiver: Option<String>,
    /// With `receiver`: the keyword arguments the twin accepts as the sync
    /// method does; `None`: every keyword.
    pub keywords: Option<Vec<String>>,
}

/// How a relation field relates two models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    ForeignKey,
    OneToOne,
    ManyToMany,
}

/// Every loaded rule and the lookup tables built from them.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub tags: Vec<String>,
    /// pytest fixtures by name: the tag of the value a test receives.
    pub fixtures: HashMap<String, TagId>,
    /// What `[[callable]]` methods with `returns-instance-of`,
    /// `returns-model-of` or `returns-saved-model-of` return.
    pub returned_from: Vec<ReturnedFrom>,
    pub callables: HashMap<String, Callable>,
    /// What iterating a callable's result gives (`[[callable]]` `items`).
    pub callable_items: HashMap<String, String>,
    pub methods: HashMap<(TagId, String), RuleId>,
    /// `[[method]]` `unless`: keyword arguments (name, value as written)
    /// that make a call of the method query nothing.
    pub method_exemptions: HashMap<(TagId, String), Vec<(String, String)>>,
    /// `[[method]]` and `[[attribute]]` `queries-when`: what the receiver's
    /// project class must do for the call or read to query.
    pub queries_when: HashMap<(TagId, String), ModelIo>,
    /// The `SQLAlchemy` vocabulary (`[sqlalchemy]`).
    pub sqlalchemy: SqlAlchemyVocabulary,
    /// Template methods: `(library base, method called)` -> the subclass's
    /// method that runs (`[[dispatch]]`).
    pub dispatch: HashMap<(String, String), Vec<String>>,
    /// Recipe callables' async twins: qualified async name -> sync name.
    pub callable_twins: HashMap<String, String>,
    /// Every declared twin.
    pub twins: Vec<Twin>,
    /// A `[[callable]]`'s twin by the callable's qualified name
    /// (`django.core.cache.cache.get` -> its index in `twins`).
    pub sync_twins: HashMap<String, usize>,
    /// A `[[method]]`'s twin by receiver tag and method (`charge` on an
    /// `acme-client` -> its index in `twins`).
    pub method_twins: HashMap<(TagId, String), usize>,
    /// Attributes whose read hits the database, by the tag of the value.
    pub attributes: HashMap<(TagId, String), RuleId>,
    pub orm: Orm,
    /// Qualified names of wrappers: their arguments run in a thread.
    pub wrappers: HashSet<String>,
    /// The rules of the built-in matchers that need the project index.
    pub project_helpers: Option<RuleId>,
    pub lazy_relation: Option<RuleId>,
    pub implicit_evaluation: Option<RuleId>,
    pub sqlalchemy_lazy_load: Option<RuleId>,
    pub sqlalchemy_expired: Option<RuleId>,
    /// The `native-migration` recipe: awaited wrappers with a native twin.
    pub native_migration: Option<RuleId>,
    /// The `async-to-sync` recipe, and the callables it names.
    pub async_to_sync: Option<RuleId>,
    pub async_drivers: HashSet<String>,
    /// The `lazy-request-user` recipe; the dotted prefixes of the views
    /// that authenticate before their handler; the twin of `request.user`
    /// (its index in `twins`).
    pub lazy_request_user: Option<RuleId>,
    pub authenticated_in: Vec<String>,
    /// The `template-render` recipe: renderers by qualified name, with
    /// their parameters; the context processors that hand templates the
    /// lazy user, with the variables that load it.
    pub template_render: Option<RuleId>,
    pub renderers: HashMap<String, Vec<String>>,
    pub user_processors: HashMap<String, Vec<String>>,
    pub request_user_twin: Option<usize>,
    /// Model instance methods that query (`save`, `delete`, ...), each
    /// with the rule of the recipe that lists it.
    pub instance_methods: HashMap<String, RuleId>,
    /// Related-manager methods that write (`add`, `remove`, ...).
    pub related_manager_methods: HashMap<String, RuleId>,
    /// Builtins that evaluate a `QuerySet` (`list`, `len`, `bool`, ...).
    pub evaluating_functions: HashMap<String, RuleId>,
    /// Models of installed libraries, by qualified name.
    pub library_models: HashMap<String, LibraryModel>,
    /// The recipe that declared each library model, for errors.
    library_model_origins: HashMap<String, String>,
}

/// A recipe that could not be loaded: the file, the position and why.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct RecipeError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RuleSet {
    /// The built-in recipes plus the user's, validated.
    pub fn load(user_recipes: &[PathBuf]) -> Result<Self, RecipeError> {
        Self::load_from(&BUILTIN_RECIPES, user_recipes)
    }

    /// `builtin` (name and text, as [`BUILTIN_RECIPES`]) plus the user's.
    pub fn load_from(builtin: &[(&str, &str)], user_recipes: &[PathBuf]) -> Result<Self, RecipeError> {
        let mut set = Self::default();
        for (name, text) in builtin {
            set.add(&format!("builtin:{name}"), text)?;
        }
        for path in user_recipes {
            let text = std::fs::read_to_string(path).map_err(|err| RecipeError {
                path: path.display().to_string(),
                line: 1,
                column: 1,
                message: match err.kind() {
                    std::io::ErrorKind::NotFound => "cannot read recipe: no such file or directory".to_owned(),
                    std::io::ErrorKind::PermissionDenied => "cannot read recipe: permission denied".to_owned(),
                    _ => format!("cannot read recipe: {err}"),
                },
            })?;
            set.add(&path.display().to_string(), &text)?;
        }
        set.wrappers.insert("asgiref.sync.sync_to_async".to_owned());
        set.wrappers.insert("channels.db.database_sync_to_async".to_owned());
        Ok(set)
    }

    /// Parses and validates one recipe and adds it.
    pub fn add(&mut self, path: &str, text: &str) -> Result<RuleId, RecipeError> {
        let loader = Loader { path, locator: Locator::new(text) };
        let raw: RawRecipe = toml::from_str(text).map_err(|err| {
            let offset = err.span().map_or(0, |span| span.start);
            loader.error(offset, err.message().trim_end().to_owned())
        })?;
        self.add_raw(&loader, raw)
    }

    /// The rule with this code.
    pub fn by_code(&self, code: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.code.eq_ignore_ascii_case(code))
    }

    /// The rules whose code starts with the given prefix (`DJ` selects `DJ001`...).
    pub fn matching(&self, prefix: &str) -> Vec<RuleId> {
        let prefix = prefix.to_ascii_uppercase();
        (0..self.rules.len()).filter(|&i| self.rules[i].code.starts_with(&prefix)).map(RuleId).collect()
    }

    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0]
    }
}

#[cfg(test)]
mod tests {
    use super::RuleSet;

    /// `[orm]` is the built-in recipe's, so its keys are checked here: a
    /// user recipe declaring one is rejected before they are read.
    #[test]
    fn orm_classes_must_be_dotted_names() {
        let recipe = r#"
code = "ORM001"
name = "orm"
summary = "ORM"
message = "`{callee}`"
doc = "ORM"

[orm]
managers = ["objects"]
lazy = ["filter"]
evaluating = ["get"]
queryset-classes = ["django.db.models.QuerySet"]
manager-classes = ["django.db.models.Manager()"]
"#;
        let error = RuleSet::default().add("orm.toml", recipe).expect_err("a manager class that is not a dotted name");
        assert_eq!(error.to_string(), "orm.toml:13:20: `django.db.models.Manager()` is not a qualified class name");
    }
}
