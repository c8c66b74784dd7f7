//! Module names from file paths, without `.git`: a file's package is the
//! chain of folders holding `__init__.py` above it; a Django project's
//! `manage.py` folder is an import root even when apps lack `__init__.py`.
//! Several services side by side in one tree each get their own root.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::semantic::ModuleName;

/// Files that mark the top of a project.
const PROJECT_MARKERS: [&str; 5] = ["pyproject.toml", "setup.cfg", "setup.py", "manage.py", ".git"];

/// How far above a package chain to look for a `manage.py` root.
const MAX_NAMESPACE_DEPTH: usize = 3;

/// Names modules from the set of Python files known to the run.
pub struct ModuleNamer<'a> {
    files: &'a HashSet<PathBuf>,
}

impl<'a> ModuleNamer<'a> {
    pub fn new(files: &'a HashSet<PathBuf>) -> Self {
        Self { files }
    }

    fn is_package_dir(&self, dir: &Path) -> bool {
        self.files.contains(&dir.join("__init__.py"))
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
        // Apps without `__init__.py` under a `manage.py` folder (namespace packages).
        let mut above = dir.clone();
        let mut namespace = Vec::new();
        for _ in 0..MAX_NAMESPACE_DEPTH {
            if self.files.contains(&above.join("manage.py")) {
                parts.extend(namespace);
                break;
            }
            let Some(name) = above.file_name().and_then(|name| name.to_str()) else { break };
            namespace.push(name.to_owned());
            match above.parent() {
                Some(parent) => above = parent.to_path_buf(),
                None => break,
            }
        }
        parts.reverse();
        ModuleName::new(parts.join("."), is_package)
    }
}

/// The project a path belongs to: the nearest folder above it holding a
/// project marker, or the path itself (a loose file in `/tmp` is its own
/// project, not the whole of `/tmp`).
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
    absolute
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namer_names(files: &[&str], path: &str) -> String {
        let set: HashSet<PathBuf> = files.iter().map(PathBuf::from).collect();
        ModuleNamer::new(&set).name(Path::new(path)).name
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
}
