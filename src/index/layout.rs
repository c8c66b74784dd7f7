//! Where a distribution keeps its packages: the source folders its packaging
//! configuration declares. A package under one of them is imported without
//! the folder's name (`lib/sqlalchemy/orm` is `sqlalchemy.orm` when
//! `pyproject.toml` says `where = ["lib"]`), so the folder is an import root.
//!
//! Read from `pyproject.toml` (setuptools' `packages.find.where` and
//! `package-dir`, Poetry's `packages[].from`, Hatch's wheel `packages`,
//! PDM's `package-dir`, Ruff's `src`), `setup.cfg` (`package_dir` and
//! `packages.find` `where`) and, by pattern, `setup.py`
//! (`package_dir={"": "lib"}`, `find_packages("lib")`).

use std::path::{Path, PathBuf};

/// The source folders `project`'s packaging files declare, relative to it;
/// `src` always counts (the common layout, which needs no declaration).
pub fn source_folders(project: &Path) -> Vec<PathBuf> {
    let mut folders = vec![PathBuf::from("src")];
    if let Ok(text) = std::fs::read_to_string(project.join("pyproject.toml")) {
        folders.extend(from_pyproject(&text));
    }
    if let Ok(text) = std::fs::read_to_string(project.join("setup.cfg")) {
        folders.extend(from_setup_cfg(&text));
    }
    if let Ok(text) = std::fs::read_to_string(project.join("setup.py")) {
        folders.extend(from_setup_py(&text));
    }
    let mut folders: Vec<PathBuf> = folders.into_iter().filter_map(|folder| normal(&folder)).collect();
    folders.sort();
    folders.dedup();
    folders
}

/// A relative folder without `.` parts; `None` for the project itself or
/// anything that leaves it.
fn normal(folder: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in folder.components() {
        match part {
            std::path::Component::Normal(name) => out.push(name),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn from_pyproject(text: &str) -> Vec<PathBuf> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else { return Vec::new() };
    let Some(tool) = table.get("tool") else { return Vec::new() };
    let strings = |value: Option<&toml::Value>| -> Vec<PathBuf> {
        match value {
            Some(toml::Value::String(one)) => vec![PathBuf::from(one)],
            Some(toml::Value::Array(many)) => many.iter().filter_map(toml::Value::as_str).map(PathBuf::from).collect(),
            _ => Vec::new(),
        }
    };
    let at = |path: &[&str]| path.iter().try_fold(tool, |value, key| value.get(key));
    let mut folders = strings(at(&["setuptools", "packages", "find", "where"]));
    folders.extend(strings(at(&["setuptools", "package-dir", ""])));
    folders.extend(strings(at(&["pdm", "build", "package-dir"])));
    folders.extend(strings(at(&["ruff", "src"])));
    // Poetry: `packages = [{ include = "shop", from = "lib" }]`.
    if let Some(packages) = at(&["poetry", "packages"]).and_then(toml::Value::as_array) {
        folders.extend(packages.iter().filter_map(|package| package.get("from")?.as_str()).map(PathBuf::from));
    }
    // Hatch: `packages = ["lib/shop"]` names the package folder itself.
    for package in strings(at(&["hatch", "build", "targets", "wheel", "packages"])) {
        if let Some(parent) = package.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            folders.push(parent.to_path_buf());
        }
    }
    folders
}

/// `[options] package_dir = =lib` (the empty package's entry) and
/// `[options.packages.find] where = lib`.
fn from_setup_cfg(text: &str) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if let Some(value) = ini_value(text, "options", "package_dir") {
        for entry in value.split(['\n', ',']) {
            if let Some((package, folder)) = entry.split_once('=')
                && package.trim().is_empty()
                && !folder.trim().is_empty()
            {
                folders.push(PathBuf::from(folder.trim()));
            }
        }
    }
    if let Some(value) = ini_value(text, "options.packages.find", "where") {
        folders.extend(value.split_whitespace().map(PathBuf::from));
    }
    folders
}

/// The value of `key` in `[section]`, continuation lines joined by `\n`.
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    let mut value: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        if let Some(found) = value.as_mut() {
            if continuation {
                found.push('\n');
                found.push_str(trimmed);
                continue;
            }
            return value;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            in_section = name.trim() == section;
            continue;
        }
        if in_section
            && !continuation
            && let Some((name, rest)) = trimmed.split_once(['=', ':'])
            && name.trim() == key
        {
            value = Some(rest.trim().to_owned());
        }
    }
    value
}

/// `package_dir={"": "lib"}` and `find_packages("lib")` /
/// `find_packages(where="lib")` in a `setup.py`, read as text.
fn from_setup_py(text: &str) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    for (at, _) in text.match_indices("package_dir") {
        let rest = text[at + "package_dir".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('=').map(str::trim_start).and_then(|rest| rest.strip_prefix('{')) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix("\"\"").or_else(|| rest.strip_prefix("''")) else { continue };
        let Some(rest) = rest.trim_start().strip_prefix(':') else { continue };
        if let Some(folder) = quoted(rest.trim_start()) {
            folders.push(PathBuf::from(folder));
        }
    }
    for (at, _) in text.match_indices("find_packages(") {
        let rest = text[at + "find_packages(".len()..].trim_start();
        let rest =
            rest.strip_prefix("where").map_or(rest, |rest| rest.trim_start().trim_start_matches('=').trim_start());
        if let Some(folder) = quoted(rest) {
            folders.push(PathBuf::from(folder));
        }
    }
    folders
}

/// The string literal `text` starts with.
fn quoted(text: &str) -> Option<&str> {
    let quote = text.chars().next().filter(|&quote| quote == '"' || quote == '\'')?;
    let body = &text[1..];
    body.find(quote).map(|end| &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyproject_tables() {
        let text = r#"
[tool.setuptools.packages.find]
where = ["lib"]
[tool.poetry]
packages = [{ include = "shop", from = "source" }, { include = "extra" }]
[tool.hatch.build.targets.wheel]
packages = ["pkgs/stall", "toplevel"]
[tool.ruff]
src = [".", "backend"]
"#;
        let found: Vec<PathBuf> = from_pyproject(text).iter().filter_map(|folder| normal(folder)).collect();
        let expected: Vec<PathBuf> = ["lib", "backend", "source", "pkgs"].iter().map(PathBuf::from).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn setup_cfg_options() {
        let text = "[metadata]\nname = x\nwhere = nope\n\n[options]\npackage_dir =\n    = python\n    extra = other\npackages = find:\n\n[options.packages.find]\nwhere = python2\n";
        assert_eq!(from_setup_cfg(text), vec![PathBuf::from("python"), PathBuf::from("python2")]);
        assert_eq!(from_setup_cfg("[options]\npackage_dir = =lib\n"), vec![PathBuf::from("lib")]);
    }

    #[test]
    fn setup_py_patterns() {
        let text = "setup(\n    package_dir={'': 'modules'},\n    packages=find_packages(where=\"modules\"),\n)\n";
        assert_eq!(from_setup_py(text), vec![PathBuf::from("modules"), PathBuf::from("modules")]);
        // Another package's folder is not a source root.
        assert!(from_setup_py("setup(package_dir={'shop': 'lib/shop'})").is_empty());
    }

    #[test]
    fn folders_outside_the_project_are_ignored() {
        assert_eq!(normal(Path::new("../elsewhere")), None);
        assert_eq!(normal(Path::new(".")), None);
        assert_eq!(normal(Path::new("./lib")), Some(PathBuf::from("lib")));
    }
}
