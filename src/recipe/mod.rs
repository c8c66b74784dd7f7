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

use crate::fix::Applicability;
pub use crate::fix::Wrapper;
use crate::source::Locator;

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
    /// Relation field classes and their kind.
    pub relation_fields: HashMap<String, RelationKind>,
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
    pub orm: Orm,
    /// Qualified names of wrappers: their arguments run in a thread.
    pub wrappers: HashSet<String>,
    /// The rules of the built-in matchers that need the project index.
    pub project_helpers: Option<RuleId>,
    pub model_instance: Option<RuleId>,
    pub lazy_relation: Option<RuleId>,
    pub implicit_evaluation: Option<RuleId>,
    pub sqlalchemy_lazy_load: Option<RuleId>,
    pub sqlalchemy_expired: Option<RuleId>,
    /// Model instance methods that query (`save`, `delete`, ...).
    pub instance_methods: HashSet<String>,
    /// Related-manager methods that write (`add`, `remove`, ...).
    pub related_manager_methods: HashSet<String>,
    /// Builtins that evaluate a `QuerySet` (`list`, `len`, `bool`, ...).
    pub evaluating_functions: HashSet<String>,
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
        let mut set = Self::default();
        for (name, text) in BUILTIN_RECIPES {
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
            if let Some(previous) = self.orm.rule {
                return Err(loader.spanned_error(
                    &raw.code,
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
                    return Err(loader.spanned_error(
                        method,
                        format!("`{}` is listed as both lazy and evaluating", method.get_ref()),
                    ));
                }
                self.orm.evaluating.insert(method.get_ref().clone());
            }
            for method in &orm.fetching {
                check_identifier(loader, method)?;
                if !self.orm.evaluating.contains(method.get_ref()) {
                    return Err(loader
                        .spanned_error(method, format!("`{}` must also be listed as evaluating", method.get_ref())));
                }
                self.orm.fetching.insert(method.get_ref().clone());
            }
            for base in &orm.model_bases {
                check_dotted(loader, base, false)?;
                self.orm.model_bases.insert(base.get_ref().clone());
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
        }
        for callable in &raw.callable {
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
                self.callables.insert(full_name, Callable { rule, returns, with_only: callable.with_only });
            }
        }
        for method in &raw.method {
            let Some(tag) = self.tags.iter().position(|tag| tag == method.receiver.get_ref()) else {
                return Err(loader.spanned_error(
                    &method.receiver,
                    format!(
                        "receiver `{}` is not returned by any `[[callable]]` loaded so far",
                        method.receiver.get_ref()
                    ),
                ));
            };
            for name in &method.names {
                check_identifier(loader, name)?;
                self.methods.insert((TagId(tag), name.get_ref().clone()), rule);
            }
        }
        if let Some(matcher) = raw.matcher {
            let slot = match matcher {
                RawMatcher::ProjectHelpers => &mut self.project_helpers,
                RawMatcher::ModelInstance => &mut self.model_instance,
                RawMatcher::LazyRelation => &mut self.lazy_relation,
                RawMatcher::ImplicitEvaluation => &mut self.implicit_evaluation,
                RawMatcher::SqlalchemyLazyLoad => &mut self.sqlalchemy_lazy_load,
                RawMatcher::SqlalchemyExpired => &mut self.sqlalchemy_expired,
            };
            if slot.is_some() {
                return Err(loader.spanned_error(&raw.code, "this `matcher` is already used by another recipe"));
            }
            *slot = Some(rule);
        }
        let lists = [
            (&raw.instance_methods, RawMatcher::ModelInstance, "instance-methods"),
            (&raw.related_manager_methods, RawMatcher::ModelInstance, "related-manager-methods"),
            (&raw.evaluating_functions, RawMatcher::ImplicitEvaluation, "evaluating-functions"),
        ];
        for (list, needs, key) in lists {
            if let Some(first) = list.first()
                && raw.matcher != Some(needs)
            {
                return Err(
                    loader.spanned_error(first, format!("`{key}` needs `matcher = \"{}\"`", matcher_name(needs)))
                );
            }
            for name in list {
                check_identifier(loader, name)?;
            }
        }
        self.instance_methods.extend(raw.instance_methods.iter().map(|name| name.get_ref().clone()));
        self.related_manager_methods.extend(raw.related_manager_methods.iter().map(|name| name.get_ref().clone()));
        self.evaluating_functions.extend(raw.evaluating_functions.iter().map(|name| name.get_ref().clone()));
        if raw.orm.is_none() && raw.callable.is_empty() && raw.method.is_empty() && raw.matcher.is_none() {
            return Err(loader
                .spanned_error(&raw.code, "the recipe matches nothing: add `[orm]`, `[[callable]]` or `[[method]]`"));
        }
        self.rules.push(Rule {
            code: code.clone(),
            name: name.clone(),
            summary: raw.summary.trim().to_owned(),
            message: raw.message.into_inner(),
            doc: raw.doc.trim().to_owned(),
            applicability: match raw.applicability {
                Some(RawApplicability::Unsafe) => Applicability::Unsafe,
                Some(RawApplicability::Safe) | None => Applicability::Safe,
            },
            rewrite: match raw.rewrite {
                Some(RawRewrite::Wrap) | None => Rewrite::Wrap,
                Some(RawRewrite::Lambda) => Rewrite::Lambda,
                Some(RawRewrite::None) => Rewrite::None,
            },
            wrapper,
            origin: loader.path.to_owned(),
        });
        Ok(rule)
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
