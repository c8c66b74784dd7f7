//! The index answers the check's questions ([`ProjectFacts`]).

use super::call_graph::Resolution;
use super::sqlalchemy::SQLALCHEMY_BASES;
use super::{ProjectIndex, Symbol};
use crate::infer::facts::{
    CallTarget, Direction, GuardParameter, OrmClass, OrmMethod, ProjectFacts, Relation, Returned, ReturnedElement,
    SqlAlchemyRelationship, Touch,
};
use crate::infer::{MODEL_LABEL, USER_MODEL, Value};
use crate::recipe::{Callable, RuleSet};
use crate::scan::reach;
use crate::semantic::MethodKind;
use crate::summary::FunctionSummary;

impl ProjectFacts for ProjectIndex {
    fn user_model(&self) -> Option<&str> {
        self.shared.user_model.as_deref()
    }

    /// What a qualified name evaluates to, when the project defines it.
    fn resolve_value(&self, name: &str) -> Option<Value> {
        match self.symbol(name) {
            Some(Symbol::Class(class)) => Some(Value::Qualified(class)),
            Some(Symbol::Function(function)) => Some(Value::Qualified(function)),
            Some(Symbol::Value(Value::Qualified(value))) => Some(Value::Qualified(self.unsentinel(&value))),
            Some(Symbol::Value(Value::Instance { class, preloaded })) => {
                Some(Value::Instance { class: self.unsentinel(&class), preloaded })
            }
            Some(Symbol::Value(value)) => Some(value),
            Some(Symbol::Module) => None,
            None if name.starts_with(USER_MODEL) => Some(Value::Qualified(self.unsentinel(name))),
            None => None,
        }
    }

    fn model_by_app_label(&self, label: &str) -> Option<String> {
        ProjectIndex::model_by_app_label(self, label)
    }

    fn instance_attribute(&self, class: &str, attribute: &str) -> Option<Value> {
        let declared = |class: &str| -> Option<Value> {
            self.mro(class).iter().find_map(|owner| self.class(owner)?.attributes.get(attribute)).cloned()
        };
        // Not set by the class or its bases: a mixin's attribute, set by each
        // subclass; what they all agree on.
        let value = declared(class).or_else(|| {
            let subclasses = ProjectFacts::subclasses(self, class);
            let mut values = subclasses.iter().filter_map(|subclass| declared(subclass));
            let first = values.next()?;
            values.all(|value| value == first).then_some(first)
        })?;
        let value = &value;
        // Names as the defining module spelled them, resolved now.
        match value {
            Value::Qualified(name) => {
                self.resolve_value(name).or_else(|| Some(Value::Qualified(self.unsentinel(name))))
            }
            Value::Instance { class, preloaded } => {
                let class = self.canonical_class(class).unwrap_or_else(|| self.unsentinel(class));
                Some(Value::Instance { class, preloaded: preloaded.clone() })
            }
            Value::Unknown => None,
            other => Some(other.clone()),
        }
    }

    fn is_class(&self, name: &str) -> bool {
        matches!(self.symbol(name), Some(Symbol::Class(_)))
    }

    fn is_model(&self, class: &str, rules: &RuleSet) -> bool {
        let named = |class: &str| {
            rules.orm.model_bases.contains(class)
                || rules.library_models.contains_key(class)
                // A label the project does not define still names a model (of an installed app).
                || class.starts_with(MODEL_LABEL)
        };
        let class = self.unsentinel(class);
        named(&class) || self.canonical_class(&class).is_some_and(|class| named(&class) || self.is_model_class(&class))
    }

    fn relation(&self, class: &str, attribute: &str) -> Option<&Relation> {
        let class = self.canonical_class(class).unwrap_or_else(|| self.unsentinel(class));
        let declared = |class: &str| {
            let own =
                self.own.as_ref().and_then(|own| own.relations.get(class)).and_then(|fields| fields.get(attribute));
            own.or_else(|| self.shared.relations.get(class)?.get(attribute))
        };
        // A proxy or a child model has its parent's relations, reverse ones
        // included (`role.user_set` of `class Role(Group)` with `proxy = True`).
        declared(&class).or_else(|| self.mro(&class).iter().skip(1).find_map(|base| declared(base)))
    }

    fn orm_class(&self, class: &str, rules: &RuleSet) -> Option<OrmClass> {
        let mro = self.mro(class);
        if mro.iter().any(|base| rules.orm.queryset_classes.contains(base)) {
            Some(OrmClass::QuerySet)
        } else if mro.iter().any(|base| rules.orm.manager_classes.contains(base)) {
            Some(OrmClass::Manager)
        } else {
            None
        }
    }

    fn declared_manager(&self, model: &str, attribute: &str, rules: &RuleSet) -> Option<Vec<String>> {
        let model = self.canonical_class(model)?;
        let classes = self.mro(&model).iter().find_map(|owner| self.class(owner)?.managers.get(attribute))?;
        let classes: Vec<String> =
            classes.iter().map(|class| self.canonical_class(class).unwrap_or_else(|| class.clone())).collect();
        if !classes.iter().any(|class| self.orm_class(class, rules).is_some()) {
            return None;
        }
        // The project's classes: Django's own have no methods to look up.
        Some(classes.into_iter().filter(|class| self.class(class).is_some()).collect())
    }

    fn orm_method(&self, classes: &[String], method: &str) -> Option<OrmMethod> {
        classes.iter().find_map(|class| {
            let (owner, function) = self.find_method(class, method, false)?;
            Some(OrmMethod { owner, returns: function.returns_queryset.clone() })
        })
    }

    fn property_returns(&self, class: &str, attribute: &str) -> Option<String> {
        let (_, function) = self.find_method(class, attribute, false)?;
        (function.kind == Some(MethodKind::Property)).then(|| self.returned(function)).flatten().map(|r| r.class)
    }

    fn method_returns_classes(&self, class: &str, method: &str) -> Option<Option<Vec<String>>> {
        let (_, function) = self.find_method(class, method, false)?;
        Some(function.returns_classes.as_ref().map(|classes| {
            classes
                .iter()
                .map(|class| if class.contains('.') { self.unsentinel(class) } else { class.clone() })
                .collect()
        }))
    }

    fn method_returns(&self, class: &str, method: &str) -> Option<Returned> {
        if let Some((_, function)) = self.find_method(class, method, false) {
            return self.returned(function);
        }
        // A mixin calling what the classes it is mixed into define: what
        // every one of them returns, when they agree on the class.
        let mut agreed: Option<Returned> = None;
        for subclass in ProjectFacts::subclasses(self, class) {
            let Some((_, function)) = self.find_method(&subclass, method, false) else { continue };
            let returned = self.returned(function)?;
            agreed = Some(match agreed {
                None => returned,
                Some(previous) if previous.class == returned.class => Returned {
                    loaded: previous.loaded.into_iter().filter(|path| returned.loaded.contains(path)).collect(),
                    class: previous.class,
                },
                Some(_) => return None,
            });
        }
        agreed
    }

    fn function_returns(&self, name: &str) -> Option<Returned> {
        let Some(Symbol::Function(function)) = self.symbol(name) else { return None };
        self.returned(self.function_summary(&function)?)
    }

    fn returned_element(&self, target: &CallTarget, index: usize, rules: &RuleSet) -> Option<(ReturnedElement, bool)> {
        let Resolution::Function(function) = self.resolve_target(target, rules) else { return None };
        let summary = self.function_summary(&function)?;
        let element = match summary.returns_elements.get(index)?.as_ref()? {
            ReturnedElement::Instance(class) => ReturnedElement::Instance(self.unsentinel(class)),
            ReturnedElement::List(class) => ReturnedElement::List(self.unsentinel(class)),
        };
        Some((element, summary.is_async || summary.wrapped))
    }

    fn forced_parameters(&self, target: &CallTarget, rules: &RuleSet) -> Vec<GuardParameter> {
        let Resolution::Function(function) = self.resolve_target(target, rules) else { return Vec::new() };
        self.function_summary(&function)
            .filter(|summary| !summary.is_async && !summary.wrapped)
            .map(|summary| summary.forces.clone())
            .unwrap_or_default()
    }

    /// A recipe callable a project class inherits: `CustomRefreshToken` and
    /// `CustomRefreshToken.for_user` inherit from `RefreshToken`.
    fn inherited_callable(&self, name: &str, rules: &RuleSet) -> Option<Callable> {
        if let Some(class) = self.canonical_class(name) {
            return self.mro(&class).iter().skip(1).find_map(|base| rules.callables.get(base).copied());
        }
        // `Class.member` of a project class; a recipe's own names are matched directly.
        let (class, member) = name.rsplit_once('.')?;
        self.canonical_class(class)?;
        self.inherited_method(class, member, false, rules)
    }

    /// The recipe callable `Base.method` that `method` called on an instance
    /// of a project class runs: `self.get_object()` in a subclass of DRF's
    /// `GenericAPIView`. None when the class or a project base between it and
    /// the recipe's class defines the method: a project method, judged by its
    /// body.
    fn inherited_method(&self, class: &str, method: &str, skip_self: bool, rules: &RuleSet) -> Option<Callable> {
        let canonical = self.canonical_class(class);
        if let Some(class) = &canonical
            && self.find_method(class, method, skip_self).is_some()
        {
            return None;
        }
        // A library class (the user model, a session store) is described by
        // the recipes: its own entries count, and its recipe bases'.
        let class = canonical.clone().unwrap_or_else(|| self.unsentinel(class));
        let skip = usize::from(canonical.is_some() || skip_self);
        self.mro(&class).iter().skip(skip).find_map(|base| rules.callables.get(&format!("{base}.{method}")).copied())
    }

    /// Whether a call target is a sync project function that touches the
    /// database: its qualified name and why.
    fn touching_call(&self, target: &CallTarget, rules: &RuleSet) -> Option<(String, Touch)> {
        match self.resolve_target(target, rules) {
            Resolution::Function(function) => {
                let reason = self.touching_reason(&function)?.clone();
                Some((function, reason))
            }
            Resolution::AnyOf(functions) => functions
                .into_iter()
                .find_map(|function| Some((function.clone(), self.touching_reason(&function)?.clone()))),
            Resolution::AllOf(functions) => {
                let reasons: Option<Vec<&Touch>> =
                    functions.iter().map(|function| self.touching_reason(function)).collect();
                let reason = (*reasons?.first()?).clone();
                functions.into_iter().next().map(|function| (function, reason))
            }
            _ => None,
        }
    }

    /// The touching method with this name, when exactly one project class
    /// defines a method of that name: the basis of an unsafe guess. A name
    /// any other file defines (a module the index did not need, too) is no
    /// basis.
    fn touching_method_named(&self, method: &str) -> Option<(String, Touch)> {
        if self.shared.defining_files.get(&reach::name_key(method.as_bytes())).is_some_and(|&files| files > 1) {
            return None;
        }
        let mut owners = self.modules().flat_map(|summary| {
            summary
                .classes
                .iter()
                .filter(|(_, class)| class.methods.contains_key(method))
                .map(move |(name, _)| format!("{}.{name}", summary.module.name))
        });
        let owner = owners.next()?;
        if owners.next().is_some() {
            return None;
        }
        let function = format!("{owner}.{method}");
        let touch = self.touching_reason(&function)?.clone();
        Some((function, touch))
    }

    fn touching_override(&self, class: &str, method: &str) -> Option<(String, Touch)> {
        let (own, _) = self.find_method(class, method, false)?;
        ProjectFacts::subclasses(self, class).iter().find_map(|subclass| {
            let (owner, _) = self.find_method(subclass, method, false).filter(|(owner, _)| *owner != own)?;
            let function = format!("{owner}.{method}");
            Some((function.clone(), self.touching_reason(&function)?.clone()))
        })
    }

    fn maps_sqlalchemy(&self) -> bool {
        self.shared.maps_sqlalchemy || self.own.as_ref().is_some_and(|own| own.maps_sqlalchemy)
    }

    /// Whether a class is mapped by `SQLAlchemy`'s declarative system.
    fn is_sqlalchemy_model(&self, class: &str) -> bool {
        self.canonical_class(class)
            .is_some_and(|class| self.mro(&class).iter().skip(1).any(|base| SQLALCHEMY_BASES.contains(&base.as_str())))
    }

    /// The primary key column of a mapped class (`id` when none is marked).
    fn primary_key(&self, class: &str) -> String {
        self.mro(class)
            .iter()
            .filter_map(|owner| self.class(owner))
            .flat_map(|data| data.columns.iter())
            .find(|(_, column)| column.primary_key)
            .map_or_else(|| "id".to_owned(), |(name, _)| name.clone())
    }

    /// A `relationship()` of a mapped class, with its direction worked out.
    fn sqlalchemy_relationship(&self, class: &str, attribute: &str) -> Option<SqlAlchemyRelationship> {
        let class = self.canonical_class(class)?;
        let (owner, data) = self.mro(&class).iter().find_map(|owner| {
            self.class(owner)
                .and_then(|data| data.relationships.get(attribute))
                .map(|data| (owner.clone(), data.clone()))
        })?;
        let target = data.target.as_deref().and_then(|target| self.sqlalchemy_class(target, &owner));
        let direction = match &target {
            _ if data.secondary => Direction::ManyToMany,
            _ if data.custom_join => Direction::Complex,
            None => Direction::Complex,
            Some(target) => {
                if let Some(column) = self.foreign_key_to(&class, target, &data.foreign_keys) {
                    Direction::ManyToOne { column }
                } else if let Some(column) = self.foreign_key_to(target, &class, &data.foreign_keys) {
                    Direction::OneToMany { column, collection: data.collection.unwrap_or(true) }
                } else {
                    Direction::Complex
                }
            }
        };
        Some(SqlAlchemyRelationship { target, lazy: data.lazy.clone(), direction, shaped: data.shaped })
    }

    /// Every `relationship()` of a mapped class and its bases, by attribute.
    fn sqlalchemy_relationships(&self, class: &str) -> Vec<(String, SqlAlchemyRelationship)> {
        let Some(class) = self.canonical_class(class) else { return Vec::new() };
        let mut names: Vec<String> = self
            .mro(&class)
            .iter()
            .filter_map(|owner| self.class(owner))
            .flat_map(|data| data.relationships.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|name| self.sqlalchemy_relationship(&class, &name).map(|found| (name, found)))
            .collect()
    }

    fn sqlalchemy_loads(&self, target: &CallTarget) -> Option<(crate::infer::facts::Loads, Option<String>)> {
        self.loads_at(target, 0)
    }

    fn ancestors(&self, class: &str) -> Vec<String> {
        self.mro(class).to_vec()
    }

    fn subclasses(&self, class: &str) -> Vec<String> {
        let class = self.canonical_class(class).unwrap_or_else(|| class.to_owned());
        let mut found = self.shared.subclasses.get(&class).cloned().unwrap_or_default();
        // A self-contained module's own classes are not in the shared table.
        if let Some(own) = &self.own {
            let module = &own.summary.module.name;
            found.extend(
                own.summary
                    .classes
                    .keys()
                    .map(|name| format!("{module}.{name}"))
                    .filter(|subclass| self.mro(subclass).iter().skip(1).any(|base| *base == class)),
            );
            found.sort();
            found.dedup();
        }
        found
    }

    fn same_class(&self, first: &str, second: &str) -> bool {
        first == second || self.canonical_class(first).is_some_and(|first| Some(first) == self.canonical_class(second))
    }

    /// Whether sessions from this factory expire objects on commit.
    fn session_factory(&self, name: &str) -> Option<bool> {
        let (module, factory) = name.rsplit_once('.')?;
        if let Some(expire) = self.module(module).and_then(|summary| summary.session_factories.get(factory)) {
            return Some(*expire);
        }
        let target = self.module(module)?.imports.get(factory)?;
        let (module, factory) = target.rsplit_once('.')?;
        self.module(module).and_then(|summary| summary.session_factories.get(factory)).copied()
    }

    /// Whether every session and session factory the project makes keeps
    /// objects on commit (where one session comes from is not known, it may
    /// be any of them).
    fn sessions_never_expire(&self) -> bool {
        let mut made = self
            .modules()
            .flat_map(|summary| summary.session_factories.values().chain(&summary.session_constructions))
            .peekable();
        made.peek().is_some() && made.all(|expire| !expire)
    }

    fn django_settings(&self) -> Option<&crate::infer::facts::DjangoSettings> {
        self.shared.django_settings.as_ref()
    }

    fn model_io_queries(&self, class: &str, io: crate::recipe::ModelIo) -> crate::infer::facts::ModelIoQueries {
        ProjectIndex::model_io_queries(self, class, io)
    }

    fn template_uses(&self, name: &str) -> Option<std::sync::Arc<crate::infer::facts::TemplateUses>> {
        self.shared.templates.uses(name)
    }
}

impl ProjectIndex {
    /// Every method name an unsafe guess by name may resolve
    /// ([`ProjectFacts::touching_method_named`]): a touching method of a
    /// project class, the name defined in one file only. A superset: a name
    /// two classes define is kept too.
    pub fn guessable_methods(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .modules()
            .flat_map(|summary| {
                summary.classes.iter().flat_map(move |(class, data)| {
                    data.methods.keys().filter(move |method| {
                        self.touching_reason(&format!("{}.{class}.{method}", summary.module.name)).is_some()
                    })
                })
            })
            .map(String::as_str)
            .filter(|method| {
                self.shared.defining_files.get(&reach::name_key(method.as_bytes())).is_none_or(|&files| files <= 1)
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The summary of a project function or method, by qualified name.
    fn function_summary(&self, function: &str) -> Option<&FunctionSummary> {
        let (owner, name) = function.rsplit_once('.')?;
        match self.module(owner) {
            Some(module) => module.functions.get(name),
            None => self.class(owner)?.methods.get(name),
        }
    }

    /// The class a function returns instances of, as every module names it
    /// (`get_user_model()` in the summary is the project's user model here).
    fn returned(&self, function: &FunctionSummary) -> Option<Returned> {
        let class = self.unsentinel(function.returns.as_deref()?);
        Some(Returned { class, loaded: function.returns_loaded.clone() })
    }
}
