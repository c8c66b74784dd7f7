//! Building the index: which modules to parse, starting from the files that
//! can hold a site and following the names they use (demand-driven), and
//! the module summaries shared by every import root.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::{IndexedFile, OwnModule, ProjectIndex, Shared, functions_of, longest_module};
use crate::infer::facts::ProjectFacts;
use crate::infer::{Value, label_stand_in, split_stand_in};
use crate::recipe::RuleSet;
use crate::scan::reach::{self, ModuleScan, Vocabulary};
use crate::summary::{self, FieldTarget, FunctionSummary, ModuleSummary};

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

impl ModuleTable<'_> {
    /// The files among `candidates` (of the root whose files are `in_root`)
    /// that cannot reach a database as far as the byte scans tell: they
    /// spell nothing a rule matches and import no module (at any depth)
    /// that does. Their checks can find only what a guess by method name
    /// finds ([`ProjectIndex::guessable_methods`]).
    pub fn unreaching(&self, in_root: &[usize], candidates: &[usize], scans: &[ModuleScan]) -> Vec<usize> {
        let by_name = self.as_seen_from(in_root);
        let mut relevance = Relevance { scans: Some(scans), known: HashMap::new() };
        candidates.iter().copied().filter(|&id| !relevance.can_matter(id, &by_name)).collect()
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

/// Relation field classes, by name: a file spelling one may declare model
/// relations (and is kept by the byte scans).
pub const RELATION_FIELDS: [&str; 3] = ["ForeignKey", "OneToOneField", "ManyToManyField"];

/// Whether a file's bytes suggest it declares model relations.
pub fn declares_relations(text: &[u8]) -> bool {
    RELATION_FIELDS.iter().any(|needle| memchr::memmem::find(text, needle.as_bytes()).is_some())
}

/// Where the model an app label names may be defined: `shop.Book` in every
/// module `shop.models` or `*.shop.models` (and its submodules `shop.models.*`).
fn label_candidates(label: &str, by_name: &HashMap<&str, usize>) -> Vec<String> {
    let Some((app, model)) = label.split_once('.') else { return Vec::new() };
    let package = format!("{app}.models");
    let nested = format!(".{app}.models");
    let mut found: Vec<String> = by_name
        .keys()
        .filter(|module| {
            // The package itself, or a submodule of it (`shop.models.books`).
            let package_of = |name: &str| name == package || name.ends_with(&nested);
            package_of(module) || module.match_indices('.').any(|(at, _)| package_of(&module[..at]))
        })
        .map(|module| format!("{module}.{model}"))
        .collect();
    found.sort();
    found
}

/// Files of the root not read yet that define a subclass of a read class
/// with async methods, or of one of those subclasses (by the last part of
/// the base's name, from the byte scans).
fn subclass_files(
    index: &Shared,
    scans: Option<&[ModuleScan]>,
    by_name: &HashMap<&str, usize>,
    described: &[usize],
    requested: &mut HashSet<usize>,
) -> Vec<usize> {
    let Some(scans) = scans else { return Vec::new() };
    let mut wanted: HashSet<&str> = HashSet::new();
    loop {
        let before = wanted.len();
        for summary in index.modules.values() {
            for (name, class) in &summary.classes {
                let short = name.rsplit('.').next().unwrap_or(name);
                let runs_subclass_code = class.methods.values().any(|method| method.is_async);
                let extends_wanted =
                    class.bases.iter().any(|base| wanted.contains(base.rsplit('.').next().unwrap_or(base)));
                if runs_subclass_code || extends_wanted {
                    wanted.insert(short);
                }
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    let mut found: Vec<usize> = by_name
        .values()
        .copied()
        .filter(|&id| !requested.contains(&id) && described.binary_search(&id).is_err())
        .filter(|&id| scans[id].subclasses_of.iter().any(|base| wanted.contains(base.as_str())))
        .collect();
    found.sort_unstable();
    found.dedup();
    requested.extend(found.iter().copied());
    found
}

/// The files of one import root an index starts from (indexes into the
/// run's files).
#[derive(Clone, Copy)]
pub struct RootFiles<'a> {
    /// Every file of the root, sorted.
    pub ids: &'a [usize],
    /// The files that may hold sites or declare relations: read when they can matter.
    pub seeds: &'a [usize],
    /// Seeds read whatever they reach, sorted: async files defining a class
    /// a database module extends (a mixin of models).
    pub mixins: &'a [usize],
    /// What self-contained modules import: their checks will ask about it.
    pub imported_by_own: &'a [String],
}

/// The mixins of a summary's models: the bases listed beside one that
/// names a model ([`reach::names_a_model`]).
fn bases(summary: &ModuleSummary) -> impl Iterator<Item = String> + '_ {
    let model_base = |base: &String| reach::names_a_model(base.rsplit('.').next().unwrap_or(base));
    summary
        .classes
        .values()
        .filter(move |class| class.bases.iter().any(model_base))
        .flat_map(move |class| class.bases.iter().filter(move |base| !model_base(base)).cloned())
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
            match &field.target {
                FieldTarget::Class(target) => names.push(target.clone()),
                // `"shop.Book"`: the `Book` of each `shop.models`.
                FieldTarget::Label(label) if label.contains('.') => names.push(label_stand_in(label)),
                _ => {}
            }
        }
        for classes in class.managers.values() {
            names.extend(classes.iter().cloned());
        }
        for method in class.methods.values() {
            add_function(method, &mut names);
        }
        for value in class.attributes.values() {
            match value {
                Value::Qualified(name) | Value::Instance { class: name, .. } => names.push(name.clone()),
                _ => {}
            }
        }
    }
    for value in summary.values.values() {
        if let Value::Qualified(name) = value {
            names.push(name.clone());
        }
    }
    names
}

impl ProjectIndex {
    /// Builds the index of one import root from `files`, starting at `seeds`
    /// (indexes into `files`). A module name defined under several roots
    /// (services side by side) resolves to the one under `root` first.
    pub fn build(
        files: &[IndexedFile],
        root: &RootFiles<'_>,
        modules: &ModuleTable<'_>,
        rules: &RuleSet,
        cache: &SummaryCache<'_>,
    ) -> Self {
        let RootFiles { ids: in_root, seeds, mixins, imported_by_own } = *root;
        let by_name = modules.as_seen_from(in_root);
        let mut index = Shared::default();
        let mut relevance = Relevance { scans: cache.scans, known: HashMap::new() };
        // A seed that cannot matter (nothing it reaches imports what the
        // recipes name or spells what a rule matches) defines nothing the
        // index keeps: its own check finds the same without its summary.
        let seeds: Vec<usize> = seeds
            .iter()
            .copied()
            .filter(|&id| {
                modules.described.binary_search(&id).is_err()
                    && (mixins.binary_search(&id).is_ok() || relevance.can_matter(id, &by_name))
            })
            .collect();
        let mut requested: HashSet<usize> = seeds.iter().copied().collect();
        let mut frontier: Vec<usize> = seeds.clone();
        frontier.sort_unstable();
        frontier.dedup();
        // What self-contained modules import: their checks will ask about it.
        // Each name with whether it is a mixin of a model: its module is
        // read even when it reaches nothing by itself, since its code runs
        // with the model as `self`.
        let mut pending: Vec<(String, bool)> = imported_by_own.iter().map(|name| (name.clone(), false)).collect();
        // The context processors the settings list run on every render:
        // whether they query is asked of the index.
        index.django_settings = super::django_settings::read(files, in_root);
        if let Some(processors) = index.django_settings.as_ref().and_then(|s| s.context_processors.as_ref()) {
            pending.extend(processors.iter().map(|name| (name.clone(), false)));
        }
        let mut passed_over: HashSet<usize> = HashSet::new();
        let mut first_round = true;
        loop {
            while !frontier.is_empty() || std::mem::take(&mut first_round) {
                let summaries: Vec<Arc<ModuleSummary>> =
                    frontier.par_iter().filter_map(|&id| cache.summary(files, id, rules)).collect();
                index.files.extend(frontier.iter().map(|&id| files[id].path.clone()));
                for summary in summaries {
                    pending.extend(references(&summary).into_iter().map(|name| (name, false)));
                    pending.extend(bases(&summary).map(|name| (name, true)));
                    index.modules.insert(summary.module.name.clone(), summary);
                }
                // Follow every name to the module that defines it, through re-exports.
                let mut next = Vec::new();
                let mut still_pending = Vec::new();
                let mut seen_names: HashSet<(String, bool)> = HashSet::new();
                while let Some((name, base)) = pending.pop() {
                    if !seen_names.insert((name.clone(), base)) {
                        continue;
                    }
                    // `apps.get_model("shop", "Book")`: the `Book` of each `shop.models` module.
                    if let Some((label, _)) = split_stand_in(&name) {
                        pending.extend(label_candidates(label, &by_name).into_iter().map(|name| (name, base)));
                        continue;
                    }
                    let Some((module, rest)) = longest_module(&name, |candidate| by_name.contains_key(candidate))
                    else {
                        continue;
                    };
                    if let Some(summary) = index.modules.get(module) {
                        if rest.is_empty() {
                            // A whole module (`import helpers`): any name it imports may be used through it.
                            pending.extend(summary.imports.values().map(|name| (name.clone(), false)));
                        } else if let Some(target) = summary.imports.get(rest[0]) {
                            let mut followed = target.clone();
                            for part in &rest[1..] {
                                followed.push('.');
                                followed.push_str(part);
                            }
                            pending.push((followed, base));
                        } else if !summary.binds(rest[0]) {
                            // Perhaps from one of its `import *` modules.
                            pending.extend(
                                summary.star_imports.iter().map(|star| (format!("{star}.{}", rest.join(".")), base)),
                            );
                        }
                    } else {
                        let id = by_name[module];
                        let first_ask = requested.insert(id);
                        if first_ask || (base && passed_over.contains(&id)) {
                            if base || relevance.can_matter(id, &by_name) {
                                passed_over.remove(&id);
                                next.push(id);
                            } else {
                                passed_over.insert(id);
                            }
                        }
                        still_pending.push((name, base));
                    }
                }
                pending = still_pending;
                frontier = next;
            }
            // The subclasses of the classes whose async methods are checked:
            // what they set on `self` (`user_model = get_user_model()`) is what
            // `self.user_model` holds in the base's methods.
            frontier = subclass_files(&index, cache.scans, &by_name, &modules.described, &mut requested);
            if frontier.is_empty() {
                break;
            }
        }
        index.defining_files = Arc::clone(&modules.defining_files);
        if let Some(&first) = in_root.first() {
            // A `src` layout keeps its templates beside the import root too.
            let root = &files[first].root;
            let mut folders = vec![root.clone()];
            if root.file_name().is_some_and(|name| name == "src")
                && let Some(parent) = root.parent()
            {
                folders.push(parent.to_path_buf());
            }
            index.templates = super::templates::Templates::new(folders);
        }
        let mut index = Self { shared: Arc::new(index), own: None };
        index.derive(rules);
        index
    }

    /// This index as the check of a self-contained module sees it: with the
    /// module's own classes, models and touching functions.
    #[must_use]
    pub fn with_own_module(&self, summary: ModuleSummary, rules: &RuleSet) -> Self {
        let module = Arc::new(summary);
        let own = OwnModule {
            summary: Arc::clone(&module),
            models: HashSet::new(),
            relations: HashMap::new(),
            touching: HashMap::new(),
            mros: HashMap::new(),
            maps_sqlalchemy: false,
        };
        let mut view = Self { shared: Arc::clone(&self.shared), own: Some(Arc::new(own)) };
        let classes: Vec<String> =
            module.classes.keys().map(|class| format!("{}.{class}", module.module.name)).collect();
        let mros = classes.iter().map(|class| (class.clone(), view.mro(class))).collect();
        view.set_own(|own| own.mros = mros);
        let functions = functions_of(&module.module.name, &module);
        let mut models: Vec<String> = classes.into_iter().filter(|class| view.derives_a_model(class, rules)).collect();
        models.sort();
        view.set_own(|own| own.models = models.iter().cloned().collect());
        let relations = view.relations_of(&models, &[], rules);
        view.set_own(|own| own.relations = relations);
        let touching = view.touching_fixed_point(&functions, rules);
        view.set_own(|own| own.touching = touching);
        let maps_sqlalchemy =
            module.classes.keys().any(|class| view.is_sqlalchemy_model(&format!("{}.{class}", module.module.name)));
        view.set_own(|own| own.maps_sqlalchemy = maps_sqlalchemy);
        view
    }
}
