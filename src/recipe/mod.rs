//! Recipes: the knowledge of which callables, methods and chains hit the
//! database. Raw TOML ([`raw`]) is validated into a [`RuleSet`] once per run
//! and shared read-only by every file.

mod builtin;
pub mod raw;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use toml::Spanned;

pub use builtin::BUILTIN_RECIPES;
use raw::{RawApplicability, RawMatcher, RawRecipe, RawRewrite};

pub use crate::fix::Wrapper;
use crate::fix::{Applicability, SqlAlchemyFix};
use crate::source::Locator;

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
    pub doc: String,
    pub applicability: Applicability,
    pub rewrite: Rewrite,
    pub wrapper: Option<Wrapper>,
    /// Where the rule came from: `builtin:recipes/x.toml` or a user's path.
    pub origin: String,
}

impl Rule {
    /// The message with its placeholders filled in.
    pub fn render_message(&self, callee: &str, method: &str, wrapper: &str, via: &str) -> String {
        self.message
            .replace("{callee}", callee)
            .replace("{method}", method)
            .replace("{wrapper}", wrapper)
            .replace("{via}", via)
    }
}

/// A callable that hits the database.
#[derive(Debug, Clone, Copy)]
pub struct Callable {
    pub rule: RuleId,
    pub returns: Option<TagId>,
    /// A site only where a `with` statement enters it.
    pub with_only: bool,
    /// Calling it is a site; when not, the call only tags what it returns.
    pub site: bool,
}

/// Django ORM vocabulary.
#[derive(Debug, Default)]
pub struct Orm {
    pub rule: Option<RuleId>,
    pub managers: HashSet<String>,
    pub model_factories: HashSet<String>,
    pub lazy: HashSet<String>,
    pub evaluating: HashSet<String>,
    pub fetching: HashSet<String>,
    pub model_bases: HashSet<String>,
    /// Classes whose subclasses are `QuerySet`s (`self` in their methods).
    pub queryset_classes: HashSet<String>,
    /// Classes whose subclasses are managers (`self` in their methods).
    pub manager_classes: HashSet<String>,
    /// Relation field classes and their kind.
    pub relation_fields: HashMap<String, RelationKind>,
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
    pub callables: HashMap<String, Callable>,
    pub methods: HashMap<(TagId, String), RuleId>,
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

/// The placeholders a message may use.
const PLACEHOLDERS: [&str; 4] = ["callee", "method", "wrapper", "via"];

struct Loader<'a> {
    path: &'a str,
    locator: Locator<'a>,
}

impl Loader<'_> {
    fn error(&self, offset: usize, message: impl Into<String>) -> RecipeError {
        let (line, column) = self.locator.line_col(offset);
        RecipeError { path: self.path.to_owned(), line, column, message: message.into() }
    }

    fn spanned_error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> RecipeError {
        self.error(value.span().start, message)
    }
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

    fn add_raw(&mut self, loader: &Loader<'_>, raw: RawRecipe) -> Result<RuleId, RecipeError> {
        self.check_names(loader, &raw)?;
        check_placeholders(loader, &raw.message)?;
        let wrapper = match &raw.wrapper {
            Some(wrapper) => {
                check_dotted(loader, &wrapper.module, false)?;
                check_identifier(loader, &wrapper.name)?;
                Some(Wrapper::new(wrapper.module.get_ref(), wrapper.name.get_ref()))
            }
            None => None,
        };
        let rule = RuleId(self.rules.len());
        if let Some(wrapper) = &wrapper {
            self.wrappers.insert(wrapper.qualified_name());
        }
        if let Some(orm) = &raw.orm {
            self.add_orm(loader, orm, &raw.code, rule)?;
        }
        self.add_callables(loader, &raw.callable, rule)?;
        for (entries, table) in [(&raw.method, &mut self.methods), (&raw.attribute, &mut self.attributes)] {
            for entry in entries {
                let Some(tag) = self.tags.iter().position(|tag| tag == entry.receiver.get_ref()) else {
                    return Err(loader.spanned_error(
                        &entry.receiver,
                        format!(
                            "receiver `{}` is not returned by any `[[callable]]` loaded so far",
                            entry.receiver.get_ref()
                        ),
                    ));
                };
                for name in &entry.names {
                    check_identifier(loader, name)?;
                    table.insert((TagId(tag), name.get_ref().clone()), rule);
                }
            }
        }
        let matcher = raw.matcher.as_ref().map(|matcher| *matcher.get_ref());
        if let Some(spanned) = &raw.matcher {
            let slot = match matcher {
                Some(RawMatcher::ProjectHelpers) => Some(&mut self.project_helpers),
                Some(RawMatcher::LazyRelation) => Some(&mut self.lazy_relation),
                Some(RawMatcher::ImplicitEvaluation) => Some(&mut self.implicit_evaluation),
                Some(RawMatcher::SqlalchemyLazyLoad) => Some(&mut self.sqlalchemy_lazy_load),
                Some(RawMatcher::SqlalchemyExpired) => Some(&mut self.sqlalchemy_expired),
                // Its sites are the `[model-instance]` entries, which any recipe may add.
                Some(RawMatcher::ModelInstance) | None => None,
            };
            if let Some(slot) = slot {
                if let Some(owner) = *slot {
                    return Err(loader.spanned_error(
                        spanned,
                        format!(
                            "`matcher = \"{}\"` is already declared by {} ({}): one recipe owns a matcher",
                            matcher_name(*spanned.get_ref()),
                            self.rules[owner.0].code,
                            self.rules[owner.0].origin
                        ),
                    ));
                }
                *slot = Some(rule);
            }
        }
        self.add_kind_lists(loader, &raw, rule)?;
        self.add_models(loader, &raw.model)?;
        if raw.orm.is_none()
            && raw.callable.is_empty()
            && raw.method.is_empty()
            && raw.attribute.is_empty()
            && raw.matcher.is_none()
            && raw.model_instance.is_none()
            && raw.implicit_evaluation.is_none()
            && raw.model.is_empty()
        {
            return Err(loader.spanned_error(
                &raw.code,
                "the recipe matches nothing: add `[orm]`, `[[callable]]`, `[[method]]`, `[[attribute]]`, \
                 `[model-instance]`, `[implicit-evaluation]`, `[[model]]` or a `matcher`",
            ));
        }
        let rewrite = rewrite_for(loader, matcher, raw.rewrite.as_ref())?;
        self.rules.push(Rule {
            code: raw.code.get_ref().clone(),
            name: raw.name.get_ref().clone(),
            summary: raw.summary.trim().to_owned(),
            message: raw.message.into_inner(),
            doc: raw.doc.trim().to_owned(),
            applicability: match raw.applicability {
                Some(RawApplicability::Unsafe) => Applicability::Unsafe,
                Some(RawApplicability::Safe) | None => Applicability::Safe,
            },
            rewrite,
            wrapper,
            origin: loader.path.to_owned(),
        });
        Ok(rule)
    }

    /// `code` and `name`: well formed, and the code not taken.
    fn check_names(&self, loader: &Loader<'_>, raw: &RawRecipe) -> Result<(), RecipeError> {
        let code = raw.code.get_ref();
        let valid_code = code.len() >= 2
            && code.starts_with(|c: char| c.is_ascii_uppercase())
            && code.trim_start_matches(|c: char| c.is_ascii_uppercase()).chars().all(|c| c.is_ascii_digit())
            && code.ends_with(|c: char| c.is_ascii_digit());
        if !valid_code {
            return Err(loader.spanned_error(
                &raw.code,
                format!("rule code `{code}` must be capital letters then digits, like `DJ001`"),
            ));
        }
        if let Some(other) = self.rules.iter().find(|rule| &rule.code == code) {
            return Err(
                loader.spanned_error(&raw.code, format!("rule code `{code}` is already used by {}", other.origin))
            );
        }
        let name = raw.name.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(loader.spanned_error(
                &raw.name,
                format!("rule name `{name}` must be kebab-case, like `django-cache-in-async`"),
            ));
        }
        Ok(())
    }

    /// The `[orm]` table: one recipe declares the ORM's vocabulary.
    fn add_orm(
        &mut self,
        loader: &Loader<'_>,
        orm: &raw::RawOrm,
        code: &Spanned<String>,
        rule: RuleId,
    ) -> Result<(), RecipeError> {
        if let Some(previous) = self.orm.rule {
            return Err(loader.spanned_error(
                code,
                format!("an `[orm]` table is already declared by {}", self.rules[previous.0].origin),
            ));
        }
        self.orm.rule = Some(rule);
        for manager in &orm.managers {
            check_identifier(loader, manager)?;
            self.orm.managers.insert(manager.get_ref().clone());
        }
        for factory in &orm.model_factories {
            check_dotted(loader, factory, false)?;
            self.orm.model_factories.insert(factory.get_ref().clone());
        }
        for method in &orm.lazy {
            check_identifier(loader, method)?;
            self.orm.lazy.insert(method.get_ref().clone());
        }
        for method in &orm.evaluating {
            check_identifier(loader, method)?;
            if self.orm.lazy.contains(method.get_ref()) {
                return Err(loader
                    .spanned_error(method, format!("`{}` is listed as both lazy and evaluating", method.get_ref())));
            }
            self.orm.evaluating.insert(method.get_ref().clone());
        }
        for method in &orm.fetching {
            check_identifier(loader, method)?;
            if !self.orm.evaluating.contains(method.get_ref()) {
                return Err(
                    loader.spanned_error(method, format!("`{}` must also be listed as evaluating", method.get_ref()))
                );
            }
            self.orm.fetching.insert(method.get_ref().clone());
        }
        for base in &orm.model_bases {
            check_dotted(loader, base, false)?;
            self.orm.model_bases.insert(base.get_ref().clone());
        }
        for (names, classes) in [
            (&orm.queryset_classes, &mut self.orm.queryset_classes),
            (&orm.manager_classes, &mut self.orm.manager_classes),
        ] {
            for name in names {
                check_class_name(loader, name)?;
                classes.insert(name.get_ref().clone());
            }
        }
        if let Some(fields) = &orm.relation_fields {
            for (names, kind) in [
                (&fields.foreign_key, RelationKind::ForeignKey),
                (&fields.one_to_one, RelationKind::OneToOne),
                (&fields.many_to_many, RelationKind::ManyToMany),
            ] {
                for name in names {
                    check_dotted(loader, name, false)?;
                    self.orm.relation_fields.insert(name.get_ref().clone(), kind);
                }
            }
        }
        Ok(())
    }

    /// The `[[callable]]` entries, each name (times each member) one callable.
    fn add_callables(
        &mut self,
        loader: &Loader<'_>,
        callables: &[raw::RawCallable],
        rule: RuleId,
    ) -> Result<(), RecipeError> {
        for callable in callables {
            let returns = callable.returns.as_ref().map(|tag| self.tag(loader, tag)).transpose()?;
            if callable.names.get_ref().is_empty() {
                return Err(loader.spanned_error(&callable.names, "a `[[callable]]` entry needs at least one name"));
            }
            for name in callable.names.get_ref() {
                check_dotted(loader, name, true)?;
            }
            for member in &callable.members {
                check_identifier(loader, member)?;
            }
            let full_names: Vec<String> = if callable.members.is_empty() {
                callable.names.get_ref().iter().map(|name| name.get_ref().clone()).collect()
            } else {
                callable
                    .names
                    .get_ref()
                    .iter()
                    .flat_map(|name| {
                        callable.members.iter().map(move |member| format!("{}.{}", name.get_ref(), member.get_ref()))
                    })
                    .collect()
            };
            for full_name in full_names {
                let entry = Callable { rule, returns, with_only: callable.with_only, site: callable.site };
                self.callables.insert(full_name, entry);
            }
        }
        Ok(())
    }

    /// The `[model-instance]` and `[implicit-evaluation]` entries, each
    /// reported under `rule`; format 1's top-level lists are rejected with
    /// how to convert them.
    fn add_kind_lists(&mut self, loader: &Loader<'_>, raw: &RawRecipe, rule: RuleId) -> Result<(), RecipeError> {
        let moved = [
            (&raw.instance_methods, "instance-methods", "model-instance"),
            (&raw.related_manager_methods, "related-manager-methods", "model-instance"),
            (&raw.evaluating_functions, "evaluating-functions", "implicit-evaluation"),
        ];
        for (value, key, table) in moved {
            if let Some(value) = value {
                return Err(loader.spanned_error(
                    value,
                    format!(
                        "recipe format 2 moved `{key}` into a `[{table}]` table: write `[{table}]` on a line of \
                         its own, then `{key} = [...]` under it"
                    ),
                ));
            }
        }
        let mut lists: Vec<(&Vec<Spanned<String>>, &mut EntryRules)> = Vec::new();
        if let Some(kind) = &raw.model_instance {
            lists.push((&kind.instance_methods, &mut self.instance_methods));
            lists.push((&kind.related_manager_methods, &mut self.related_manager_methods));
        }
        if let Some(kind) = &raw.implicit_evaluation {
            lists.push((&kind.evaluating_functions, &mut self.evaluating_functions));
        }
        for (names, table) in lists {
            for name in names {
                check_identifier(loader, name)?;
                table.insert(name.get_ref().clone(), rule);
            }
        }
        Ok(())
    }

    /// The `[[model]]` entries: library models, their bases and relation fields.
    fn add_models(&mut self, loader: &Loader<'_>, models: &[raw::RawModel]) -> Result<(), RecipeError> {
        for model in models {
            check_dotted(loader, &model.class, false)?;
            let class = model.class.get_ref();
            if let Some(origin) = self.library_model_origins.get(class) {
                return Err(
                    loader.spanned_error(&model.class, format!("model `{class}` is already declared by {origin}"))
                );
            }
            let mut declared = LibraryModel { is_abstract: model.r#abstract, ..LibraryModel::default() };
            for base in &model.bases {
                check_dotted(loader, base, false)?;
                declared.bases.push(base.get_ref().clone());
            }
            for field in &model.fields {
                check_identifier(loader, &field.name)?;
                if declared.fields.iter().any(|known| &known.name == field.name.get_ref()) {
                    return Err(loader.spanned_error(
                        &field.name,
                        format!("field `{}` is declared twice on `{class}`", field.name.get_ref()),
                    ));
                }
                check_dotted(loader, &field.to, false)?;
                if let Some(related_name) = &field.related_name
                    && related_name.get_ref() != "+"
                    && !is_identifier(related_name.get_ref().strip_suffix('+').unwrap_or(related_name.get_ref()))
                {
                    return Err(loader.spanned_error(
                        related_name,
                        format!(
                            "`related-name` `{}` must be a Python identifier, optionally ending in `+`",
                            related_name.get_ref()
                        ),
                    ));
                }
                declared.fields.push(LibraryField {
                    name: field.name.get_ref().clone(),
                    kind: match field.kind {
                        raw::RawRelationKind::ForeignKey => RelationKind::ForeignKey,
                        raw::RawRelationKind::OneToOne => RelationKind::OneToOne,
                        raw::RawRelationKind::ManyToMany => RelationKind::ManyToMany,
                    },
                    to: field.to.get_ref().clone(),
                    related_name: field.related_name.as_ref().map(|name| name.get_ref().clone()),
                });
            }
            self.library_model_origins.insert(class.clone(), loader.path.to_owned());
            self.library_models.insert(class.clone(), declared);
        }
        Ok(())
    }

    fn tag(&mut self, loader: &Loader<'_>, tag: &Spanned<String>) -> Result<TagId, RecipeError> {
        let name = tag.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(loader.spanned_error(tag, format!("tag `{name}` must be letters, digits, `-` or `_`")));
        }
        if let Some(index) = self.tags.iter().position(|known| known == name) {
            return Ok(TagId(index));
        }
        self.tags.push(name.clone());
        Ok(TagId(self.tags.len() - 1))
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

/// The validated `rewrite`: each kind of matcher takes the styles it can
/// apply; a style it cannot is an error, never ignored.
fn rewrite_for(
    loader: &Loader<'_>,
    matcher: Option<RawMatcher>,
    rewrite: Option<&Spanned<RawRewrite>>,
) -> Result<Rewrite, RecipeError> {
    let value = rewrite.map(|rewrite| *rewrite.get_ref());
    let (chosen, allowed) = match matcher {
        Some(RawMatcher::SqlalchemyLazyLoad) => (
            match value {
                None | Some(RawRewrite::Explicit) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Explicit)),
                Some(RawRewrite::Selectinload) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Selectinload)),
                Some(RawRewrite::Refresh) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Refresh)),
                Some(RawRewrite::None) => Some(Rewrite::None),
                Some(_) => None,
            },
            "\"explicit\", \"selectinload\", \"refresh\" or \"none\"",
        ),
        Some(RawMatcher::SqlalchemyExpired) => (
            match value {
                None | Some(RawRewrite::Refresh) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Refresh)),
                Some(RawRewrite::None) => Some(Rewrite::None),
                Some(_) => None,
            },
            "\"refresh\" or \"none\"",
        ),
        _ => (
            match value {
                None | Some(RawRewrite::Wrap) => Some(Rewrite::Wrap),
                Some(RawRewrite::Lambda) => Some(Rewrite::Lambda),
                Some(RawRewrite::None) => Some(Rewrite::None),
                Some(_) => None,
            },
            "\"wrap\", \"lambda\" or \"none\"",
        ),
    };
    match (chosen, rewrite) {
        (Some(chosen), _) => Ok(chosen),
        (None, Some(rewrite)) => {
            Err(loader.spanned_error(rewrite, format!("this rule's sites take `rewrite` = {allowed}")))
        }
        (None, None) => unreachable!("an absent `rewrite` always has a default"),
    }
}

fn matcher_name(matcher: RawMatcher) -> &'static str {
    match matcher {
        RawMatcher::ProjectHelpers => "project-helpers",
        RawMatcher::ModelInstance => "model-instance",
        RawMatcher::LazyRelation => "lazy-relation",
        RawMatcher::ImplicitEvaluation => "implicit-evaluation",
        RawMatcher::SqlalchemyLazyLoad => "sqlalchemy-lazy-load",
        RawMatcher::SqlalchemyExpired => "sqlalchemy-expired",
    }
}

fn check_placeholders(loader: &Loader<'_>, message: &Spanned<String>) -> Result<(), RecipeError> {
    let text = message.get_ref();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(loader.spanned_error(message, "unclosed `{` in message"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(loader.spanned_error(
                message,
                format!(
                    "unknown placeholder `{{{name}}}` in message; known: {{callee}}, {{method}}, {{wrapper}}, {{via}}"
                ),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn check_identifier(loader: &Loader<'_>, value: &Spanned<String>) -> Result<(), RecipeError> {
    if is_identifier(value.get_ref()) {
        Ok(())
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a Python identifier", value.get_ref())))
    }
}

/// A class's qualified name; a class defined inside a function has a
/// `<locals>` part (`django.db.models.fields.related_descriptors.<locals>.RelatedManager`).
fn check_class_name(loader: &Loader<'_>, value: &Spanned<String>) -> Result<(), RecipeError> {
    let parts: Vec<&str> = value.get_ref().split('.').collect();
    let valid = parts.len() > 1
        && parts
            .iter()
            .enumerate()
            .all(|(at, part)| is_identifier(part) || (*part == "<locals>" && at > 0 && at + 1 < parts.len()));
    if valid {
        Ok(())
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a qualified class name", value.get_ref())))
    }
}

/// A dotted name such as `django.core.cache.cache`; with `subscripts`, a part
/// may end in `[]` (`django.core.cache.caches[]`).
fn check_dotted(loader: &Loader<'_>, value: &Spanned<String>, subscripts: bool) -> Result<(), RecipeError> {
    let valid = value.get_ref().split('.').all(|part| {
        let part = if subscripts { part.trim_end_matches("[]") } else { part };
        is_identifier(part)
    });
    if valid {
        Ok(())
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a dotted Python name", value.get_ref())))
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
