//! The project around the files being processed: where it starts, what its
//! modules are called, and its index. Running on one file still sees the
//! models and helpers of its project.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::checker::may_have_sites;
use crate::index::roots::{ModuleNamer, project_root};
use crate::index::{IndexedFile, ProjectIndex, declares_relations};
use crate::recipe::RuleSet;
use crate::semantic::ModuleName;
use crate::walk;

pub struct Project {
    pub index: ProjectIndex,
    names: HashMap<PathBuf, ModuleName>,
    /// Python files in the project, for statistics.
    pub files: usize,
}

/// Source read from standard input, with the name it stands for.
pub struct StdinSource<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Project {
    /// Indexes the projects holding `targets` (and the standard input source).
    pub fn load(targets: &[PathBuf], excludes: &[String], rules: &RuleSet, stdin: Option<&StdinSource<'_>>) -> Self {
        let mut roots: Vec<PathBuf> = targets.iter().map(|target| project_root(target)).collect();
        let stdin_on_disk = stdin
            .as_ref()
            .filter(|source| source.path.parent().is_some_and(|parent| parent.is_dir() && parent != Path::new("")));
        if let Some(source) = stdin_on_disk {
            roots.push(project_root(source.path));
        }
        roots.sort();
        roots.dedup();
        let mut paths: HashSet<PathBuf> = HashSet::new();
        if !roots.is_empty()
            && let Ok(found) = walk::discover(&roots, excludes)
        {
            paths.extend(found.files.iter().map(|path| canonical(path)));
        }
        for target in targets {
            if let Ok(found) = walk::discover(std::slice::from_ref(target), excludes) {
                paths.extend(found.files.iter().map(|path| canonical(path)));
            }
        }
        let stdin_path = stdin.as_ref().map(|source| {
            if source.path.is_absolute() {
                source.path.to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(source.path)
            }
        });
        if let Some(path) = &stdin_path {
            paths.insert(path.clone());
        }
        let namer = ModuleNamer::new(&paths);
        let mut sorted: Vec<&PathBuf> = paths.iter().collect();
        sorted.sort();
        let mut files: Vec<IndexedFile> = sorted
            .iter()
            .map(|path| IndexedFile { path: (*path).clone(), module: namer.name(path), source: None })
            .collect();
        if let (Some(source), Some(path)) = (&stdin, &stdin_path)
            && let Some(file) = files.iter_mut().find(|file| &file.path == path)
        {
            file.source = Some(source.text.to_owned());
        }
        // Start from the files that can hold a site and the ones declaring model relations.
        let seeds: Vec<usize> = files
            .par_iter()
            .enumerate()
            .filter_map(|(id, file)| {
                let text = match &file.source {
                    Some(text) => text.clone(),
                    None => std::fs::read_to_string(&file.path).ok()?,
                };
                (may_have_sites(&text) || declares_relations(&text)).then_some(id)
            })
            .collect();
        let index = ProjectIndex::build(&files, &seeds, rules);
        let names = files.into_iter().map(|file| (file.path, file.module)).collect::<HashMap<_, _>>();
        Self { index, files: names.len(), names }
    }

    /// The module a file is, as its project imports it.
    pub fn module_name(&self, path: &Path) -> ModuleName {
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(path)
        };
        self.names.get(&canonical(path)).or_else(|| self.names.get(&absolute)).cloned().unwrap_or_else(|| {
            let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or("__main__");
            ModuleName::new(stem, stem == "__init__")
        })
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
