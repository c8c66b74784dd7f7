//! The project around the files being processed: where it starts, what its
//! modules are called, and an index per import root. Running on one file
//! still sees the models and helpers of its project; services side by side
//! in one tree (each with its own `manage.py`) each get their own index.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::index::roots::{ModuleNamer, project_root};
use crate::index::site_packages;
use crate::index::{
    IndexedFile, ModuleTable, ProjectIndex, RELATION_FIELDS, RootFiles, SummaryCache, declares_relations,
};
use crate::recipe::RuleSet;
use crate::scan::may_have_sites;
use crate::scan::reach::{self, ModuleScan, Spellings, Vocabulary};
use crate::semantic::ModuleName;
use crate::walk;

pub struct Project {
    indexes: HashMap<PathBuf, ProjectIndex>,
    /// Every known file, by path (canonical, or absolute for standard input).
    ids: HashMap<PathBuf, usize>,
    entries: Vec<Entry>,
}

struct Entry {
    module: ModuleName,
    /// The import root, whose index the file uses.
    root: PathBuf,
    /// Read while loading, and no `async def` in its bytes.
    cannot_hold_sites: bool,
    /// See [`FileView::inert`].
    inert: bool,
    self_contained: bool,
}

/// What the project knows of one file, for its check.
pub struct FileView<'a> {
    pub module: ModuleName,
    pub index: Option<&'a ProjectIndex>,
    /// The file was read while loading and holds no `async def`: the check
    /// can skip it without reading it again.
    pub cannot_hold_sites: bool,
    /// It holds `async def`, but its check cannot find a site (see
    /// [`inert_files`]): only unused suppression comments need it read.
    pub inert: bool,
    /// The index has not read it: its check summarises it from its own
    /// parse (see [`self_contained`]).
    pub self_contained: bool,
}

/// Source read from standard input, with the name it stands for.
pub struct StdinSource<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Project {
    /// Indexes the projects holding `targets` (and the standard input source).
    /// With `full_index`, every module of a root is parsed, not only the ones
    /// async code reaches: slower, and the results must be the same.
    /// `discovered`: the files the run found under `targets`.
    pub fn load(
        targets: &[PathBuf],
        discovered: &[PathBuf],
        options: &LoadOptions<'_>,
        rules: &RuleSet,
        stdin: Option<&StdinSource<'_>>,
    ) -> Self {
        let LoadOptions { excludes, site_packages, full_index } = *options;
        let stdin_on_disk = stdin
            .filter(|source| source.path.parent().is_some_and(|parent| parent.is_dir() && parent != Path::new("")));
        let mut roots =
            project_roots(targets.iter().map(PathBuf::as_path).chain(stdin_on_disk.map(|source| source.path)));
        let library_folders = site_packages::folders(site_packages, &roots);
        // A target's files are known; only roots above the targets are walked.
        let targets: Vec<(&PathBuf, PathBuf)> = targets.iter().map(|target| (target, canonical(target))).collect();
        roots.retain(|root| !targets.iter().any(|(_, target)| target == root));
        let mut paths: HashSet<PathBuf> = HashSet::new();
        if !roots.is_empty()
            && let Ok(found) = walk::discover(&roots, excludes)
        {
            paths.extend(found.files.iter().map(|path| canonical(path)));
        }
        paths.extend(discovered.iter().map(|path| {
            // Under a canonical folder, a walk that follows no link finds
            // canonical paths: one `canonicalize` per target, not per file.
            targets
                .iter()
                .find_map(|(target, canonical_target)| {
                    let rest = path.strip_prefix(target).ok().filter(|rest| !rest.as_os_str().is_empty())?;
                    Some(canonical_target.join(rest))
                })
                .unwrap_or_else(|| canonical(path))
        }));
        let stdin_path =
            stdin.map(|source| std::path::absolute(source.path).unwrap_or_else(|_| source.path.to_path_buf()));
        if let Some(path) = &stdin_path {
            paths.insert(path.clone());
        }
        let target_dirs: Vec<PathBuf> =
            targets.iter().map(|(_, canonical)| canonical.clone()).filter(|target| target.is_dir()).collect();
        let namer = ModuleNamer::new(&paths, &target_dirs);
        let mut sorted: Vec<&PathBuf> = paths.iter().collect();
        sorted.sort();
        let mut files: Vec<IndexedFile> = sorted
            .iter()
            .map(|path| {
                let module = namer.name(path);
                let root = import_root(path, &module);
                IndexedFile { path: (*path).clone(), module, source: None, root }
            })
            .collect();
        if let (Some(source), Some(path)) = (stdin, &stdin_path)
            && let Some(file) = files.iter_mut().find(|file| &file.path == path)
        {
            file.source = Some(source.text.to_owned());
        }
        // Start from the files that can hold a site and the ones declaring model relations.
        let vocabulary = Vocabulary::new(rules, &Spellings { words: &spellings(), project_wide: &project_wide() });
        let (mut reads, mut scans): (Vec<FirstRead>, Vec<ModuleScan>) =
            files.par_iter().map(|file| first_read(file, &vocabulary)).unzip();
        let project_files = files.len();
        add_libraries(&library_folders, &vocabulary, &mut files, &mut reads, &mut scans);
        let Built { indexes, own, inert } =
            build_indexes(&files, project_files, &reads, &mut scans, &vocabulary, rules, full_index);
        let ids = files.iter().enumerate().map(|(id, file)| (file.path.clone(), id)).collect();
        let entries = files
            .into_iter()
            .zip(&reads)
            .zip(own)
            .zip(inert)
            .map(|(((file, read), self_contained), inert)| Entry {
                module: file.module,
                root: file.root,
                cannot_hold_sites: !read.sites.may_hold_sites(),
                inert,
                self_contained,
            })
            .collect();
        Self { indexes, ids, entries }
    }

    /// No project: every file is checked on its own.
    pub fn empty() -> Self {
        Self { indexes: HashMap::new(), ids: HashMap::new(), entries: Vec::new() }
    }

    /// What every index knows, root by root.
    pub fn describe(&self) -> String {
        let mut roots: Vec<&PathBuf> = self.indexes.keys().collect();
        roots.sort();
        let mut out = String::new();
        for root in roots {
            out.push_str("import root ");
            out.push_str(&root.display().to_string());
            out.push('\n');
            out.push_str(&self.indexes[root].describe());
        }
        out
    }

    /// Every file some index parsed, sorted.
    pub fn parsed_files(&self) -> Vec<&Path> {
        let mut parsed: Vec<&Path> = self.indexes.values().flat_map(ProjectIndex::files).collect();
        parsed.sort();
        parsed.dedup();
        parsed
    }

    /// The module a file is, as its project imports it, and its project's index.
    pub fn file(&self, path: &Path) -> (ModuleName, Option<&ProjectIndex>) {
        let view = self.view(path);
        (view.module, view.index)
    }

    /// What the project knows of `path`.
    pub fn view(&self, path: &Path) -> FileView<'_> {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let id = self.ids.get(&absolute).or_else(|| self.ids.get(&canonical(path)));
        if let Some(&id) = id {
            let entry = &self.entries[id];
            return FileView {
                module: entry.module.clone(),
                index: self.indexes.get(&entry.root),
                cannot_hold_sites: entry.cannot_hold_sites,
                inert: entry.inert,
                self_contained: entry.self_contained,
            };
        }
        let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("__main__");
        FileView {
            module: ModuleName::new(stem, stem == "__init__"),
            index: None,
            cannot_hold_sites: false,
            inert: false,
            self_contained: false,
        }
    }
}

/// The projects holding `paths` ([`project_root`]), sorted, once each.
pub fn project_roots<'p>(paths: impl IntoIterator<Item = &'p Path>) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = paths.into_iter().map(project_root).collect();
    roots.sort();
    roots.dedup();
    roots
}

/// How [`Project::load`] finds the project's files and reads them.
#[derive(Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// `--exclude` globs, for the walk of the roots above the targets.
    pub excludes: &'a [String],
    /// `--site-packages` folders (see [`site_packages`]).
    pub site_packages: &'a [PathBuf],
    /// Parse every module of a root, not only the ones async code reaches.
    pub full_index: bool,
}

/// The indexes of the roots, and which files are self-contained and inert.
struct Built {
    indexes: HashMap<PathBuf, ProjectIndex>,
    own: Vec<bool>,
    inert: Vec<bool>,
}

/// An index per import root of the first `project_files` files (the rest
/// are installed packages), roots in parallel, each module parsed once for
/// all of them.
fn build_indexes(
    files: &[IndexedFile],
    project_files: usize,
    reads: &[FirstRead],
    scans: &mut [ModuleScan],
    vocabulary: &Vocabulary,
    rules: &RuleSet,
    full_index: bool,
) -> Built {
    // Each project file's import root, once: roots are compared as numbers below.
    let mut by_root: HashMap<&PathBuf, Vec<usize>> = HashMap::new();
    for (id, file) in files.iter().enumerate().take(project_files) {
        by_root.entry(&file.root).or_default().push(id);
    }
    let own = self_contained(files, reads, scans);
    let modules = ModuleTable::new(files, vocabulary, scans);
    let scans: &[ModuleScan] = scans;
    let cache = SummaryCache::new(files.len(), (!full_index).then_some(scans));
    let built: Vec<(PathBuf, ProjectIndex, Vec<usize>)> = by_root
        .into_par_iter()
        // Only roots with async code need an index.
        .filter(|(_, ids)| ids.iter().any(|&id| reads[id].sites.may_hold_sites()))
        .map(|(root, ids)| {
            let seeds: Vec<usize> = ids
                .iter()
                .copied()
                .filter(|&id| !own[id] && (full_index || reads[id].sites.may_hold_sites() || reads[id].relations))
                .collect();
            let imported_by_own: Vec<String> =
                ids.iter().filter(|&&id| own[id]).flat_map(|&id| scans[id].imports.iter().cloned()).collect();
            let mixins = mixin_files(&ids, reads, scans);
            let root_files = RootFiles { ids: &ids, seeds: &seeds, mixins: &mixins, imported_by_own: &imported_by_own };
            let index = ProjectIndex::build(files, &root_files, &modules, rules, &cache);
            let inert = if full_index {
                Vec::new()
            } else {
                let candidates = inert_files(files, &ids, reads, scans, &modules, &index);
                candidates.into_iter().filter(|id| mixins.binary_search(id).is_err()).collect()
            };
            (root.clone(), index, inert)
        })
        .collect();
    let mut inert = vec![false; files.len()];
    let mut indexes: HashMap<PathBuf, ProjectIndex> = HashMap::new();
    for (root, index, ids) in built {
        for id in ids {
            inert[id] = true;
        }
        indexes.insert(root, index);
    }
    Built { indexes, own, inert }
}

/// The async files of a root (`ids`) that define a class some class header
/// of the root lists beside a model base, by name, sorted: a mixin of
/// models runs with a model as `self`, so its `self.save()` or
/// `super().save()` may be a site whatever its own module imports.
fn mixin_files(ids: &[usize], reads: &[FirstRead], scans: &[ModuleScan]) -> Vec<usize> {
    let extended: HashSet<&str> =
        ids.iter().flat_map(|&id| scans[id].model_mixins.iter().map(String::as_str)).collect();
    if extended.is_empty() {
        return Vec::new();
    }
    ids.iter()
        .copied()
        .filter(|&id| reads[id].sites == Holds::Sites && !scans[id].direct)
        .filter(|&id| scans[id].classes.iter().any(|class| extended.contains(class.as_str())))
        .collect()
}

/// Appends the installed packages the project imports to `files` (and their
/// reads and scans), then what those import, until nothing new is named:
/// read by the index like project modules, never checked (no `sites`).
fn add_libraries(
    folders: &[PathBuf],
    vocabulary: &Vocabulary,
    files: &mut Vec<IndexedFile>,
    reads: &mut Vec<FirstRead>,
    scans: &mut Vec<ModuleScan>,
) {
    if folders.is_empty() {
        return;
    }
    let top = |name: &str| name.split('.').next().unwrap_or(name).to_owned();
    // First-party packages are the project's own, whatever is installed.
    let mut seen: HashSet<String> = files.iter().map(|file| top(&file.module.name)).collect();
    let mut unread = 0;
    while files.len() < site_packages::MAX_LIBRARY_FILES {
        let mut wanted: Vec<String> = scans[unread..]
            .iter()
            .flat_map(|scan| &scan.imports)
            .map(|name| top(name))
            .filter(|name| !name.is_empty() && !vocabulary.describes(name) && !seen.contains(name))
            .collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            break;
        }
        unread = files.len();
        for name in wanted {
            seen.insert(name.clone());
            let Some((folder, paths)) = site_packages::package_files(folders, &name) else { continue };
            let known: HashSet<PathBuf> = paths.iter().cloned().collect();
            let namer = ModuleNamer::new(&known, &[]);
            for path in paths {
                let module = namer.name(&path);
                files.push(IndexedFile { path, module, source: None, root: folder.clone() });
            }
        }
        let (new_reads, new_scans): (Vec<FirstRead>, Vec<ModuleScan>) = files[unread..]
            .par_iter()
            .map(|file| {
                let (read, scan) = first_read(file, vocabulary);
                (FirstRead { sites: Holds::Nothing, ..read }, scan)
            })
            .unzip();
        reads.extend(new_reads);
        scans.extend(new_scans);
    }
}

/// What loading learnt from a file's bytes.
#[derive(Default)]
struct FirstRead {
    /// Whether it holds `async def`.
    sites: Holds,
    /// A models module declaring relation fields to other modules' models
    /// (or the user model's module): the index reads it whatever imports it.
    relations: bool,
    /// A models module, or one spelling relation fields.
    models: bool,
}

/// Whether a file can hold sites, from its first read.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Holds {
    /// No `async def`.
    #[default]
    Nothing,
    /// `async def`, in UTF-8 text.
    Sites,
    /// It could not be read or is not UTF-8: its check says why.
    Unknown,
}

impl Holds {
    fn may_hold_sites(self) -> bool {
        self != Self::Nothing
    }
}

/// The async files no other module can import, whose facts matter only to
/// their own check: the index does not parse them, their check summarises
/// them from its own parse, so each is parsed once. Most async code is such
/// a leaf (views, consumers, resolvers, tests).
///
/// Self-contained: it holds `async def`; no file of the run imports it, as
/// far as the byte scans tell (any dotted prefix counts); it is not a models
/// module and spells no relation field; and it defines nothing every module
/// depends on without importing it (the user model, a session factory). What
/// it defines stays its own: string labels (`"app.Model"`) and unsafe method
/// guesses in other modules never resolve to it, as nothing can import it.
/// Everything a rule or the index matches by spelling, gathered from where
/// each is declared, beside the code that matches it.
pub fn spellings() -> Vec<&'static str> {
    let mut words = vec![crate::rules::sqlalchemy::ASYNC_SESSION];
    words.extend(crate::infer::SPELLINGS);
    words.extend(crate::summary::SPELLINGS);
    words.extend(crate::index::USER_BASES);
    words.extend(crate::index::RELATION_FIELDS);
    words.sort_unstable();
    words.dedup();
    words
}

/// What makes a module matter to every module of its root: the user
/// model's bases and session factories.
fn project_wide() -> Vec<&'static str> {
    let mut words = crate::index::USER_BASES.to_vec();
    words.extend(crate::summary::SESSION_SPELLINGS);
    words
}

/// A file's first and only read while the project loads: whether it can
/// hold sites or declares model relations, and its byte scan.
fn first_read(file: &IndexedFile, vocabulary: &Vocabulary) -> (FirstRead, ModuleScan) {
    match &file.source {
        Some(text) => read_bytes(file, text.as_bytes(), vocabulary),
        // A buffer each thread reuses: most files are read here only.
        None => crate::files::with_bytes(&file.path, |raw| read_bytes(file, raw, vocabulary))
            // Unknown, so it may hold sites: the check reads it again and reports why not.
            .unwrap_or_else(|_| (FirstRead { sites: Holds::Unknown, ..FirstRead::default() }, ModuleScan::default())),
    }
}

fn read_bytes(file: &IndexedFile, raw: &[u8], vocabulary: &Vocabulary) -> (FirstRead, ModuleScan) {
    // Django keeps models in `models.py` or a `models` package: only
    // those are read for relations nothing else points to.
    let is_models_module = file.path.file_name().is_some_and(|name| name == "models.py")
        || file.path.components().any(|part| part.as_os_str() == "models");
    let relations = declares_relations(raw);
    let sites = match may_have_sites(raw) {
        false => Holds::Nothing,
        true if std::str::from_utf8(raw).is_ok() => Holds::Sites,
        true => Holds::Unknown,
    };
    let scan = reach::scan(raw, &file.module, vocabulary);
    // Relations among its own models only matter to code that imports them;
    // the user model matters everywhere (`scope["user"]`, `request.user`),
    // relations or not.
    let seeds_index = is_models_module
        && (scan.project_wide || relations && !reach::relates_only_within(raw, &RELATION_FIELDS, &file.module, &scan));
    let read = FirstRead { sites, relations: seeds_index, models: is_models_module || relations };
    (read, scan)
}

fn self_contained(files: &[IndexedFile], reads: &[FirstRead], scans: &[ModuleScan]) -> Vec<bool> {
    let imported: HashSet<&str> =
        scans.iter().flat_map(|scan| &scan.imports).flat_map(|name| reach::prefixes(name)).collect();
    files
        .iter()
        .zip(reads.iter().zip(scans))
        .map(|(file, (read, scan))| {
            read.sites.may_hold_sites()
                && !read.models
                && !scan.project_wide
                && !file.module.name.is_empty()
                && !imported.contains(file.module.name.as_str())
        })
        .collect()
}

/// The async files of a root whose checks cannot find a site, so need no
/// parse: nothing they spell or import reaches a database
/// ([`ModuleTable::unreaching`]: a site needs a name the recipes know, a
/// spelling a rule matches, or a project function that touches the
/// database, and all three come through an import or a spelling), and they
/// spell no method name an unsafe guess by name resolves. Most async code
/// that never touches a database (the standard library's, a web
/// framework's plumbing and its tests) is skipped so.
fn inert_files(
    files: &[IndexedFile],
    ids: &[usize],
    reads: &[FirstRead],
    scans: &[ModuleScan],
    modules: &ModuleTable<'_>,
    index: &ProjectIndex,
) -> Vec<usize> {
    // A file that cannot be read or decoded is reported by its check.
    let async_files: Vec<usize> = ids.iter().copied().filter(|&id| reads[id].sites == Holds::Sites).collect();
    let unreaching = modules.unreaching(ids, &async_files, scans);
    let guessable = index.guessable_methods();
    if guessable.is_empty() {
        return unreaching;
    }
    let words: HashSet<&[u8]> = guessable.iter().map(|name| name.as_bytes()).collect();
    // Read again: the first read kept no text.
    unreaching
        .into_par_iter()
        .filter(|&id| {
            let file = &files[id];
            match &file.source {
                Some(text) => !reach::spells_any(text.as_bytes(), &words),
                None => crate::files::with_bytes(&file.path, |raw| !reach::spells_any(raw, &words)).unwrap_or(false),
            }
        })
        .collect()
}

/// The folder a module's dotted name is relative to.
fn import_root(path: &Path, module: &ModuleName) -> PathBuf {
    let depth = module.name.split('.').filter(|part| !part.is_empty()).count() + usize::from(module.is_package);
    let mut root = path.to_path_buf();
    for _ in 0..depth.max(1) {
        root.pop();
    }
    root
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
