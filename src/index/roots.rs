//! Module names from file paths, without `.git`: a file's package is the
//! chain of folders holding `__init__.py` above it. Above that chain, apps
//! without `__init__.py` (namespace packages) are named from the nearest
//! import root: a Django project's `manage.py` folder, a folder holding
//! `pyproject.toml`, `setup.cfg` or `setup.py` (or its `src/`), or a folder
//! given on the command line, as Ruff's `src` setting treats them.
//! Several services side by side in one tree each get their own root.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::layout;
use crate::semantic::ModuleName;

/// Files that mark the top of a project.
const PROJECT_MARKERS: [&str; 5] = ["pyproject.toml", "setup.cfg", "setup.py", "manage.py", ".git"];

/// Files whose folder is the top of a Python distribution.
const PACKAGING_MARKERS: [&str; 3] = ["pyproject.toml", "setup.cfg", "setup.py"];

/// How deep below its distribution a declared source folder can be (`lib`,
/// `python/src`).
const MAX_SOURCE_DEPTH: usize = 2;

/// How far above a package chain to look for an import root.
const MAX_NAMESPACE_DEPTH: usize = 3;

/// Names modules from the set of Python files known to the run.
pub struct ModuleNamer<'a> {
    files: &'a HashSet<PathBuf>,
    /// Folders named on the command line.
    targets: HashSet<PathBuf>,
    /// Folders known to hold a packaging marker, asked of the disk once.
    packaging: RefCell<HashMap<PathBuf, bool>>,
    /// The source folders each distribution declares ([`layout`]), read once.
    sources: RefCell<HashMap<PathBuf, Vec<PathBuf>>>,
}

impl<'a> ModuleNamer<'a> {
    pub fn new(files: &'a HashSet<PathBuf>, targets: &[PathBuf]) -> Self {
        Self {
            files,
            targets: targets.iter().cloned().collect(),
            packaging: RefCell::default(),
            sources: RefCell::default(),
        }
    }

    fn holds_packaging_marker(&self, dir: &Path) -> bool {
        *self
            .packaging
            .borrow_mut()
            .entry(dir.to_path_buf())
            .or_insert_with(|| PACKAGING_MARKERS.iter().any(|marker| dir.join(marker).is_file()))
    }

    fn is_package_dir(&self, dir: &Path) -> bool {
        self.files.contains(&dir.join("__init__.py"))
    }

    /// Whether `dir` is the top of a project: module names start below it.
    fn is_project_root(&self, dir: &Path) -> bool {
        if self.files.contains(&dir.join("manage.py")) || self.holds_packaging_marker(dir) {
            return true;
        }
        // A source folder the distribution above declares (`src/`, or
        // `lib/` for `where = ["lib"]`): its packages are named from it.
        dir.ancestors().skip(1).take(MAX_SOURCE_DEPTH).any(|above| {
            self.holds_packaging_marker(above)
                && dir.strip_prefix(above).is_ok_and(|relative| {
                    let mut sources = self.sources.borrow_mut();
                    let declared = sources.entry(above.to_path_buf()).or_insert_with(|| layout::source_folders(above));
                    declared.iter().any(|folder| folder == relative)
                })
        })
    }

    /// The namespace folders between `dir` and the nearest import root above
    /// it, innermost first: a project root, else a folder given on the
    /// command line. None when neither is near.
    fn namespace_above(&self, dir: &Path) -> Option<Vec<String>> {
        let mut fallback = None;
        let mut above = dir.to_path_buf();
        let mut namespace = Vec::new();
        for _ in 0..MAX_NAMESPACE_DEPTH {
            if self.is_project_root(&above) {
                return Some(namespace);
            }
            if fallback.is_none() && self.targets.contains(&above) {
                fallback = Some(namespace.clone());
            }
            let name = above.file_name().and_then(|name| name.to_str())?.to_owned();
            namespace.push(name);
            above = above.parent()?.to_path_buf();
        }
        fallback
    }

    pub fn name(&self, path: &Path) -> ModuleName {
        let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("__main__");
        let is_package = stem == "__init__";
        let mut parts: Vec<String> = if is_package { Vec::new() } else { vec![stem.to_owned()] };
        let mut dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        while self.is_package_dir(&dir) {
            let Some(name) = dir.file_name().and_then(|name| name.to_str()) else { break };
            parts.push(name.to_owned());
            match dir.parent() {
                Some(parent) => dir = parent.to_path_buf(),
                None => break,
            }
        }
        // Apps without `__init__.py` under an import root (namespace packages).
        if let Some(namespace) = self.namespace_above(&dir) {
            parts.extend(namespace);
        }
        parts.reverse();
        ModuleName::new(parts.join("."), is_package)
    }
}

/// The project a path belongs to: the nearest folder above it holding a
/// project marker; else, for a file inside a package, the outermost package
/// folder (as checking that folder would, so `app/views.py` still sees
/// `app/models.py`); else the path itself (a loose file in `/tmp` is its
/// own project, not the whole of `/tmp`).
pub fn project_root(path: &Path) -> PathBuf {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let start =
        if absolute.is_dir() { absolute.clone() } else { absolute.parent().map(Path::to_path_buf).unwrap_or_default() };
    let mut dir = Some(start.as_path());
    while let Some(current) = dir {
        if PROJECT_MARKERS.iter().any(|marker| current.join(marker).exists()) {
            return current.to_path_buf();
        }
        dir = current.parent();
    }
    if absolute.is_dir() {
        return absolute;
    }
    let mut package = None;
    let mut dir = Some(start.as_path());
    while let Some(current) = dir.filter(|current| current.join("__init__.py").is_file()) {
        package = Some(current);
        dir = current.parent();
    }
    package.map_or(absolute.clone(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namer_names(files: &[&str], path: &str) -> String {
        let set: HashSet<PathBuf> = files.iter().map(PathBuf::from).collect();
        ModuleNamer::new(&set, &[]).name(Path::new(path)).name
    }

    #[test]
    fn package_chain_names_the_module() {
        let files = ["/r/svc/manage.py", "/r/svc/accounts/__init__.py", "/r/svc/accounts/models.py"];
        assert_eq!(namer_names(&files, "/r/svc/accounts/models.py"), "accounts.models");
        assert_eq!(namer_names(&files, "/r/svc/accounts/__init__.py"), "accounts");
    }

    #[test]
    fn manage_py_folder_roots_apps_without_init() {
        let files = ["/r/api/manage.py", "/r/api/users/types.py", "/r/web/manage.py", "/r/web/users/types.py"];
        assert_eq!(namer_names(&files, "/r/api/users/types.py"), "users.types");
        assert_eq!(namer_names(&files, "/r/web/users/types.py"), "users.types");
    }

    /// Creates `files` under a temporary folder; returns it and the namer's view.
    fn on_disk(files: &[&str]) -> (tempfile::TempDir, HashSet<PathBuf>) {
        let temp = tempfile::tempdir().expect("a temporary folder");
        let mut python = HashSet::new();
        for file in files {
            let path = temp.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders created");
            std::fs::write(&path, "").expect("file written");
            if path.extension().is_some_and(|extension| extension == "py") {
                python.insert(path);
            }
        }
        (temp, python)
    }

    #[test]
    fn a_file_without_markers_belongs_to_its_outermost_package() {
        let (temp, _) =
            on_disk(&["site/app/__init__.py", "site/app/api/__init__.py", "site/app/api/views.py", "loose/script.py"]);
        let base = std::fs::canonicalize(temp.path()).expect("a canonical path");
        assert_eq!(project_root(&base.join("site/app/api/views.py")), base.join("site/app"));
        assert_eq!(project_root(&base.join("loose/script.py")), base.join("loose/script.py"));
        assert_eq!(project_root(&base.join("site/app/api")), base.join("site/app/api"));
    }

    #[test]
    fn packaging_marker_roots_namespace_apps() {
        let (temp, files) = on_disk(&["backend/pyproject.toml", "backend/otps/models.py", "backend/auth/mutation.py"]);
        let namer = ModuleNamer::new(&files, &[]);
        assert_eq!(namer.name(&temp.path().join("backend/otps/models.py")).name, "otps.models");
        assert_eq!(namer.name(&temp.path().join("backend/auth/mutation.py")).name, "auth.mutation");
    }

    #[test]
    fn src_layout_is_a_root() {
        let (temp, files) = on_disk(&["lib/setup.cfg", "lib/src/shop/views.py", "lib/src/shop/orders/models.py"]);
        let namer = ModuleNamer::new(&files, &[]);
        assert_eq!(namer.name(&temp.path().join("lib/src/shop/views.py")).name, "shop.views");
        assert_eq!(namer.name(&temp.path().join("lib/src/shop/orders/models.py")).name, "shop.orders.models");
    }

    #[test]
    fn command_line_folder_roots_only_where_no_project_does() {
        let (temp, files) = on_disk(&["loose/otps/models.py", "app/setup.py", "app/pkg/inner/models.py"]);
        let targets = [temp.path().join("loose"), temp.path().join("app/pkg")];
        let namer = ModuleNamer::new(&files, &targets);
        assert_eq!(namer.name(&temp.path().join("loose/otps/models.py")).name, "otps.models");
        // `app/` holds `setup.py`: the nearer command-line folder does not cut the name.
        assert_eq!(namer.name(&temp.path().join("app/pkg/inner/models.py")).name, "pkg.inner.models");
    }

    #[test]
    fn no_root_near_leaves_the_package_chain() {
        let (temp, files) = on_disk(&["a/b/c/d/models.py"]);
        let namer = ModuleNamer::new(&files, &[]);
        assert_eq!(namer.name(&temp.path().join("a/b/c/d/models.py")).name, "models");
    }
}
