//! `SQLAlchemy` facts: mapped classes and how their relationships join.

use super::{ProjectIndex, Symbol};
use crate::infer::facts::CallTarget;
use crate::infer::facts::Loads;
use crate::infer::facts::ProjectFacts;
use crate::summary::FunctionSummary;
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

impl ProjectIndex {
    /// [`ProjectFacts::sqlalchemy_loads`], `depth` forwards in.
    pub(super) fn loads_at(&self, target: &CallTarget, depth: usize) -> Option<(Loads, Option<String>)> {
        if depth > MAX_FORWARDS {
            return None;
        }
        let (function, receiver) = self.called(target)?;
        let mut loads = function.loads.clone()?;
        let Some((inner, passed)) = loads.forwards.take() else {
            return Some((loads, receiver));
        };
        let (inner_loads, inner_receiver) = self.loads_at(&inner, depth + 1)?;
        // What a helper returning its argument gives depends on the argument.
        if inner_loads.returns_argument.is_some() {
            return None;
        }
        // `await cls.get(...)` in a class method: still the class ours is called on.
        let on_own_class = match (&inner, &receiver) {
            (CallTarget::Name(name), Some(receiver)) => name
                .rsplit_once('.')
                .and_then(|(class, _)| self.canonical_class(class))
                .is_some_and(|class| self.mro(receiver).contains(&class)),
            _ => false,
        };
        let model = inner_loads.model.clone().or(if on_own_class { None } else { inner_receiver });
        // The callee's option parameters, as ours that were passed to them.
        let options_from = inner_loads
            .options_from
            .iter()
            .filter_map(|(name, position)| {
                let own = passed.iter().find(|(key, _)| key == name || *key == format!("#{position}"))?;
                let at = loads.parameters.iter().position(|parameter| *parameter == own.1)?;
                Some((own.1.clone(), at))
            })
            .collect();
        let resolved = Loads {
            model,
            options_from,
            forwards: None,
            parameters: loads.parameters,
            keywords: loads.keywords,
            yielded: loads.yielded,
            ..inner_loads
        };
        Some((resolved, receiver))
    }

    /// The summary of the function a call runs, and the class it is called on.
    fn called(&self, target: &CallTarget) -> Option<(&FunctionSummary, Option<String>)> {
        match target {
            CallTarget::Name(name) => {
                let Some(Symbol::Function(function)) = self.symbol(name) else { return None };
                let (owner, method) = function.rsplit_once('.')?;
                if let Some(summary) = self.module(owner).and_then(|module| module.functions.get(method)) {
                    return Some((summary, None));
                }
                // `Dataset.get_or_raise(...)`: the class named, not the one defining it.
                let receiver = name.rsplit_once('.').and_then(|(class, _)| self.canonical_class(class));
                self.class(owner)?.methods.get(method).map(|summary| (summary, receiver))
            }
            CallTarget::Method { class, method } => {
                let (_, summary) = self.find_method(class, method, false)?;
                Some((summary, self.canonical_class(class)))
            }
            CallTarget::Super { class, method } => {
                let (_, summary) = self.find_method(class, method, true)?;
                Some((summary, self.canonical_class(class)))
            }
            _ => None,
        }
    }
}

/// How many calls deep a function's result is followed.
const MAX_FORWARDS: usize = 8;
