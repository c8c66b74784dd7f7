//! The Django the fixes are written for: given (`--target-django 4.2`) or
//! read from the project (`auto`): the lowest version its requirements
//! allow, or the version a lock file pins. A fix is native (`await
//! qs.aget(...)`) where that version has the async twin, and wrapped
//! (`await sync_to_async(qs.get)(...)`) where it does not or nothing says.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep440_rs::{Operator, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};

/// A Django release: `4.1.4` is `[4, 1, 4]`; `4.2` is `[4, 2, 0]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DjangoVersion(pub [u64; 3]);

impl DjangoVersion {
    fn from_release(release: &[u64]) -> Option<Self> {
        let major = *release.first()?;
        Some(Self([major, release.get(1).copied().unwrap_or(0), release.get(2).copied().unwrap_or(0)]))
    }
}

impl FromStr for DjangoVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Result<Vec<u64>, _> = text.trim().split('.').map(str::parse).collect();
        match parts {
            Ok(parts) if (1..=3).contains(&parts.len()) => {
                Self::from_release(&parts).ok_or_else(|| format!("`{text}` is not a version"))
            }
            _ => Err(format!("`{text}` is not a Django version like `4.2` or `4.1.4`")),
        }
    }
}

impl fmt::Display for DjangoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [major, minor, patch] = self.0;
        if patch == 0 { write!(f, "{major}.{minor}") } else { write!(f, "{major}.{minor}.{patch}") }
    }
}

/// `--target-django`: a version, or `auto` (read from the project).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetDjango {
    #[default]
    Auto,
    Version(DjangoVersion),
}

impl FromStr for TargetDjango {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" { Ok(Self::Auto) } else { text.parse().map(Self::Version) }
    }
}

/// A version read from a project, and the file that said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub version: DjangoVersion,
    pub source: PathBuf,
}

/// The Django a project targets, from the files at its root: a lock file's
/// pinned version first (`uv.lock`, `poetry.lock`), else the lowest version
/// the declared requirements allow (`pyproject.toml` `[project]` and Poetry
/// tables, `requirements*.txt` and `requirements/*.txt`, `setup.cfg`,
/// `Pipfile`). `None` when no file names Django with a lower bound.
pub fn detect(root: &Path) -> Option<Detected> {
    let found = |file: &str, version: Option<DjangoVersion>| {
        version.map(|version| Detected { version, source: root.join(file) })
    };
    for lock in ["uv.lock", "poetry.lock"] {
        if let Some(detected) = found(lock, read(root, lock).as_deref().and_then(locked_version)) {
            return Some(detected);
        }
    }
    let declared = [
        ("pyproject.toml", read(root, "pyproject.toml").as_deref().and_then(from_pyproject)),
        ("setup.cfg", read(root, "setup.cfg").as_deref().and_then(from_setup_cfg)),
        ("Pipfile", read(root, "Pipfile").as_deref().and_then(from_pipfile)),
    ];
    if let Some(detected) = declared.into_iter().find_map(|(file, version)| found(file, version)) {
        return Some(detected);
    }
    // Several requirements files (base, dev, prod): the lowest bound among them.
    requirements_files(root)
        .into_iter()
        .filter_map(|path| {
            let version = from_requirements(&std::fs::read_to_string(&path).ok()?)?;
            Some(Detected { version, source: path })
        })
        .min_by(|a, b| a.version.cmp(&b.version))
}

fn read(root: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(root.join(name)).ok()
}

fn requirements_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let is_text = |path: &Path| path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("txt"));
    let is_requirements = |path: &Path| {
        is_text(path) && path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("requirements"))
    };
    for dir in [root.to_path_buf(), root.join("requirements")] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if is_requirements(&path) || (dir != root && is_text(&path)) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_django(name: &str) -> bool {
    name.eq_ignore_ascii_case("django")
}

/// `[[package]] name = "django" version = "5.1.2"` in `uv.lock` or `poetry.lock`.
fn locked_version(text: &str) -> Option<DjangoVersion> {
    let lock: toml::Table = toml::from_str(text).ok()?;
    lock.get("package")?.as_array()?.iter().find_map(|package| {
        let package = package.as_table()?;
        if !is_django(package.get("name")?.as_str()?) {
            return None;
        }
        package.get("version")?.as_str()?.parse().ok()
    })
}

fn from_pyproject(text: &str) -> Option<DjangoVersion> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let project = table.get("project").and_then(|project| project.get("dependencies")).and_then(|d| d.as_array());
    if let Some(version) =
        project.into_iter().flatten().filter_map(toml::Value::as_str).find_map(requirement_lower_bound)
    {
        return Some(version);
    }
    let poetry = table.get("tool")?.get("poetry")?.get("dependencies")?.as_table()?;
    poetry.iter().find(|(name, _)| is_django(name)).and_then(|(_, value)| poetry_lower_bound(value))
}

/// `[options] install_requires = ...`, one requirement per line.
fn from_setup_cfg(text: &str) -> Option<DjangoVersion> {
    let mut in_options = false;
    let mut in_requires = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_options = trimmed == "[options]";
            in_requires = false;
            continue;
        }
        if !in_options {
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        if let Some(rest) = trimmed.strip_prefix("install_requires") {
            in_requires = true;
            let value = rest.trim_start().trim_start_matches(['=', ':']).trim();
            if let Some(version) = requirement_lower_bound(value) {
                return Some(version);
            }
        } else if in_requires && continuation {
            if let Some(version) = requirement_lower_bound(trimmed) {
                return Some(version);
            }
        } else if !continuation {
            in_requires = false;
        }
    }
    None
}

/// `[packages] django = "==4.2"` (or `{ version = ">=4.2" }`).
fn from_pipfile(text: &str) -> Option<DjangoVersion> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let packages = table.get("packages")?.as_table()?;
    let (_, value) = packages.iter().find(|(name, _)| is_django(name))?;
    let specifier = match value {
        toml::Value::String(text) => text.as_str(),
        toml::Value::Table(table) => table.get("version")?.as_str()?,
        _ => return None,
    };
    specifiers_lower_bound(specifier)
}

fn from_requirements(text: &str) -> Option<DjangoVersion> {
    text.lines().find_map(|line| requirement_lower_bound(line.split(" #").next().unwrap_or(line)))
}

/// `Django[argon2]>=4.2,<5.0; python_version >= "3.10"`: 4.2, when the
/// requirement is Django's.
fn requirement_lower_bound(line: &str) -> Option<DjangoVersion> {
    let line = line.trim();
    if line.is_empty() || line.starts_with(['#', '-']) {
        return None;
    }
    let requirement = Requirement::<pep508_rs::VerbatimUrl>::from_str(line).ok()?;
    if !is_django(requirement.name.as_ref()) {
        return None;
    }
    match requirement.version_or_url? {
        VersionOrUrl::VersionSpecifier(specifiers) => lowest_allowed(&specifiers),
        VersionOrUrl::Url(_) => None,
    }
}

fn specifiers_lower_bound(text: &str) -> Option<DjangoVersion> {
    lowest_allowed(&VersionSpecifiers::from_str(text.trim()).ok()?)
}

/// The lowest release the specifiers allow, by their lower bounds: `>=4.2`,
/// `~=4.2.1`, `==4.2.*` and `>4.1` (whose releases have 4.1's features)
/// bound it from below; `<`, `<=` and `!=` do not.
fn lowest_allowed(specifiers: &VersionSpecifiers) -> Option<DjangoVersion> {
    specifiers
        .iter()
        .filter(|specifier| {
            matches!(
                specifier.operator(),
                Operator::GreaterThanEqual
                    | Operator::GreaterThan
                    | Operator::Equal
                    | Operator::EqualStar
                    | Operator::TildeEqual
                    | Operator::ExactEqual
            )
        })
        .filter_map(|specifier| DjangoVersion::from_release(specifier.version().release()))
        .max()
}

/// Poetry's constraints: `^4.2`, `~4.2`, `4.2.*`, `>=4.2,<5`, `4.2`, or a
/// table with `version`.
fn poetry_lower_bound(value: &toml::Value) -> Option<DjangoVersion> {
    let text = match value {
        toml::Value::String(text) => text.as_str(),
        toml::Value::Table(table) => table.get("version")?.as_str()?,
        _ => return None,
    };
    text.split(',')
        .filter_map(|part| {
            let part = part.trim();
            let bare = part.trim_start_matches(['^', '~']).trim_end_matches(".*");
            if part.starts_with(['^', '~']) && !part.starts_with("~=") || part.ends_with(".*") {
                return bare.parse().ok();
            }
            if part.starts_with(|c: char| c.is_ascii_digit()) {
                return part.parse().ok();
            }
            specifiers_lower_bound(part)
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps, reason = "compared with the parsers' Option results")]
    fn version(text: &str) -> Option<DjangoVersion> {
        Some(text.parse().expect("a version"))
    }

    #[test]
    fn requirement_lines() {
        assert_eq!(requirement_lower_bound("Django>=4.2,<5.0"), version("4.2"));
        assert_eq!(requirement_lower_bound("django[argon2]~=4.1.4 ; python_version >= '3.10'"), version("4.1.4"));
        assert_eq!(requirement_lower_bound("Django==5.0.*"), version("5.0"));
        assert_eq!(requirement_lower_bound("Django<5"), None);
        assert_eq!(requirement_lower_bound("djangorestframework>=3.14"), None);
        assert_eq!(requirement_lower_bound("-r base.txt"), None);
    }

    #[test]
    fn poetry_constraints() {
        let value = |text: &str| toml::Value::String(text.to_owned());
        assert_eq!(poetry_lower_bound(&value("^4.2")), version("4.2"));
        assert_eq!(poetry_lower_bound(&value("~4.1.4")), version("4.1.4"));
        assert_eq!(poetry_lower_bound(&value(">=3.2,<5")), version("3.2"));
        assert_eq!(poetry_lower_bound(&value("5.0.1")), version("5.0.1"));
        assert_eq!(poetry_lower_bound(&value("*")), None);
    }

    #[test]
    fn setup_cfg_install_requires() {
        let text =
            "[metadata]\nname = x\n\n[options]\ninstall_requires =\n    requests\n    Django>=3.2\npackages = find:\n";
        assert_eq!(from_setup_cfg(text), version("3.2"));
    }

    #[test]
    fn lock_files_pin_the_version() {
        let text = "version = 1\n\n[[package]]\nname = \"asgiref\"\nversion = \"3.8.1\"\n\n[[package]]\nname = \"django\"\nversion = \"5.1.2\"\n";
        assert_eq!(locked_version(text), version("5.1.2"));
    }

    #[test]
    fn pipfile_packages() {
        assert_eq!(from_pipfile("[packages]\ndjango = \"==4.2\"\n"), version("4.2"));
        assert_eq!(from_pipfile("[packages]\nDjango = { version = \">=4.1\" }\n"), version("4.1"));
        assert_eq!(from_pipfile("[packages]\ndjango = \"*\"\n"), None);
    }
}
