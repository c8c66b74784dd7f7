//! The project index: what asyncfix knows about the project beyond one file.
//! Built once per run, shared read-only: module summaries, Django models and
//! their relations (forward and reverse), the user model, and which project
//! functions touch the database, through any chain of project calls (a fixed
//! point over the call graph).
//!
//! Demand-driven: parsing starts from the files that can hold a site (those
//! with `async`) and the model modules (those declaring relation fields),
//! then follows the names they use, module by module, each parsed once.

mod call_graph;
mod crawl;
mod describe;
pub mod django;
pub mod django_settings;
mod facts;
mod layout;
mod model_io;
mod resolve;
pub mod roots;
pub mod site_packages;
mod sqlalchemy;
pub mod templates;

pub use crawl::{ModuleTable, RELATION_FIELDS, RootFiles, SummaryCache, declares_relations};
pub use django::USER_BASES;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::infer::Value;
use crate::infer::facts::{Relation, Touch};
use crate::semantic::ModuleName;
use crate::summary::{FunctionSummary, ModuleSummary};

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

/// What a qualified name resolves to in the project.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Symbol {
    Module,
    Class(String),
    Function(String),
    Value(Value),
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
    /// The bases of the library models the recipes declare (`[[model]]`),
    /// so the MRO goes on through them.
    library_bases: HashMap<String, Vec<String>>,
    /// Touching functions by qualified name, with the reason.
    touching: HashMap<String, Touch>,
    /// Every project class's project subclasses, at any depth, sorted.
    subclasses: HashMap<String, Vec<String>>,
    /// Every project class's MRO, by canonical name, computed once when
    /// the index is derived: rules ask for the same few thousand times.
    mros: HashMap<String, Arc<[String]>>,
    user_model: Option<String>,
    /// What the root's Django settings modules say, when it has one.
    django_settings: Option<crate::infer::facts::DjangoSettings>,
    /// The root's Django templates, walked when a render first asks.
    templates: templates::Templates,
    /// Some project class is mapped by `SQLAlchemy`.
    maps_sqlalchemy: bool,
    /// The files parsed, for `asyncfix index --files`.
    files: Vec<PathBuf>,
    /// How many of the run's files define each name (by [`crate::scan::reach::name_key`]),
    /// parsed or not: from the byte scans, so parsing more changes nothing.
    defining_files: Arc<rustc_hash::FxHashMap<u64, u32>>,
}

/// A self-contained module, summarised from the check's own parse.
#[derive(Debug)]
struct OwnModule {
    summary: Arc<ModuleSummary>,
    models: HashSet<String>,
    /// Relations its own models have: those they inherit from library models.
    relations: HashMap<String, HashMap<String, Relation>>,
    touching: HashMap<String, Touch>,
    /// Its classes' MROs, as `Shared::mros` holds the others'.
    mros: HashMap<String, Arc<[String]>>,
    /// One of its classes is mapped by `SQLAlchemy`.
    maps_sqlalchemy: bool,
}

impl ProjectIndex {
    fn set_own(&mut self, change: impl FnOnce(&mut OwnModule)) {
        if let Some(own) = self.own.as_mut().and_then(Arc::get_mut) {
            change(own);
        }
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::get_mut(&mut self.shared).expect("the index is not shared while it is built")
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

    fn touching_reason(&self, function: &str) -> Option<&Touch> {
        self.own.as_ref().and_then(|own| own.touching.get(function)).or_else(|| self.shared.touching.get(function))
    }

    /// The files parsed to build this index.
    pub fn files(&self) -> impl Iterator<Item = &std::path::Path> {
        self.shared.files.iter().map(PathBuf::as_path)
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
