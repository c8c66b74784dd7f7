//! Django facts derived once every module is summarised: which classes are
//! models, the user model, and each model's relations, forward and reverse.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::sqlalchemy::SQLALCHEMY_BASES;
use super::{ProjectIndex, functions_of};

/// A class with one of these bases (by the end of its name) is the user
/// model: matched by spelling, so the byte scans keep the modules that say it.
pub const USER_BASES: [&str; 2] = ["AbstractUser", "AbstractBaseUser"];
use crate::infer::DEFAULT_USER_MODEL;
use crate::infer::facts::Relation;
use crate::recipe::{RelationKind, RuleSet};
use crate::summary::{FieldTarget, FunctionSummary};

impl ProjectIndex {
    pub(super) fn derives_a_model(&self, class: &str, rules: &RuleSet) -> bool {
        self.mro_makes_a_model(&self.mro(class), rules)
    }

    /// Whether a class with this MRO is a model: a base the recipes name, or
    /// a project class that declares a model field.
    fn mro_makes_a_model(&self, mro: &[String], rules: &RuleSet) -> bool {
        mro.iter().any(|base| {
            rules.orm.model_bases.contains(base)
                || rules.library_models.contains_key(base)
                || self.class(base).is_some_and(|summary| summary.declares_fields)
        })
    }

    pub(super) fn derive(&mut self, rules: &RuleSet) {
        self.shared_mut().library_bases =
            rules.library_models.iter().map(|(class, model)| (class.clone(), model.bases.clone())).collect();
        let mut classes: Vec<String> = self
            .shared
            .modules
            .iter()
            .flat_map(|(module, summary)| summary.classes.keys().map(move |class| format!("{module}.{class}")))
            .collect();
        // In name order: where two models claim one reverse accessor, the
        // same one wins on every run.
        classes.sort();
        // Each class's MRO once: models, subclasses and the user model read it.
        let mros: Vec<Arc<[String]>> = classes.iter().map(|class| self.mro(class)).collect();
        self.shared_mut().mros = classes.iter().cloned().zip(mros.iter().cloned()).collect();
        let models: HashSet<String> = classes
            .iter()
            .zip(&mros)
            .filter(|(_, mro)| self.mro_makes_a_model(mro, rules))
            .map(|(class, _)| class.clone())
            .collect();
        let mut subclasses: HashMap<String, Vec<String>> = HashMap::new();
        for (class, mro) in classes.iter().zip(&mros) {
            for base in mro.iter().skip(1) {
                subclasses.entry(base.clone()).or_default().push(class.clone());
            }
        }
        self.shared_mut().subclasses = subclasses;
        self.shared_mut().models = models;
        let users: Vec<(&String, &Arc<[String]>)> = classes
            .iter()
            .zip(&mros)
            .filter(|(_, mro)| mro.iter().any(|base| USER_BASES.iter().any(|suffix| base.ends_with(suffix))))
            .collect();
        // The most derived: an abstract user base (a reusable app's) is not
        // the user model its concrete subclass is.
        let users: Vec<&String> = users
            .iter()
            .filter(|(user, _)| !users.iter().any(|(other, mro)| other != user && mro.contains(user)))
            .map(|(user, _)| *user)
            .collect();
        if let [user] = users.as_slice() {
            let user = (*user).clone();
            self.shared_mut().user_model = Some(user);
        }
        let maps_sqlalchemy =
            mros.iter().any(|mro| mro.iter().skip(1).any(|base| SQLALCHEMY_BASES.contains(&base.as_str())));
        self.shared_mut().maps_sqlalchemy = maps_sqlalchemy;
        self.derive_relations(&classes, rules);
        let mut functions: Vec<(String, &FunctionSummary)> = Vec::new();
        for (module, summary) in &self.shared.modules {
            functions.extend(functions_of(module, summary));
        }
        let touching = self.touching_fixed_point(&functions, rules);
        self.shared_mut().touching = touching;
    }

    /// The relations of `project` models and `library` models (the
    /// recipes' `[[model]]` entries), forward and reverse. A model has its
    /// own relation fields and those of the library models it derives from;
    /// an abstract library model's reverse accessors go to the concrete
    /// models. Project models come first: of two models claiming one reverse
    /// accessor, the first in that order keeps it.
    pub(super) fn relations_of(
        &self,
        project: &[String],
        library: &[String],
        rules: &RuleSet,
    ) -> HashMap<String, HashMap<String, Relation>> {
        let mut relations: HashMap<String, HashMap<String, Relation>> = HashMap::new();
        for class in project.iter().chain(library) {
            let mut fields: Vec<(&str, RelationKind, String, Option<&str>)> = Vec::new();
            if let Some(summary) = self.class(class) {
                for (field, data) in &summary.fields {
                    let target = match &data.target {
                        FieldTarget::SelfReference => Some(class.clone()),
                        FieldTarget::Class(name) => Some(self.canonical_class(name).unwrap_or_else(|| name.clone())),
                        FieldTarget::Label(label) => {
                            self.model_by_label(label, class).or_else(|| library_model_by_label(label, rules))
                        }
                        FieldTarget::UserModel => {
                            Some(self.shared.user_model.clone().unwrap_or_else(|| DEFAULT_USER_MODEL.to_owned()))
                        }
                    };
                    let Some(target) = target else { continue };
                    fields.push((field, data.kind, target, data.related_name.as_deref()));
                }
            }
            for owner in self.mro(class).iter() {
                let Some(model) = rules.library_models.get(owner) else { continue };
                for field in &model.fields {
                    if !fields.iter().any(|(name, ..)| *name == field.name) {
                        fields.push((&field.name, field.kind, field.to.clone(), field.related_name.as_deref()));
                    }
                }
            }
            let short = class.rsplit('.').next().unwrap_or(class).to_lowercase();
            // `Meta.default_related_name`, the class's own or an abstract base's.
            let default_name = self
                .mro(class)
                .iter()
                .find_map(|owner| self.class(owner).and_then(|data| data.default_related_name.clone()))
                .map(|name| {
                    let app = class.rsplit('.').nth(2).unwrap_or_default();
                    name.replace("%(class)s", &short).replace("%(model_name)s", &short).replace("%(app_label)s", app)
                });
            for (field, kind, target, related_name) in fields {
                let many = kind == RelationKind::ManyToMany;
                let accessor = match related_name.or(default_name.as_deref()) {
                    Some(name) if name.ends_with('+') => None,
                    Some(name) => Some(name.to_owned()),
                    None if kind == RelationKind::OneToOne => Some(short.clone()),
                    None => Some(format!("{short}_set")),
                };
                // Reading a one-to-one either way sets the other side.
                let back = accessor.clone().filter(|_| kind == RelationKind::OneToOne);
                relations
                    .entry(class.clone())
                    .or_default()
                    .insert(field.to_owned(), Relation { target: target.clone(), many, back });
                let Some(accessor) = accessor else { continue };
                // A reverse foreign key's manager and a reverse one-to-one set
                // the forward field on what they load; a many-to-many does not.
                let back = (kind != RelationKind::ManyToMany).then(|| field.to_owned());
                let reverse = Relation { target: class.clone(), many: kind != RelationKind::OneToOne, back };
                // A forward field keeps its name; of two reverse accessors
                // with one name (two apps never installed together), the
                // first model keeps it.
                relations.entry(target).or_default().entry(accessor).or_insert(reverse);
            }
        }
        relations
    }

    pub(super) fn derive_relations(&mut self, classes: &[String], rules: &RuleSet) {
        let project: Vec<String> = classes.iter().filter(|class| self.is_model_class(class)).cloned().collect();
        let mut library: Vec<String> = rules
            .library_models
            .iter()
            .filter(|(_, model)| !model.is_abstract)
            .map(|(class, _)| class.clone())
            .collect();
        library.sort();
        let relations = self.relations_of(&project, &library, rules);
        self.shared_mut().relations = relations;
    }

    /// The model `"app.Model"` names, only when a model `Model` lives in a
    /// module with a part `app` (the app's package): a label the project
    /// cannot resolve names nothing.
    pub(super) fn model_by_app_label(&self, label: &str) -> Option<String> {
        let (app, model) = label.rsplit_once('.')?;
        let found: Vec<&String> =
            self.models_named(model).into_iter().filter(|class| class.split('.').any(|part| part == app)).collect();
        // Two apps of the same name in one project: which one is ambiguous.
        match found.as_slice() {
            [only] => Some((*only).clone()),
            _ => None,
        }
    }

    /// The project's models of this class name, in name order.
    fn models_named(&self, model: &str) -> Vec<&String> {
        let mut found: Vec<&String> =
            self.shared.models.iter().filter(|class| class.rsplit('.').next() == Some(model)).collect();
        found.sort();
        found
    }

    pub(super) fn model_by_label(&self, label: &str, from: &str) -> Option<String> {
        let (app, model) = match label.rsplit_once('.') {
            Some((app, model)) => (Some(app), model),
            None => (None, label),
        };
        let candidates = self.models_named(model);
        if let Some(app) = app
            && let Some(found) = candidates.iter().find(|class| class.split('.').any(|part| part == app))
        {
            return Some((*found).clone());
        }
        // Without an app label, a model of the same module first.
        let module = from.rsplit_once('.').map_or("", |(module, _)| module);
        candidates
            .iter()
            .find(|class| class.starts_with(&format!("{module}.")))
            .or(candidates.first())
            .map(|class| (*class).clone())
    }
}

/// The library model (a recipe's `[[model]]`) an app label names when no
/// project model does: `"auth.User"` is `django.contrib.auth.models.User`.
fn library_model_by_label(label: &str, rules: &RuleSet) -> Option<String> {
    let (app, model) = label.rsplit_once('.')?;
    let mut found: Vec<&String> = rules
        .library_models
        .iter()
        .filter(|(class, data)| {
            !data.is_abstract && class.rsplit('.').next() == Some(model) && class.split('.').any(|part| part == app)
        })
        .map(|(class, _)| class)
        .collect();
    found.sort();
    match found.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}
