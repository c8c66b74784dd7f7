//! The project index: what asyncfix knows about the project beyond one file.
//! Built once per run, shared read-only: module summaries, Django models and
//! their relations (forward and reverse), the user model, and which project
//! functions touch the database, through any chain of project calls (a fixed
//! point over the call graph).
//!
//! Demand-driven: parsing starts from the files that can hold a site (those
//! with `async`) and the model modules (those declaring relation fields),
//! then follows the names they use, module by module, each parsed once.

pub mod reach;
pub mod roots;
pub mod summary;

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::path::PathBuf;

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use crate::recipe::{Callable, RelationKind, RuleSet};
use crate::semantic::value::{DEFAULT_USER_MODEL, USER_MODEL, Value};
use crate::semantic::{MethodKind, ModuleName};
use reach::{ModuleScan, Vocabulary};
use summary::{CallTarget, FieldTarget, FunctionSummary, ModuleSummary};

/// A file the index may read.
#[derive(Debug, Clone)]
pub struct IndexedFile {
    pub path: PathBuf,
    pub module: ModuleName,
    /// The text, when it does not come from the disk (standard input).
    pub source: Option<String>,
    /// The folder the module's name is relative to (its import root).
    pub root: PathBuf,
}

/// A related object or manager reached from a model attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub target: String,
    /// A manager (reverse foreign key, many-to-many) rather than one object.
    pub many: bool,
}

/// What a qualified name resolves to in the project.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Symbol {
    Module,
    Class(String),
    Function(String),
    Value(Value),
}

/// The bases that make a class a `SQLAlchemy` mapped class.
const SQLALCHEMY_BASES: [&str; 4] = [
    summary::DECLARATIVE_BASE,
    "sqlalchemy.orm.DeclarativeBaseNoMeta",
    "sqlalchemy.orm.decl_api.DeclarativeBase",
    "sqlalchemy.ext.declarative.declarative_base",
];

/// A `relationship()` as the rewrite needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlAlchemyRelationship {
    pub target: Option<String>,
    /// `lazy=`; `None` is the default, `select`.
    pub lazy: Option<String>,
    pub direction: Direction,
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

/// How a call target resolves once the index is complete.
enum Resolution {
    /// Certainly touches the database; the reason, for messages.
    Database(String),
    /// A project function or method, by qualified name.
    Function(String),
    Nothing,
}

/// Deepest chain of re-exports and bases followed.
const MAX_DEPTH: usize = 16;

/// The index of one import root, as one file's check sees it: what the
/// whole root shares, plus that file's own module when the file is
/// self-contained (no other module can import it; see `Project::load`).
/// Cloning is cheap: the shared part is reference-counted.
#[derive(Debug, Default, Clone)]
pub struct ProjectIndex {
    shared: Arc<Shared>,
    own: Option<Arc<OwnModule>>,
}

#[derive(Debug, Default)]
struct Shared {
    modules: HashMap<String, Arc<ModuleSummary>>,
    models: HashSet<String>,
    relations: HashMap<String, HashMap<String, Relation>>,
    /// Touching functions by qualified name, with the reason.
    touching: HashMap<String, String>,
    user_model: Option<String>,
    /// The files parsed, for `asyncfix index --files`.
    files: Vec<PathBuf>,
    /// How many of the run's files define each name (by [`reach::name_key`]),
    /// parsed or not: from the byte scans, so parsing more changes nothing.
    defining_files: Arc<rustc_hash::FxHashMap<u64, u32>>,
}

/// A self-contained module, summarised from the check's own parse.
#[derive(Debug)]
struct OwnModule {
    summary: Arc<ModuleSummary>,
    models: HashSet<String>,
    touching: HashMap<String, String>,
}

/// Module summaries by file, made at most once per run and shared by the
/// indexes of every import root (they all read the standard library copy,
/// the shared packages...).
pub struct SummaryCache<'a> {
    slots: Vec<OnceLock<Option<Arc<ModuleSummary>>>>,
    /// Every file's byte scan, made while the files were first read; `None`
    /// parses every module reached (`--full-index`).
    scans: Option<&'a [ModuleScan]>,
}

impl<'a> SummaryCache<'a> {
    pub fn new(files: usize, scans: Option<&'a [ModuleScan]>) -> Self {
        Self { slots: (0..files).map(|_| OnceLock::new()).collect(), scans }
    }

    fn summary(&self, files: &[IndexedFile], id: usize, rules: &RuleSet) -> Option<Arc<ModuleSummary>> {
        self.slots[id]
            .get_or_init(|| {
                let file = &files[id];
                let text = match &file.source {
                    Some(text) => text.clone(),
                    None => std::fs::read_to_string(&file.path).ok()?,
                };
                let tree = crate::parse::parse(&text)?;
                Some(Arc::new(summary::summarize(&text, &tree, file.module.clone(), rules)))
            })
            .clone()
    }
}

/// Every module name of the run with the files that bear it (several roots
/// may each have an `app.models`), made once for all the roots.
pub struct ModuleTable<'a> {
    names: HashMap<&'a str, Vec<usize>>,
    /// Files in packages the built-in recipes describe, sorted: never indexed.
    described: Vec<usize>,
    /// How many files define each name ([`reach::name_key`]), from the byte
    /// scans' [`ModuleScan::defines`].
    defining_files: Arc<rustc_hash::FxHashMap<u64, u32>>,
}

impl<'a> ModuleTable<'a> {
    /// Takes the scans' defined names; their other facts stay.
    pub fn new(files: &'a [IndexedFile], vocabulary: &Vocabulary, scans: &mut [ModuleScan]) -> Self {
        let mut defining_files: rustc_hash::FxHashMap<u64, u32> = rustc_hash::FxHashMap::default();
        for scan in scans {
            for key in std::mem::take(&mut scan.defines) {
                *defining_files.entry(key).or_default() += 1;
            }
        }
        let mut names: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut described = Vec::new();
        for (id, file) in files.iter().enumerate() {
            let name = file.module.name.as_str();
            if vocabulary.describes(name) {
                described.push(id);
            } else {
                names.entry(name).or_default().push(id);
            }
        }
        Self { names, described, defining_files: Arc::new(defining_files) }
    }

    /// Which file each name means seen from a root (`in_root`: its files,
    /// sorted): the root's own, else the first in path order.
    fn as_seen_from(&self, in_root: &[usize]) -> HashMap<&'a str, usize> {
        self.names
            .iter()
            .map(|(&name, ids)| {
                let id = ids.iter().copied().find(|id| in_root.binary_search(id).is_ok()).unwrap_or(ids[0]);
                (name, id)
            })
            .collect()
    }
}

/// Which modules can matter, from their byte scans (see [`reach`]), per
/// import root: the same module name may be a different file elsewhere.
struct Relevance<'a> {
    scans: Option<&'a [ModuleScan]>,
    known: HashMap<usize, bool>,
}

impl Relevance<'_> {
    /// Whether module `id`, or a project module it may import (at any
    /// depth), can define something the index keeps.
    fn can_matter(&mut self, id: usize, by_name: &HashMap<&str, usize>) -> bool {
        let Some(scans) = self.scans else { return true };
        if let Some(&known) = self.known.get(&id) {
            return known;
        }
        let mut seen: HashSet<usize> = HashSet::from([id]);
        let mut stack = vec![id];
        while let Some(current) = stack.pop() {
            if scans[current].direct || self.known.get(&current) == Some(&true) {
                self.known.insert(id, true);
                return true;
            }
            // `from a import b` may name a module `a.b`, or a name in `a`.
            for prefix in scans[current].imports.iter().flat_map(|name| reach::prefixes(name)) {
                if let Some(&imported) = by_name.get(prefix)
                    && self.known.get(&imported) != Some(&false)
                    && seen.insert(imported)
                {
                    stack.push(imported);
                }
            }
        }
        // Nothing reachable from `id` can matter, so nothing reachable from any of them can.
        for module in seen {
            self.known.insert(module, false);
        }
        false
    }
}

/// Whether a file's bytes suggest it declares model relations.
pub fn declares_relations(text: &[u8]) -> bool {
    ["ForeignKey", "OneToOneField", "ManyToManyField"]
        .iter()
        .any(|needle| memchr::memmem::find(text, needle.as_bytes()).is_some())
}

impl ProjectIndex {
    /// Builds the index of one import root from `files`, starting at `seeds`
    /// (indexes into `files`). A module name defined under several roots
    /// (services side by side) resolves to the one under `root` first.
    pub fn build(
        files: &[IndexedFile],
        seeds: &[usize],
        in_root: &[usize],
        modules: &ModuleTable<'_>,
        rules: &RuleSet,
        cache: &SummaryCache<'_>,
        imported_by_own: &[String],
    ) -> Self {
        let by_name = modules.as_seen_from(in_root);
        let mut index = Shared::default();
        let mut relevance = Relevance { scans: cache.scans, known: HashMap::new() };
        // A seed that cannot matter (nothing it reaches imports what the
        // recipes name or spells what a rule matches) defines nothing the
        // index keeps: its own check finds the same without its summary.
        let seeds: Vec<usize> = seeds
            .iter()
            .copied()
            .filter(|&id| modules.described.binary_search(&id).is_err() && relevance.can_matter(id, &by_name))
            .collect();
        let mut requested: HashSet<usize> = seeds.iter().copied().collect();
        let mut frontier: Vec<usize> = seeds.clone();
        frontier.sort_unstable();
        frontier.dedup();
        // What self-contained modules import: their checks will ask about it.
        let mut pending: Vec<String> = imported_by_own.to_vec();
        let mut first_round = true;
        while !frontier.is_empty() || std::mem::take(&mut first_round) {
            let summaries: Vec<Arc<ModuleSummary>> =
                frontier.par_iter().filter_map(|&id| cache.summary(files, id, rules)).collect();
            index.files.extend(frontier.iter().map(|&id| files[id].path.clone()));
            for summary in summaries {
                pending.extend(references(&summary));
                index.modules.insert(summary.module.name.clone(), summary);
            }
            // Follow every name to the module that defines it, through re-exports.
            let mut next = Vec::new();
            let mut still_pending = Vec::new();
            let mut seen_names: HashSet<String> = HashSet::new();
            while let Some(name) = pending.pop() {
                if !seen_names.insert(name.clone()) {
                    continue;
                }
                let Some((module, rest)) = longest_module(&name, |candidate| by_name.contains_key(candidate)) else {
                    continue;
                };
                if let Some(summary) = index.modules.get(module) {
                    if rest.is_empty() {
                        // A whole module (`import helpers`): any name it imports may be used through it.
                        pending.extend(summary.imports.values().cloned());
                    } else if let Some(target) = summary.imports.get(rest[0]) {
                        let mut followed = target.clone();
                        for part in &rest[1..] {
                            followed.push('.');
                            followed.push_str(part);
                        }
                        pending.push(followed);
                    }
                } else {
                    let id = by_name[module];
                    if requested.insert(id) && relevance.can_matter(id, &by_name) {
                        next.push(id);
                    }
                    still_pending.push(name);
                }
            }
            pending = still_pending;
            frontier = next;
        }
        index.defining_files = Arc::clone(&modules.defining_files);
        let mut index = Self { shared: Arc::new(index), own: None };
        index.derive(rules);
        index
    }

    /// This index as the check of a self-contained module sees it: with the
    /// module's own classes, models and touching functions.
    #[must_use]
    pub fn with_own_module(&self, summary: ModuleSummary, rules: &RuleSet) -> Self {
        let module = Arc::new(summary);
        let own = OwnModule { summary: Arc::clone(&module), models: HashSet::new(), touching: HashMap::new() };
        let mut view = Self { shared: Arc::clone(&self.shared), own: Some(Arc::new(own)) };
        let classes: Vec<String> =
            module.classes.keys().map(|class| format!("{}.{class}", module.module.name)).collect();
        let functions = functions_of(&module.module.name, &module);
        let models: HashSet<String> = classes.into_iter().filter(|class| view.derives_a_model(class, rules)).collect();
        view.set_own(|own| own.models = models);
        let touching = view.touching_fixed_point(&functions, rules);
        view.set_own(|own| own.touching = touching);
        view
    }

    fn set_own(&mut self, change: impl FnOnce(&mut OwnModule)) {
        if let Some(own) = self.own.as_mut().and_then(Arc::get_mut) {
            change(own);
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::get_mut(&mut self.shared).expect("the index is not shared while it is built")
    }

    fn derives_a_model(&self, class: &str, rules: &RuleSet) -> bool {
        self.mro(class).iter().any(|base| rules.orm.model_bases.contains(base))
    }

    /// A module by name: the own module first, then the shared ones.
    fn module(&self, name: &str) -> Option<&ModuleSummary> {
        match &self.own {
            Some(own) if own.summary.module.name == name => Some(&own.summary),
            _ => self.shared.modules.get(name).map(AsRef::as_ref),
        }
    }

    /// Every module this view sees.
    fn modules(&self) -> impl Iterator<Item = &ModuleSummary> {
        self.shared.modules.values().map(AsRef::as_ref).chain(self.own.iter().map(|own| own.summary.as_ref()))
    }

    fn is_model_class(&self, class: &str) -> bool {
        self.shared.models.contains(class) || self.own.as_ref().is_some_and(|own| own.models.contains(class))
    }

    fn touching_reason(&self, function: &str) -> Option<&String> {
        self.own.as_ref().and_then(|own| own.touching.get(function)).or_else(|| self.shared.touching.get(function))
    }

    fn derive(&mut self, rules: &RuleSet) {
        let mut classes: Vec<String> = self
            .shared
            .modules
            .iter()
            .flat_map(|(module, summary)| summary.classes.keys().map(move |class| format!("{module}.{class}")))
            .collect();
        // In name order: where two models claim one reverse accessor, the
        // same one wins on every run.
        classes.sort();
        let models: HashSet<String> =
            classes.iter().filter(|class| self.derives_a_model(class, rules)).cloned().collect();
        self.shared_mut().models = models;
        let users: Vec<&String> = classes
            .iter()
            .filter(|class| {
                self.mro(class).iter().any(|base| base.ends_with("AbstractUser") || base.ends_with("AbstractBaseUser"))
            })
            .collect();
        if let [user] = users.as_slice() {
            let user = (*user).clone();
            self.shared_mut().user_model = Some(user);
        }
        self.derive_relations(&classes);
        let mut functions: Vec<(String, &FunctionSummary)> = Vec::new();
        for (module, summary) in &self.shared.modules {
            functions.extend(functions_of(module, summary));
        }
        let touching = self.touching_fixed_point(&functions, rules);
        self.shared_mut().touching = touching;
    }

    fn derive_relations(&mut self, classes: &[String]) {
        let mut relations: HashMap<String, HashMap<String, Relation>> = HashMap::new();
        for class in classes.iter().filter(|class| self.is_model_class(class)) {
            let Some(summary) = self.class(class) else { continue };
            for (field, data) in &summary.fields {
                let target = match &data.target {
                    FieldTarget::SelfReference => Some(class.clone()),
                    FieldTarget::Class(name) => Some(self.canonical_class(name).unwrap_or_else(|| name.clone())),
                    FieldTarget::Label(label) => self.model_by_label(label, class),
                    FieldTarget::UserModel => {
                        Some(self.shared.user_model.clone().unwrap_or_else(|| DEFAULT_USER_MODEL.to_owned()))
                    }
                };
                let Some(target) = target else { continue };
                let many = data.kind == RelationKind::ManyToMany;
                relations
                    .entry(class.clone())
                    .or_default()
                    .insert(field.clone(), Relation { target: target.clone(), many });
                let short = class.rsplit('.').next().unwrap_or(class).to_lowercase();
                let accessor = match &data.related_name {
                    Some(name) if name.ends_with('+') => continue,
                    Some(name) => name.clone(),
                    None if data.kind == RelationKind::OneToOne => short,
                    None => format!("{short}_set"),
                };
                let reverse = Relation { target: class.clone(), many: data.kind != RelationKind::OneToOne };
                // A forward field keeps its name; of two reverse accessors
                // with one name (two apps never installed together), the
                // first model in name order keeps it.
                relations.entry(target).or_default().entry(accessor).or_insert(reverse);
            }
        }
        self.shared_mut().relations = relations;
    }

    /// Which of `functions` touch the database, directly or through calls
    /// (to each other or to functions this view already knows touch).
    fn touching_fixed_point(
        &self,
        functions: &[(String, &FunctionSummary)],
        rules: &RuleSet,
    ) -> HashMap<String, String> {
        let mut functions = functions.to_vec();
        functions.sort_by(|a, b| a.0.cmp(&b.0));
        let mut touching: HashMap<String, String> = HashMap::new();
        for (name, function) in &functions {
            if let Some(direct) = &function.direct {
                touching.insert(name.clone(), format!("`{direct}`"));
            }
        }
        // Resolve every call once; then propagate to a fixed point.
        let resolved: Vec<Vec<Resolution>> = functions
            .iter()
            .map(|(_, function)| function.calls.iter().map(|target| self.resolve_target(target, rules)).collect())
            .collect();
        loop {
            let mut changed = false;
            for ((name, _), resolutions) in functions.iter().zip(&resolved) {
                if touching.contains_key(name) {
                    continue;
                }
                let reason = resolutions.iter().find_map(|resolution| match resolution {
                    Resolution::Database(reason) => Some(reason.clone()),
                    Resolution::Function(callee)
                        if touching.contains_key(callee) || self.touching_reason(callee).is_some() =>
                    {
                        Some(format!("calls `{}`", callee.rsplit('.').next().unwrap_or(callee)))
                    }
                    _ => None,
                });
                if let Some(reason) = reason {
                    touching.insert(name.clone(), reason);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        touching
    }

    fn resolve_target(&self, target: &CallTarget, rules: &RuleSet) -> Resolution {
        match target {
            CallTarget::Name(name) => match self.symbol(name) {
                Some(Symbol::Function(function)) => Resolution::Function(function),
                Some(Symbol::Class(class)) => match self.inherited_callable(&class, rules) {
                    Some(_) => Resolution::Database(format!("constructs `{}`", short(&class))),
                    None => Resolution::Nothing,
                },
                _ => match self.inherited_callable(name, rules) {
                    Some(_) => Resolution::Database(format!("`{}`", short_member(name))),
                    None => Resolution::Nothing,
                },
            },
            CallTarget::Method { class, method } => self.resolve_method(class, method, false, rules),
            CallTarget::Super { class, method } => self.resolve_method(class, method, true, rules),
            CallTarget::Attribute { class, attribute } => {
                if let Some(relation) = self.relation(class, attribute)
                    && !relation.many
                {
                    return Resolution::Database(format!("the lazy relation `.{attribute}`"));
                }
                match self.find_method(class, attribute, false) {
                    Some((owner, function)) if function.kind == Some(MethodKind::Property) => {
                        Resolution::Function(format!("{owner}.{attribute}"))
                    }
                    _ => Resolution::Nothing,
                }
            }
        }
    }

    fn resolve_method(&self, class: &str, method: &str, skip_self: bool, rules: &RuleSet) -> Resolution {
        if let Some((owner, _)) = self.find_method(class, method, skip_self) {
            return Resolution::Function(format!("{owner}.{method}"));
        }
        if self.is_model(class, rules) && rules.instance_methods.contains(method) {
            return Resolution::Database(format!("`.{method}()` on a model instance"));
        }
        let mro = self.mro(class);
        let bases = if skip_self { &mro[1.min(mro.len())..] } else { &mro[..] };
        for base in bases {
            if rules.callables.contains_key(&format!("{base}.{method}")) {
                return Resolution::Database(format!("`{}.{method}`", short(base)));
            }
        }
        Resolution::Nothing
    }

    /// The summary of a project class by qualified name.
    fn class(&self, class: &str) -> Option<&summary::ClassSummary> {
        let (module, name) = class.rsplit_once('.')?;
        self.module(module)?.classes.get(name)
    }

    /// A method in the class or its project bases: the owner and its summary.
    fn find_method(&self, class: &str, method: &str, skip_self: bool) -> Option<(String, &FunctionSummary)> {
        let mro = self.mro(class);
        let start = usize::from(skip_self);
        for owner in mro.iter().skip(start) {
            if let Some(function) = self.class(owner).and_then(|data| data.methods.get(method)) {
                return Some((owner.clone(), function));
            }
        }
        None
    }

    /// The class and its bases, depth first, as canonical qualified names.
    pub fn mro(&self, class: &str) -> Vec<String> {
        let mut order = Vec::new();
        let mut stack = vec![(self.canonical_class(class).unwrap_or_else(|| class.to_owned()), 0)];
        while let Some((current, depth)) = stack.pop() {
            if order.contains(&current) || depth > MAX_DEPTH {
                continue;
            }
            if let Some(data) = self.class(&current) {
                for base in data.bases.iter().rev() {
                    // A base may be a class, or a value standing for one (`Base = declarative_base()`).
                    let base = match self.symbol(base) {
                        Some(Symbol::Class(class)) => class,
                        Some(Symbol::Value(Value::Qualified(name))) => name,
                        _ => base.clone(),
                    };
                    stack.push((base, depth + 1));
                }
            }
            order.push(current);
        }
        order
    }

    fn canonical_class(&self, name: &str) -> Option<String> {
        match self.symbol(name) {
            Some(Symbol::Class(class)) => Some(class),
            _ => None,
        }
    }

    /// The user model stand-in replaced by the project's user model.
    fn unsentinel(&self, name: &str) -> String {
        match name.strip_prefix(USER_MODEL) {
            Some(rest) => format!("{}{rest}", self.shared.user_model.as_deref().unwrap_or(DEFAULT_USER_MODEL)),
            None => name.to_owned(),
        }
    }

    /// Resolves a qualified name through modules, classes and re-exports.
    fn symbol(&self, name: &str) -> Option<Symbol> {
        let mut name = self.unsentinel(name);
        for _ in 0..MAX_DEPTH {
            let (module, rest) = longest_module(&name, |candidate| self.module(candidate).is_some())?;
            let summary = self.module(module)?;
            let Some((first, tail)) = rest.split_first() else { return Some(Symbol::Module) };
            if let Some(class) = summary.classes.get(*first) {
                let class_name = format!("{module}.{first}");
                return match tail {
                    [] => Some(Symbol::Class(class_name)),
                    [method] => {
                        if class.methods.contains_key(*method) {
                            return Some(Symbol::Function(format!("{class_name}.{method}")));
                        }
                        self.find_method(&class_name, method, true)
                            .map(|(owner, _)| Symbol::Function(format!("{owner}.{method}")))
                    }
                    _ => None,
                };
            }
            if summary.functions.contains_key(*first) {
                return tail.is_empty().then(|| Symbol::Function(format!("{module}.{first}")));
            }
            if let Some(value) = summary.values.get(*first) {
                return match (tail, value) {
                    ([], _) => Some(Symbol::Value(value.clone())),
                    (_, Value::Qualified(target)) => {
                        name = format!("{target}.{}", tail.join("."));
                        continue;
                    }
                    _ => None,
                };
            }
            let target = summary.imports.get(*first)?;
            name = if tail.is_empty() { target.clone() } else { format!("{target}.{}", tail.join(".")) };
        }
        None
    }

    fn model_by_label(&self, label: &str, from: &str) -> Option<String> {
        let (app, model) = match label.rsplit_once('.') {
            Some((app, model)) => (Some(app), model),
            None => (None, label),
        };
        let mut candidates: Vec<&String> =
            self.shared.models.iter().filter(|class| class.rsplit('.').next() == Some(model)).collect();
        candidates.sort();
        if let Some(app) = app
            && let Some(found) = candidates.iter().find(|class| class.split('.').any(|part| part == app))
        {
            return Some((*found).clone());
        }
        // Without an app label, a model of the same module first.
        let module = from.rsplit_once('.').map_or("", |(module, _)| module);
        candidates
            .iter()
            .find(|class| class.starts_with(&format!("{module}.")))
            .or(candidates.first())
            .map(|class| (*class).clone())
    }

    // ---- SQLAlchemy ------------------------------------------------------------------------

    /// Whether a class is mapped by `SQLAlchemy`'s declarative system.
    pub fn is_sqlalchemy_model(&self, class: &str) -> bool {
        self.canonical_class(class)
            .is_some_and(|class| self.mro(&class).iter().skip(1).any(|base| SQLALCHEMY_BASES.contains(&base.as_str())))
    }

    /// The mapped class a relationship target names: a qualified name, or a bare class name.
    fn sqlalchemy_class(&self, target: &str, from: &str) -> Option<String> {
        if let Some(class) = self.canonical_class(target) {
            return Some(class);
        }
        let name = target.rsplit('.').next().unwrap_or(target);
        let module = from.rsplit_once('.').map_or("", |(module, _)| module);
        let mut candidates: Vec<String> = self
            .modules()
            .filter(|summary| summary.classes.contains_key(name))
            .map(|summary| format!("{}.{name}", summary.module.name))
            .filter(|class| self.is_sqlalchemy_model(class))
            .collect();
        candidates.sort();
        candidates.iter().find(|class| class.starts_with(&format!("{module}."))).or(candidates.first()).cloned()
    }

    /// The primary key column of a mapped class (`id` when none is marked).
    pub fn primary_key(&self, class: &str) -> String {
        self.mro(class)
            .iter()
            .filter_map(|owner| self.class(owner))
            .flat_map(|data| data.columns.iter())
            .find(|(_, column)| column.primary_key)
            .map_or_else(|| "id".to_owned(), |(name, _)| name.clone())
    }

    /// A column of `class` with a foreign key to `target`'s table.
    fn foreign_key_to(&self, class: &str, target: &str, allowed: &[String]) -> Option<String> {
        let table =
            self.mro(target).iter().filter_map(|owner| self.class(owner)).find_map(|data| data.table.clone())?;
        let mut columns: Vec<(&String, &summary::ColumnSummary)> =
            self.mro(class).iter().filter_map(|owner| self.class(owner)).flat_map(|data| data.columns.iter()).collect();
        columns.sort_by_key(|(name, _)| *name);
        columns
            .into_iter()
            .filter(|(name, _)| allowed.is_empty() || allowed.contains(name))
            .find(|(_, column)| {
                column.foreign_key.as_deref().is_some_and(|key| key.split('.').next() == Some(table.as_str()))
            })
            .map(|(name, _)| name.clone())
    }

    /// A `relationship()` of a mapped class, with its direction worked out.
    pub fn sqlalchemy_relationship(&self, class: &str, attribute: &str) -> Option<SqlAlchemyRelationship> {
        let class = self.canonical_class(class)?;
        let (owner, data) = self.mro(&class).into_iter().find_map(|owner| {
            self.class(&owner).and_then(|data| data.relationships.get(attribute)).map(|data| (owner, data.clone()))
        })?;
        let target = data.target.as_deref().and_then(|target| self.sqlalchemy_class(target, &owner));
        let direction = match &target {
            _ if data.secondary => Direction::ManyToMany,
            _ if data.custom_join => Direction::Complex,
            None => Direction::Complex,
            Some(target) => {
                if let Some(column) = self.foreign_key_to(&class, target, &data.foreign_keys) {
                    Direction::ManyToOne { column }
                } else if let Some(column) = self.foreign_key_to(target, &class, &data.foreign_keys) {
                    Direction::OneToMany { column, collection: data.collection.unwrap_or(true) }
                } else {
                    Direction::Complex
                }
            }
        };
        Some(SqlAlchemyRelationship { target, lazy: data.lazy.clone(), direction })
    }

    /// Whether sessions from this factory expire objects on commit.
    pub fn session_factory(&self, name: &str) -> Option<bool> {
        let (module, factory) = name.rsplit_once('.')?;
        if let Some(expire) = self.module(module).and_then(|summary| summary.session_factories.get(factory)) {
            return Some(*expire);
        }
        let target = self.module(module)?.imports.get(factory)?;
        let (module, factory) = target.rsplit_once('.')?;
        self.module(module).and_then(|summary| summary.session_factories.get(factory)).copied()
    }

    /// Whether every session factory of the project keeps objects on commit.
    pub fn sessions_never_expire(&self) -> bool {
        let mut factories = self.modules().flat_map(|summary| summary.session_factories.values()).peekable();
        factories.peek().is_some() && factories.all(|expire| !expire)
    }

    /// The files parsed to build this index.
    pub fn files(&self) -> impl Iterator<Item = &std::path::Path> {
        self.shared.files.iter().map(PathBuf::as_path)
    }

    /// A readable listing of what the index knows, for `asyncfix index`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut modules: Vec<&String> = self.shared.modules.keys().collect();
        modules.sort();
        let _ = writeln!(out, "modules parsed: {}", modules.len());
        for module in modules {
            let _ = writeln!(out, "  {module}");
        }
        let mut models: Vec<&String> = self.shared.models.iter().collect();
        models.sort();
        let _ = writeln!(out, "models: {}", models.len());
        for model in models {
            let _ = writeln!(out, "  {model}");
            let mut relations: Vec<(&String, &Relation)> =
                self.shared.relations.get(model).map(|map| map.iter().collect()).unwrap_or_default();
            relations.sort_by_key(|(name, _)| *name);
            for (name, relation) in relations {
                let kind = if relation.many { "manager of" } else { "loads" };
                let _ = writeln!(out, "    .{name} {kind} {}", relation.target);
            }
        }
        let _ = writeln!(out, "user model: {}", self.shared.user_model.as_deref().unwrap_or(DEFAULT_USER_MODEL));
        let mut touching: Vec<(&String, &String)> = self.shared.touching.iter().collect();
        touching.sort();
        let _ = writeln!(out, "functions that touch the database: {}", touching.len());
        for (name, reason) in touching {
            let _ = writeln!(out, "  {name}: {reason}");
        }
        out
    }

    // ---- Queries for the checker --------------------------------------------------------

    pub fn user_model(&self) -> Option<&str> {
        self.shared.user_model.as_deref()
    }

    /// What a qualified name evaluates to, when the project defines it.
    pub fn resolve_value(&self, name: &str) -> Option<Value> {
        match self.symbol(name) {
            Some(Symbol::Class(class)) => Some(Value::Qualified(class)),
            Some(Symbol::Function(function)) => Some(Value::Qualified(function)),
            Some(Symbol::Value(Value::Qualified(value))) => Some(Value::Qualified(self.unsentinel(&value))),
            Some(Symbol::Value(Value::Instance { class, preloaded })) => {
                Some(Value::Instance { class: self.unsentinel(&class), preloaded })
            }
            Some(Symbol::Value(value)) => Some(value),
            Some(Symbol::Module) => None,
            None if name.starts_with(USER_MODEL) => Some(Value::Qualified(self.unsentinel(name))),
            None => None,
        }
    }

    pub fn is_class(&self, name: &str) -> bool {
        matches!(self.symbol(name), Some(Symbol::Class(_)))
    }

    pub fn is_model(&self, class: &str, rules: &RuleSet) -> bool {
        let class = self.unsentinel(class);
        let class = class.as_str();
        rules.orm.model_bases.contains(class)
            || self.canonical_class(class).is_some_and(|class| self.is_model_class(&class))
    }

    pub fn relation(&self, class: &str, attribute: &str) -> Option<&Relation> {
        let class = self.canonical_class(class).unwrap_or_else(|| self.unsentinel(class));
        self.shared.relations.get(&class)?.get(attribute)
    }

    pub fn method_returns(&self, class: &str, method: &str) -> Option<String> {
        self.find_method(class, method, false).and_then(|(_, function)| function.returns.clone())
    }

    pub fn function_returns(&self, name: &str) -> Option<String> {
        let Some(Symbol::Function(function)) = self.symbol(name) else { return None };
        let (owner, method) = function.rsplit_once('.')?;
        match self.module(owner) {
            Some(module) => module.functions.get(method)?.returns.clone(),
            None => self.class(owner)?.methods.get(method)?.returns.clone(),
        }
    }

    /// A recipe callable a project class inherits: `CustomRefreshToken` and
    /// `CustomRefreshToken.for_user` inherit from `RefreshToken`.
    pub fn inherited_callable(&self, name: &str, rules: &RuleSet) -> Option<Callable> {
        if let Some(class) = self.canonical_class(name) {
            return self.mro(&class).iter().skip(1).find_map(|base| rules.callables.get(base).copied());
        }
        let (class, member) = name.rsplit_once('.')?;
        let class = self.canonical_class(class)?;
        if self.find_method(&class, member, false).is_some_and(|(owner, _)| owner == class) {
            // The class overrides it: a project method, judged by its body.
            return None;
        }
        self.mro(&class).iter().skip(1).find_map(|base| rules.callables.get(&format!("{base}.{member}")).copied())
    }

    /// Whether a call target is a sync project function that touches the
    /// database: its qualified name and why.
    pub fn touching_call(&self, target: &CallTarget, rules: &RuleSet) -> Option<(String, String)> {
        match self.resolve_target(target, rules) {
            Resolution::Function(function) => {
                let reason = self.touching_reason(&function)?.clone();
                Some((function, reason))
            }
            _ => None,
        }
    }

    /// The touching method with this name, when exactly one project class
    /// defines a method of that name: the basis of an unsafe guess. A name
    /// any other file defines (a module the index did not need, too) is no
    /// basis.
    pub fn touching_method_named(&self, method: &str) -> Option<String> {
        if self.shared.defining_files.get(&reach::name_key(method.as_bytes())).is_some_and(|&files| files > 1) {
            return None;
        }
        let mut owners = self.modules().flat_map(|summary| {
            summary
                .classes
                .iter()
                .filter(|(_, class)| class.methods.contains_key(method))
                .map(move |(name, _)| format!("{}.{name}", summary.module.name))
        });
        let owner = owners.next()?;
        if owners.next().is_some() {
            return None;
        }
        let function = format!("{owner}.{method}");
        self.touching_reason(&function).is_some().then_some(function)
    }
}

/// The sync functions and methods of a module that may touch the database,
/// by qualified name.
fn functions_of<'s>(module: &str, summary: &'s ModuleSummary) -> Vec<(String, &'s FunctionSummary)> {
    let mut functions: Vec<(String, &FunctionSummary)> = Vec::new();
    for (name, function) in &summary.functions {
        functions.push((format!("{module}.{name}"), function));
    }
    for (class, data) in &summary.classes {
        for (name, function) in &data.methods {
            functions.push((format!("{module}.{class}.{name}"), function));
        }
    }
    functions.retain(|(_, function)| !function.is_async && !function.wrapped);
    functions
}

/// Every qualified name a summary refers to.
fn references(summary: &ModuleSummary) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let add_function = |function: &FunctionSummary, names: &mut Vec<String>| {
        for target in &function.calls {
            names.extend(target.names().into_iter().map(str::to_owned));
        }
        names.extend(function.returns.iter().cloned());
    };
    for function in summary.functions.values() {
        add_function(function, &mut names);
    }
    for class in summary.classes.values() {
        names.extend(class.bases.iter().cloned());
        for field in class.fields.values() {
            if let FieldTarget::Class(target) = &field.target {
                names.push(target.clone());
            }
        }
        for method in class.methods.values() {
            add_function(method, &mut names);
        }
    }
    for value in summary.values.values() {
        if let Value::Qualified(name) = value {
            names.push(name.clone());
        }
    }
    names
}

/// The longest dotted prefix of `name` that is a module, and the rest.
fn longest_module(name: &str, is_module: impl Fn(&str) -> bool) -> Option<(&str, Vec<&str>)> {
    let parts: Vec<&str> = name.split('.').collect();
    for end in (1..=parts.len()).rev() {
        let length = parts[..end].iter().map(|part| part.len()).sum::<usize>() + end - 1;
        let candidate = &name[..length];
        if is_module(candidate) {
            return Some((candidate, parts[end..].to_vec()));
        }
    }
    None
}

fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn short_member(name: &str) -> String {
    let mut parts = name.rsplit('.');
    let member = parts.next().unwrap_or(name);
    match parts.next() {
        Some(owner) => format!("{owner}.{member}"),
        None => member.to_owned(),
    }
}
