//! `SQLAlchemy` facts: mapped classes and how their relationships join.

use super::ProjectIndex;
use crate::infer::facts::ProjectFacts;
use crate::summary::{self, ColumnSummary};

/// The bases that make a class a `SQLAlchemy` mapped class.
pub(super) const SQLALCHEMY_BASES: [&str; 6] = [
    summary::DECLARATIVE_BASE,
    "sqlalchemy.orm.DeclarativeBaseNoMeta",
    "sqlalchemy.orm.decl_api.DeclarativeBase",
    "sqlalchemy.ext.declarative.declarative_base",
    // SQLModel's table classes (`table=True`) are mapped; the others hold no rows to load.
    "sqlmodel.SQLModel",
    "sqlmodel.main.SQLModel",
];

impl ProjectIndex {
    /// The mapped class a relationship target names: a qualified name, or a bare class name.
    pub(super) fn sqlalchemy_class(&self, target: &str, from: &str) -> Option<String> {
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

    /// A column of `class` with a foreign key to `target`'s table.
    pub(super) fn foreign_key_to(&self, class: &str, target: &str, allowed: &[String]) -> Option<String> {
        let table =
            self.mro(target).iter().filter_map(|owner| self.class(owner)).find_map(|data| data.table.clone())?;
        let mut columns: Vec<(&String, &ColumnSummary)> =
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
}
