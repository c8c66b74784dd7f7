//! The libraries' vocabularies: `[orm]` (Django) and `[sqlalchemy]`, each
//! declared by one recipe.

use toml::Spanned;

use super::raw;
use super::validate::{Loader, check_class_name, check_dotted, check_identifier};
use super::{AsyncTwin, RecipeError, RelationKind, RuleId, RuleSet, SessionVerb};

impl RuleSet {
    /// The `[orm]` table: one recipe declares the ORM's vocabulary.
    pub(super) fn add_orm(
        &mut self,
        loader: &Loader<'_>,
        orm: &raw::RawOrm,
        code: &Spanned<String>,
        rule: RuleId,
    ) -> Result<(), RecipeError> {
        if let Some(previous) = self.orm.rule {
            return Err(loader.spanned_error(
                code,
                format!("an `[orm]` table is already declared by {}", self.rules[previous.0].origin),
            ));
        }
        self.orm.rule = Some(rule);
        for manager in &orm.managers {
            check_identifier(loader, manager)?;
            self.orm.managers.insert(manager.get_ref().clone());
        }
        for factory in &orm.model_factories {
            check_dotted(loader, factory, false)?;
            self.orm.model_factories.insert(factory.get_ref().clone());
        }
        for module in &orm.field_modules {
            check_dotted(loader, module, false)?;
            self.orm.field_modules.push(module.get_ref().clone());
        }
        for function in &orm.model_loaders {
            check_dotted(loader, function, false)?;
            self.orm.model_loaders.insert(function.get_ref().clone());
        }
        for method in &orm.lazy {
            check_identifier(loader, method)?;
            self.orm.lazy.insert(method.get_ref().clone());
        }
        for method in &orm.evaluating {
            check_identifier(loader, method)?;
            if self.orm.lazy.contains(method.get_ref()) {
                return Err(loader
                    .spanned_error(method, format!("`{}` is listed as both lazy and evaluating", method.get_ref())));
            }
            self.orm.evaluating.insert(method.get_ref().clone());
        }
        // What an evaluating method returns: one instance, or `(instance, created)`.
        for (methods, returning) in
            [(&orm.fetching, &mut self.orm.fetching), (&orm.fetching_pairs, &mut self.orm.fetching_pairs)]
        {
            for method in methods {
                check_identifier(loader, method)?;
                if !self.orm.evaluating.contains(method.get_ref()) {
                    return Err(loader
                        .spanned_error(method, format!("`{}` must also be listed as evaluating", method.get_ref())));
                }
                returning.insert(method.get_ref().clone());
            }
        }
        for base in &orm.model_bases {
            check_dotted(loader, base, false)?;
            self.orm.model_bases.insert(base.get_ref().clone());
        }
        for twin in &orm.async_twins {
            let known = self.orm.evaluating.contains(twin.sync.get_ref());
            let since = self.add_twin(loader, rule, twin, known, |sync| {
                format!("`{sync}` must be listed as evaluating to have an async twin")
            })?;
            let entry = AsyncTwin { sync: twin.sync.get_ref().clone(), since };
            self.orm.async_twins.insert(twin.r#async.get_ref().clone(), entry);
        }
        for (names, classes) in [
            (&orm.queryset_classes, &mut self.orm.queryset_classes),
            (&orm.manager_classes, &mut self.orm.manager_classes),
        ] {
            for name in names {
                check_class_name(loader, name)?;
                classes.insert(name.get_ref().clone());
            }
        }
        if let Some(fields) = &orm.relation_fields {
            for (names, kind) in [
                (&fields.foreign_key, RelationKind::ForeignKey),
                (&fields.one_to_one, RelationKind::OneToOne),
                (&fields.many_to_many, RelationKind::ManyToMany),
            ] {
                for name in names {
                    check_dotted(loader, name, false)?;
                    self.orm.relation_fields.insert(name.get_ref().clone(), kind);
                }
            }
            for default in &fields.default_targets {
                check_dotted(loader, &default.to, false)?;
                if !self.orm.relation_fields.contains_key(default.field.get_ref()) {
                    return Err(loader.spanned_error(
                        &default.field,
                        format!(
                            "`{}` must be listed as a relation field to have a default target",
                            default.field.get_ref()
                        ),
                    ));
                }
                self.orm.default_targets.insert(default.field.get_ref().clone(), default.to.get_ref().clone());
            }
        }
        Ok(())
    }

    /// The `[[callable]]` entries, each name (times each member) one callable.
    /// `[sqlalchemy]`: result methods, loader options and strategies; one
    /// recipe declares them, as `[orm]` for Django.
    pub(super) fn add_sqlalchemy(&mut self, loader: &Loader<'_>, raw: &raw::RawSqlAlchemy) -> Result<(), RecipeError> {
        let lists = [&raw.result_one, &raw.result_many, &raw.eager_options, &raw.eager_strategies];
        for name in lists.into_iter().flatten() {
            check_identifier(loader, name)?;
        }
        let session = &raw.session;
        let verbs = [
            (&session.execute, SessionVerb::Execute),
            (&session.scalar, SessionVerb::Scalar),
            (&session.scalars, SessionVerb::Scalars),
            (&session.get, SessionVerb::Get),
            (&session.add, SessionVerb::Add),
            (&session.flush, SessionVerb::Flush),
            (&session.commit, SessionVerb::Commit),
            (&session.rollback, SessionVerb::Rollback),
            (&session.refresh, SessionVerb::Refresh),
            (&session.delete, SessionVerb::Delete),
        ];
        for (names, verb) in verbs {
            for name in names {
                check_identifier(loader, name)?;
                if self.sqlalchemy.session.insert(name.get_ref().clone(), verb).is_some_and(|known| known != verb) {
                    return Err(loader.spanned_error(name, "this session method already has another behaviour"));
                }
            }
        }
        let vocabulary = &mut self.sqlalchemy;
        vocabulary.result_one.extend(raw.result_one.iter().map(|name| name.get_ref().clone()));
        vocabulary.result_many.extend(raw.result_many.iter().map(|name| name.get_ref().clone()));
        vocabulary.eager_options.extend(raw.eager_options.iter().map(|name| name.get_ref().clone()));
        vocabulary.eager_strategies.extend(raw.eager_strategies.iter().map(|name| name.get_ref().clone()));
        Ok(())
    }
}
