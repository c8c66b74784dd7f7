//! `asyncfix index`: a readable listing of what the index knows.

use std::fmt::Write;

use super::ProjectIndex;
use crate::infer::DEFAULT_USER_MODEL;
use crate::infer::facts::{Effect, Relation, Touch};

impl ProjectIndex {
    /// A readable listing of what the index knows, for `asyncfix index`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut modules: Vec<&String> = self.shared.modules.keys().collect();
        modules.sort();
        let _ = writeln!(out, "modules parsed: {}", modules.len());
        for module in modules {
            let _ = writeln!(out, "  {module}");
        }
        let mut models: Vec<&String> = self.shared.models.iter().collect();
        models.sort();
        let _ = writeln!(out, "models: {}", models.len());
        for model in models {
            let _ = writeln!(out, "  {model}");
            let mut relations: Vec<(&String, &Relation)> =
                self.shared.relations.get(model).map(|map| map.iter().collect()).unwrap_or_default();
            relations.sort_by_key(|(name, _)| *name);
            for (name, relation) in relations {
                let kind = if relation.many { "manager of" } else { "loads" };
                let _ = writeln!(out, "    .{name} {kind} {}", relation.target);
            }
        }
        let _ = writeln!(out, "user model: {}", self.shared.user_model.as_deref().unwrap_or(DEFAULT_USER_MODEL));
        let mut touching: Vec<(&String, &Touch)> = self.shared.touching.iter().collect();
        touching.sort_by_key(|(name, _)| *name);
        let _ = writeln!(out, "functions that touch the database: {}", touching.len());
        for (name, touch) in touching {
            let reason = &touch.reason;
            match touch.effect {
                Effect::Database | Effect::Resource(_) => _ = writeln!(out, "  {name}: {reason}"),
                Effect::AsyncToSync => _ = writeln!(out, "  {name}: {reason} (runs async code with async_to_sync)"),
                Effect::LazyUser => _ = writeln!(out, "  {name}: {reason} (loads the lazy request.user)"),
            }
        }
        out
    }
}
