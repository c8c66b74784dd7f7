//! Name resolution: qualified names through modules, re-exports and
//! classes; classes to their bases (the MRO) and methods.

use std::sync::Arc;

use super::{MAX_DEPTH, ProjectIndex, Symbol, longest_module};
use crate::infer::{DEFAULT_USER_MODEL, USER_MODEL, Value, split_stand_in};
use crate::summary::{ClassSummary, FunctionSummary};

impl ProjectIndex {
    /// The summary of a project class by qualified name.
    pub(super) fn class(&self, class: &str) -> Option<&ClassSummary> {
        let (module, name) = class.rsplit_once('.')?;
        if let Some(found) = self.module(module).and_then(|summary| summary.classes.get(name)) {
            return Some(found);
        }
        // A class defined in a function: `app.tests.test_x.test_consumer.<locals>.Consumer`.
        let (before, _) = class.split_once(".<locals>")?;
        let (module, _) = longest_module(before, |candidate| self.module(candidate).is_some())?;
        self.module(module)?.classes.get(class.get(module.len() + 1..)?)
    }

    /// A method in the class or its project bases: the owner and its summary.
    pub(super) fn find_method(&self, class: &str, method: &str, skip_self: bool) -> Option<(String, &FunctionSummary)> {
        let mro = self.mro(class);
        let start = usize::from(skip_self);
        for owner in mro.iter().skip(start) {
            if let Some(function) = self.class(owner).and_then(|data| data.methods.get(method)) {
                return Some((owner.clone(), function));
            }
        }
        None
    }

    /// The class and its bases in Python's method resolution order (C3), as
    /// canonical qualified names. A hierarchy C3 rejects (Python raises
    /// `TypeError` when defining it), or one deeper than the index follows,
    /// keeps the rest of its bases depth first.
    pub fn mro(&self, class: &str) -> Arc<[String]> {
        let class = self.canonical_class(class).unwrap_or_else(|| class.to_owned());
        // A self-contained module's own classes are not in the shared table
        // (nothing shared derives from them, so the shared MROs hold).
        let known = match &self.own {
            Some(own) if self.is_own_class(&class) => own.mros.get(&class),
            _ => self.shared.mros.get(&class),
        };
        match known {
            Some(mro) => Arc::clone(mro),
            None => self.linearize(class, 0, &mut Vec::new()).into(),
        }
    }

    /// Whether a canonical class name may belong to the own module.
    fn is_own_class(&self, class: &str) -> bool {
        self.own.as_ref().is_some_and(|own| {
            let module = own.summary.module.name.as_str();
            class.len() > module.len() && class.starts_with(module) && class.as_bytes()[module.len()] == b'.'
        })
    }

    fn linearize(&self, class: String, depth: usize, visiting: &mut Vec<String>) -> Vec<String> {
        // A cycle (`class A(A)` across modules) or a runaway chain stops here.
        if depth > MAX_DEPTH || visiting.contains(&class) {
            return vec![class];
        }
        let bases = self.bases_of(&class);
        visiting.push(class.clone());
        let mut sequences: Vec<std::collections::VecDeque<String>> =
            bases.iter().map(|base| self.linearize(base.clone(), depth + 1, visiting).into()).collect();
        visiting.pop();
        sequences.push(bases.into());
        let mut order = vec![class];
        loop {
            sequences.retain(|sequence| !sequence.is_empty());
            if sequences.is_empty() {
                return order;
            }
            // The first head that is in no sequence's tail.
            let head = sequences
                .iter()
                .filter_map(|sequence| sequence.front())
                .find(|head| sequences.iter().all(|sequence| !sequence.iter().skip(1).any(|name| name == *head)))
                .cloned();
            let Some(head) = head else {
                // Inconsistent: what is left, depth first, once each.
                for name in sequences.into_iter().flatten() {
                    if !order.contains(&name) {
                        order.push(name);
                    }
                }
                return order;
            };
            for sequence in &mut sequences {
                if sequence.front() == Some(&head) {
                    sequence.pop_front();
                }
            }
            if !order.contains(&head) {
                order.push(head);
            }
        }
    }

    /// A class's bases, each as the class it names: a project class's, or
    /// a library class's from the packages' declarations.
    fn bases_of(&self, class: &str) -> Vec<String> {
        if let Some(data) = self.class(class) {
            // A base may be a class, or a value standing for one (`Base = declarative_base()`).
            data.bases
                .iter()
                .map(|base| match self.symbol(base) {
                    Some(Symbol::Class(class)) => class,
                    Some(Symbol::Value(Value::Qualified(name))) => name,
                    _ => base.clone(),
                })
                .collect()
        } else {
            self.shared.library_bases.get(class).cloned().unwrap_or_default()
        }
    }

    /// The class a name stands for: a project class, or through a value
    /// naming one (`ModelType = TypeVar("ModelType", bound=Model)`, `User =
    /// get_user_model()`) the class it names, library classes included.
    pub(super) fn canonical_class(&self, name: &str) -> Option<String> {
        let mut through_value = None;
        let mut name = name.to_owned();
        for _ in 0..MAX_DEPTH {
            match self.symbol(&name) {
                Some(Symbol::Class(class)) => return Some(class),
                Some(Symbol::Value(Value::Qualified(target))) if target != name => {
                    through_value = Some(self.unsentinel(&target));
                    name = target;
                }
                _ => break,
            }
        }
        through_value
    }

    /// The user model stand-in replaced by the project's user model.
    pub(super) fn unsentinel(&self, name: &str) -> String {
        if let Some(rest) = name.strip_prefix(USER_MODEL) {
            return format!("{}{rest}", self.shared.user_model.as_deref().unwrap_or(DEFAULT_USER_MODEL));
        }
        // A label's stand-in: the model the label names, if any.
        if let Some((label, tail)) = split_stand_in(name)
            && let Some(class) = self.model_by_app_label(label)
        {
            return tail.map_or_else(|| class.clone(), |tail| format!("{class}.{tail}"));
        }
        name.to_owned()
    }

    /// Resolves a qualified name through modules, classes and re-exports.
    pub(super) fn symbol(&self, name: &str) -> Option<Symbol> {
        let mut name = self.unsentinel(name);
        for _ in 0..MAX_DEPTH {
            let (mut module, mut rest) = longest_module(&name, |candidate| self.module(candidate).is_some())?;
            // `app.models.Team` where `app/models/__init__.py` does `from .Team
            // import Team`: the package's own binding hides the submodule.
            if rest.is_empty()
                && let Some((package, last)) = module.rsplit_once('.')
                && self.module(package).is_some_and(|summary| summary.binds(last))
            {
                (module, rest) = (package, vec![last]);
            }
            let summary = self.module(module)?;
            let Some((first, tail)) = rest.split_first() else { return Some(Symbol::Module) };
            // A class defined in a function, and a method of it.
            if let Some(locals) = rest.iter().rposition(|part| *part == "<locals>")
                && locals + 1 < rest.len()
            {
                let class_name = format!("{module}.{}", rest[..locals + 2].join("."));
                if summary.classes.contains_key(&rest[..locals + 2].join(".")) {
                    return match &rest[locals + 2..] {
                        [] => Some(Symbol::Class(class_name)),
                        [method] => self
                            .find_method(&class_name, method, false)
                            .map(|(owner, _)| Symbol::Function(format!("{owner}.{method}"))),
                        _ => None,
                    };
                }
                return None;
            }
            if let Some(class) = summary.classes.get(*first) {
                let class_name = format!("{module}.{first}");
                return match tail {
                    [] => Some(Symbol::Class(class_name)),
                    [method] => {
                        if class.methods.contains_key(*method) {
                            return Some(Symbol::Function(format!("{class_name}.{method}")));
                        }
                        self.find_method(&class_name, method, true)
                            .map(|(owner, _)| Symbol::Function(format!("{owner}.{method}")))
                    }
                    _ => None,
                };
            }
            if summary.functions.contains_key(*first) {
                return tail.is_empty().then(|| Symbol::Function(format!("{module}.{first}")));
            }
            if let Some(value) = summary.values.get(*first) {
                return match (tail, value) {
                    ([], _) => Some(Symbol::Value(value.clone())),
                    (_, Value::Qualified(target)) => {
                        name = format!("{target}.{}", tail.join("."));
                        continue;
                    }
                    _ => None,
                };
            }
            // A name the module takes from `from .database import *`.
            let target = match summary.imports.get(*first) {
                Some(target) => target.clone(),
                None => summary
                    .star_imports
                    .iter()
                    .find(|star| self.module(star).is_some_and(|module| module.binds(first)))
                    .map(|star| format!("{star}.{first}"))?,
            };
            name = if tail.is_empty() { target } else { format!("{target}.{}", tail.join(".")) };
        }
        None
    }
}
