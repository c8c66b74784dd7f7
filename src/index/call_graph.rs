//! Which project functions touch the database: a fixed point over the
//! project's call graph, from the direct accesses the summaries record.

use std::collections::HashMap;

use super::{ProjectIndex, Symbol, short, short_member};
use crate::infer::Value;
use crate::infer::facts::{Argument, CallTarget, Effect, GuardParameter, ITERATED, OrmClass, ProjectFacts, Touch};
use crate::recipe::RuleSet;
use crate::semantic::MethodKind;
use crate::summary::FunctionSummary;

/// How a call target resolves once the index is complete.
pub(super) enum Resolution {
    /// Certainly touches the database; the reason, for messages.
    Database(String),
    /// A project function or method, by qualified name.
    Function(String),
    /// A mixin's call of a method only its subclasses define: each
    /// subclass's own, by qualified name; touching when every one is.
    AllOf(Vec<String>),
    /// A library template method that runs one of several hooks the class
    /// defines (`save` runs `create` or `update`); touching when any is.
    AnyOf(Vec<String>),
    Nothing,
}

impl ProjectIndex {
    /// Which of `functions` touch the database, directly or through calls
    /// (to each other or to functions this view already knows touch).
    pub(super) fn touching_fixed_point(
        &self,
        functions: &[(String, &FunctionSummary)],
        rules: &RuleSet,
    ) -> HashMap<String, Touch> {
        let mut functions = functions.to_vec();
        functions.sort_by(|a, b| a.0.cmp(&b.0));
        let mut touching: HashMap<String, Touch> = HashMap::new();
        for (name, function) in &functions {
            if let Some(direct) = &function.direct {
                touching.insert(name.clone(), Touch { generator: function.generator, ..direct.clone() });
            }
        }
        // Resolve every call once; then propagate to a fixed point.
        let resolved: Vec<Vec<Resolution>> = functions
            .iter()
            .map(|(_, function)| function.calls.iter().map(|target| self.resolve_target(target, rules)).collect())
            .collect();
        loop {
            let mut changed = false;
            for ((name, function), resolutions) in functions.iter().zip(&resolved) {
                // Known, and as strongly as anything can make it.
                let known = touching.get(name).map(|touch| touch.effect.strength());
                if known == Some(Effect::Database.strength()) {
                    continue;
                }
                // A callee's effect carries over to its callers.
                let via = |callee: &String| {
                    let effect = touching.get(callee).or_else(|| self.touching_reason(callee))?.effect;
                    let reason = format!("calls `{}`", callee.rsplit('.').next().unwrap_or(callee));
                    Some(Touch { reason, effect, generator: function.generator, only_when: Vec::new() })
                };
                let reasons = resolutions.iter().filter_map(|resolution| match resolution {
                    Resolution::Database(reason) => Some(Touch {
                        reason: reason.clone(),
                        effect: Effect::Database,
                        generator: function.generator,
                        only_when: Vec::new(),
                    }),
                    Resolution::Function(callee) => via(callee),
                    Resolution::AllOf(callees) if callees.iter().all(|callee| via(callee).is_some()) => {
                        via(&callees[0])
                    }
                    Resolution::AnyOf(callees) => callees.iter().find_map(via),
                    _ => None,
                });
                // The first of the strongest: a query beats a lazy user's load.
                let reason = reasons.fold(None::<Touch>, |best, touch| match best {
                    Some(best) if best.effect.strength() >= touch.effect.strength() => Some(best),
                    _ => Some(touch),
                });
                let reason = reason.filter(|touch| known.is_none_or(|known| touch.effect.strength() > known));
                if let Some(reason) = reason {
                    touching.insert(name.clone(), reason);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        self.guard_touches(&functions, &resolved, &mut touching);
        touching
    }

    /// When each touching function touches: its accesses' guards, and its
    /// touching calls' guards joined with what the callee's own guards need
    /// of the arguments the call passes (`user_field(user, f, *args)` passes
    /// no `commit`, so a save under `if commit:` never runs; `commit=commit`
    /// hands the need to the caller's own `commit`). A function none of
    /// whose accesses can run does not touch. Rounds until nothing changes:
    /// each reads the callees' answers of the round before, which only
    /// narrow what a call needs, so every round's answer holds.
    fn guard_touches(
        &self,
        functions: &[(String, &FunctionSummary)],
        resolved: &[Vec<Resolution>],
        touching: &mut HashMap<String, Touch>,
    ) {
        const ROUNDS: usize = 8;
        for _ in 0..ROUNDS {
            let mut changed = false;
            for ((name, function), resolutions) in functions.iter().zip(resolved) {
                let Some(touch) = touching.get(name) else { continue };
                let needs = |callee: &String| {
                    touching.get(callee).or_else(|| self.touching_reason(callee)).map(|touch| touch.only_when.clone())
                };
                let mut always = false;
                let mut sets: Vec<Vec<usize>> = Vec::new();
                let mut note = |guard: Vec<usize>| {
                    if guard.is_empty() {
                        always = true;
                    } else if !sets.contains(&guard) {
                        sets.push(guard);
                    }
                };
                if function.direct.is_some() {
                    function.guards.direct.iter().cloned().for_each(&mut note);
                }
                for (at, resolution) in resolutions.iter().enumerate() {
                    let callee_needs = match resolution {
                        Resolution::Database(_) => Some(Vec::new()),
                        Resolution::Function(callee) => needs(callee),
                        Resolution::AllOf(callees) => {
                            callees.iter().all(|callee| needs(callee).is_some()).then(Vec::new)
                        }
                        Resolution::AnyOf(callees) => {
                            callees.iter().any(|callee| needs(callee).is_some()).then(Vec::new)
                        }
                        Resolution::Nothing => None,
                    };
                    let Some(callee_needs) = callee_needs else { continue };
                    let guard = function.guards.calls.get(at).cloned().unwrap_or_default();
                    if callee_needs.is_empty() {
                        note(guard);
                        continue;
                    }
                    let passing = function.guards.passing.get(at);
                    for set in &callee_needs {
                        let mut required = guard.clone();
                        let mut possible = true;
                        for parameter in set {
                            let argument = passing.map_or(Argument::Other, |passing| passing.argument_for(parameter));
                            match (argument, parameter.negated) {
                                (Argument::Falsy, false) | (Argument::Truthy, true) => possible = false,
                                (Argument::Parameter(own), false) if !required.contains(&own) => required.push(own),
                                // A negated need handed to the caller's parameter is not followed.
                                _ => {}
                            }
                        }
                        if possible {
                            note(required);
                        }
                    }
                }
                let parameters = |set: &Vec<usize>| -> Vec<GuardParameter> {
                    set.iter().filter_map(|&at| function.guards.parameters.get(at).cloned()).collect()
                };
                if !always && sets.is_empty() {
                    touching.remove(name);
                    changed = true;
                    continue;
                }
                let only_when: Vec<Vec<GuardParameter>> =
                    if always { Vec::new() } else { sets.iter().map(parameters).collect() };
                if touch.only_when != only_when {
                    let guarded = Touch { only_when, ..touch.clone() };
                    touching.insert(name.clone(), guarded);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    pub(super) fn resolve_target(&self, target: &CallTarget, rules: &RuleSet) -> Resolution {
        match target {
            CallTarget::Name(name) => match self.symbol(name) {
                Some(Symbol::Function(function)) => Resolution::Function(function),
                Some(Symbol::Class(class)) => match self.inherited_callable(&class, rules) {
                    Some(callable) if callable.site => Resolution::Database(format!("constructs `{}`", short(&class))),
                    // `LoanCard(member)` runs the project's `__init__`.
                    _ => match self.find_method(&class, "__init__", false) {
                        Some((owner, _)) => Resolution::Function(format!("{owner}.__init__")),
                        None => Resolution::Nothing,
                    },
                },
                _ => match self.inherited_callable(name, rules) {
                    Some(callable) if callable.site => Resolution::Database(format!("`{}`", short_member(name))),
                    // `CreateTrade.execute(...)`: a library base's class-level
                    // template method runs the project class's hook.
                    _ => name
                        .rsplit_once('.')
                        .and_then(|(class, method)| {
                            let class = self.canonical_class(class)?;
                            let mro = self.mro(&class);
                            self.dispatched(&class, method, &mro, rules)
                        })
                        .unwrap_or(Resolution::Nothing),
                },
            },
            CallTarget::Method { class, method } => self.resolve_method(class, method, false, rules),
            CallTarget::SelfChain { class, methods, evaluates } => {
                self.resolve_self_chain(class, methods, evaluates.as_deref(), rules)
            }
            CallTarget::Super { class, method } => self.resolve_method(class, method, true, rules),
            CallTarget::SelfAttribute { class, attribute, path, method, constructed } => {
                self.resolve_self_attribute(class, attribute, path, method, *constructed, rules)
            }
            CallTarget::Returned { function, methods, evaluates } => {
                let keeps_queryset = methods.iter().all(|method| rules.orm.lazy.contains(method));
                let returned = self.function_returns(function).map(|returned| returned.class);
                let is_queryset = returned.as_ref().is_some_and(|class| {
                    rules.orm.queryset_classes.contains(class.as_str())
                        || self.orm_class(class, rules) == Some(OrmClass::QuerySet)
                });
                if keeps_queryset && is_queryset {
                    Resolution::Database(format!("`{}(...).{evaluates}()`", short(function)))
                } else if let Some(class) = returned.filter(|_| methods.is_empty()) {
                    self.resolve_method(&class, evaluates, false, rules)
                } else {
                    Resolution::Nothing
                }
            }
            CallTarget::Attribute { class, attribute } => {
                if let Some(relation) = self.relation(class, attribute)
                    && !relation.many
                {
                    return Resolution::Database(format!("the lazy relation `.{attribute}`"));
                }
                match self.find_method(class, attribute, false) {
                    Some((owner, function)) if function.kind == Some(MethodKind::Property) => {
                        Resolution::Function(format!("{owner}.{attribute}"))
                    }
                    _ => Resolution::Nothing,
                }
            }
        }
    }

    /// `self.m1().m2().evaluating()` or `for x in self.m1()` in a method of
    /// `class`: a query when `class` is a `QuerySet` or manager and each
    /// method keeps the chain lazy (a lazy `QuerySet` method, or a method of
    /// the class that returns a `QuerySet`).
    fn resolve_self_chain(
        &self,
        class: &str,
        methods: &[String],
        evaluates: Option<&str>,
        rules: &RuleSet,
    ) -> Resolution {
        let Some(kind) = self.orm_class(class, rules) else { return Resolution::Nothing };
        let mut is_queryset = kind == OrmClass::QuerySet;
        let mut classes = vec![class.to_owned()];
        for method in methods {
            let keeps_lazy = rules.orm.lazy.contains(method)
                || self.orm_method(&classes, method).is_some_and(|found| found.returns.is_some());
            if !keeps_lazy {
                return Resolution::Nothing;
            }
            is_queryset = true;
            classes.retain(|class| self.orm_class(class, rules) == Some(OrmClass::QuerySet));
        }
        match evaluates {
            Some(method) => Resolution::Database(format!("`.{method}()` on a QuerySet")),
            None if is_queryset => Resolution::Database("iterates a QuerySet".to_owned()),
            None => Resolution::Nothing,
        }
    }

    /// `self.attribute.path.method()`: a model class's manager chain ending
    /// in an evaluating method, a model instance's query method, or a recipe
    /// method on a tagged value.
    fn resolve_self_attribute(
        &self,
        class: &str,
        attribute: &str,
        path: &[String],
        method: &str,
        constructed: bool,
        rules: &RuleSet,
    ) -> Resolution {
        if !constructed && let Some(resolution) = self.resolve_self_relation(class, attribute, path, method, rules) {
            return resolution;
        }
        let Some(value) = self.instance_attribute(class, attribute) else { return Resolution::Nothing };
        // An instance built from a model class held in the attribute.
        let value = match value {
            Value::Qualified(class) if constructed => Value::Instance { class, preloaded: Vec::new() },
            _ if constructed => return Resolution::Nothing,
            value => value,
        };
        let found = match (&value, path) {
            (Value::Qualified(model), [manager, lazy @ ..])
                if rules.orm.managers.contains(manager)
                    && self.is_model(model, rules)
                    && lazy.iter().all(|step| rules.orm.lazy.contains(step))
                    && (rules.orm.evaluating.contains(method) || method == ITERATED) =>
            {
                true
            }
            (Value::Instance { class, .. }, []) => {
                self.is_model(class, rules) && rules.instance_methods.contains_key(method)
            }
            (Value::Tagged { tag, .. }, []) => rules.methods.contains_key(&(*tag, method.to_owned())),
            _ => false,
        };
        if found {
            let chain = std::iter::once(attribute).chain(path.iter().map(String::as_str)).collect::<Vec<_>>().join(".");
            let built = if constructed { "(...)" } else { "" };
            Resolution::Database(format!("`self.{chain}{built}.{method}()`"))
        } else {
            Resolution::Nothing
        }
    }

    /// `self.members.count()`, `self.members.add(p)` or `self.owner.save()`
    /// in a model's method: a related manager's query or write, or a method
    /// of the related object (which the read of the lazy relation loads
    /// first). `None` when `attribute` is no relation of `class`.
    fn resolve_self_relation(
        &self,
        class: &str,
        attribute: &str,
        path: &[String],
        method: &str,
        rules: &RuleSet,
    ) -> Option<Resolution> {
        let relation = self.relation(class, attribute)?;
        let steps =
            path.iter().map(|step| if rules.orm.lazy.contains(step) { format!("{step}(...)") } else { step.clone() });
        let chain = std::iter::once(attribute.to_owned()).chain(steps).collect::<Vec<_>>().join(".");
        if !relation.many {
            return Some(Resolution::Database(format!("the lazy relation `.{attribute}`")));
        }
        let lazy = path.iter().all(|step| rules.orm.lazy.contains(step));
        let queries = rules.orm.evaluating.contains(method)
            || rules.orm.fetching.contains(method)
            || (method == ITERATED && !path.is_empty())
            || (path.is_empty() && rules.related_manager_methods.contains_key(method));
        Some(if lazy && queries && method == ITERATED {
            Resolution::Database(format!("iterates `self.{chain}`"))
        } else if lazy && queries {
            Resolution::Database(format!("`self.{chain}.{method}()`"))
        } else {
            Resolution::Nothing
        })
    }

    /// A library base's template method (`[[dispatch]]`) that runs the
    /// hooks `class` defines: the hook, or any of them.
    fn dispatched(&self, class: &str, method: &str, bases: &[String], rules: &RuleSet) -> Option<Resolution> {
        for base in bases {
            let Some(hooks) = rules.dispatch.get(&(base.clone(), method.to_owned())) else { continue };
            let mut owners: Vec<String> = hooks
                .iter()
                .filter_map(|hook| self.find_method(class, hook, false).map(|(owner, _)| format!("{owner}.{hook}")))
                .collect();
            match owners.len() {
                0 => {}
                1 => return Some(Resolution::Function(owners.remove(0))),
                _ => return Some(Resolution::AnyOf(owners)),
            }
        }
        None
    }

    pub(super) fn resolve_method(&self, class: &str, method: &str, skip_self: bool, rules: &RuleSet) -> Resolution {
        if let Some((owner, function)) = self.find_method(class, method, skip_self) {
            // An abstract method runs one of the overrides below `class`.
            if function.is_abstract && !skip_self {
                let overrides = self.concrete_overrides(class, method);
                if !overrides.is_empty() {
                    return Resolution::AllOf(overrides);
                }
            }
            return Resolution::Function(format!("{owner}.{method}"));
        }
        if self.is_model(class, rules) && rules.instance_methods.contains_key(method) {
            return Resolution::Database(format!("`.{method}()` on a model instance"));
        }
        // `self.count()` in a `QuerySet` subclass whose base the module's
        // own summary could not see.
        if rules.orm.evaluating.contains(method) && self.orm_class(class, rules).is_some() {
            return Resolution::Database(format!("`.{method}()` on a QuerySet"));
        }
        let mro = self.mro(class);
        let bases = if skip_self { &mro[1.min(mro.len())..] } else { &mro[..] };
        for base in bases {
            if rules.callables.get(&format!("{base}.{method}")).is_some_and(|callable| callable.site) {
                return Resolution::Database(format!("`{}.{method}`", short(base)));
            }
        }
        if let Some(dispatched) = self.dispatched(class, method, bases, rules) {
            return dispatched;
        }
        // A mixin calling what the classes it is mixed into define.
        if !skip_self {
            let mut owners: Vec<String> = ProjectFacts::subclasses(self, class)
                .iter()
                .filter_map(|subclass| self.find_method(subclass, method, false))
                .map(|(owner, _)| format!("{owner}.{method}"))
                .collect();
            owners.sort();
            owners.dedup();
            if !owners.is_empty() {
                return Resolution::AllOf(owners);
            }
            // `self.save()` in a mixin that only models use: Django's.
            if rules.instance_methods.contains_key(method) && self.mixed_into_models(class, rules).is_some() {
                return Resolution::Database(format!("`.{method}()` on the models it is mixed into"));
            }
        }
        Resolution::Nothing
    }

    /// The methods that run for `method` on the project subclasses of
    /// `class`, where its own is abstract: each subclass's, abstract ones
    /// (an intermediate base's) left out, by qualified name.
    fn concrete_overrides(&self, class: &str, method: &str) -> Vec<String> {
        let mut owners: Vec<String> = ProjectFacts::subclasses(self, class)
            .iter()
            .filter_map(|subclass| self.find_method(subclass, method, false))
            .filter(|(_, function)| !function.is_abstract)
            .map(|(owner, _)| format!("{owner}.{method}"))
            .collect();
        owners.sort();
        owners.dedup();
        owners
    }
}
