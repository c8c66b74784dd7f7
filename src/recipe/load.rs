//! Validating one raw recipe into the [`RuleSet`]: its names, message and
//! wrapper, then each table it declares.

use toml::Spanned;

use super::raw::{self, RawApplicability, RawMatcher, RawRecipe};
use super::validate::{
    Loader, check_dotted, check_identifier, check_placeholders, check_version, is_identifier, matcher_name, rewrite_for,
};
use super::{
    Callable, EntryRules, LibraryField, LibraryModel, META_MODEL, RecipeError, RelationKind, ReturnedFrom, Rule,
    RuleId, RuleSet, TagId, Twin, Wrapper,
};
use crate::fix::Applicability;

impl RuleSet {
    pub(super) fn add_raw(&mut self, loader: &Loader<'_>, raw: RawRecipe) -> Result<RuleId, RecipeError> {
        self.check_names(loader, &raw)?;
        check_placeholders(loader, &raw.message)?;
        if let Some(message) = &raw.raise_message {
            check_placeholders(loader, message)?;
        }
        let wrapper = match &raw.wrapper {
            Some(wrapper) => {
                check_dotted(loader, &wrapper.module, false)?;
                check_identifier(loader, &wrapper.name)?;
                Some(Wrapper::new(wrapper.module.get_ref(), wrapper.name.get_ref()))
            }
            None => None,
        };
        for app in &raw.installed_apps {
            check_dotted(loader, app, false)?;
        }
        let rule = RuleId(self.rules.len());
        if let Some(wrapper) = &wrapper {
            self.wrappers.insert(wrapper.qualified_name());
        }
        if let Some(orm) = &raw.orm {
            self.add_orm(loader, orm, &raw.code, rule)?;
        }
        self.add_callables(loader, &raw.callable, rule)?;
        self.add_receivers(loader, &raw, rule)?;
        self.add_method_twins(loader, &raw, rule)?;
        self.add_fixtures(loader, &raw.fixture)?;
        let matcher = raw.matcher.as_ref().map(|matcher| *matcher.get_ref());
        if let Some(spanned) = &raw.matcher {
            let slot = match matcher {
                Some(RawMatcher::ProjectHelpers) => Some(&mut self.project_helpers),
                Some(RawMatcher::LazyRelation) => Some(&mut self.lazy_relation),
                Some(RawMatcher::ImplicitEvaluation) => Some(&mut self.implicit_evaluation),
                Some(RawMatcher::SqlalchemyLazyLoad) => Some(&mut self.sqlalchemy_lazy_load),
                Some(RawMatcher::SqlalchemyExpired) => Some(&mut self.sqlalchemy_expired),
                Some(RawMatcher::NativeMigration) => Some(&mut self.native_migration),
                Some(RawMatcher::AsyncToSync) => Some(&mut self.async_to_sync),
                Some(RawMatcher::LazyRequestUser) => Some(&mut self.lazy_request_user),
                Some(RawMatcher::TemplateRender) => Some(&mut self.template_render),
                // Its sites are the `[model-instance]` entries, which any recipe may add.
                Some(RawMatcher::ModelInstance) | None => None,
            };
            if let Some(slot) = slot {
                if let Some(owner) = *slot {
                    return Err(loader.spanned_error(
                        spanned,
                        format!(
                            "`matcher = \"{}\"` is already declared by {} ({}): one recipe owns a matcher",
                            matcher_name(*spanned.get_ref()),
                            self.rules[owner.0].code,
                            self.rules[owner.0].origin
                        ),
                    ));
                }
                *slot = Some(rule);
            }
        }
        self.add_dispatch(loader, &raw.dispatch)?;
        if let Some(vocabulary) = &raw.sqlalchemy {
            self.add_sqlalchemy(loader, vocabulary)?;
        }
        self.add_kind_lists(loader, &raw, rule)?;
        self.add_models(loader, &raw.model)?;
        if matches_nothing(&raw) {
            return Err(loader.spanned_error(
                &raw.code,
                "the recipe matches nothing: add `[orm]`, `[[callable]]`, `[[method]]`, `[[attribute]]`, \
                 `[[dispatch]]`, `[[fixture]]`, `[model-instance]`, `[implicit-evaluation]`, `[async-to-sync]`, `[lazy-request-user]`, `[template-render]`, `[[model]]` or a `matcher`",
            ));
        }
        let rewrite = rewrite_for(loader, matcher, raw.rewrite.as_ref())?;
        self.rules.push(Rule {
            code: raw.code.get_ref().clone(),
            name: raw.name.get_ref().clone(),
            summary: raw.summary.trim().to_owned(),
            message: raw.message.into_inner(),
            raise_message: raw.raise_message.map(Spanned::into_inner),
            doc: raw.doc.trim().to_owned(),
            applicability: match raw.applicability {
                Some(RawApplicability::Unsafe) => Applicability::Unsafe,
                Some(RawApplicability::Safe) | None => Applicability::Safe,
            },
            rewrite,
            wrapper,
            resource: raw.resource.clone(),
            installed_apps: raw.installed_apps.iter().map(|app| app.get_ref().clone()).collect(),
            origin: loader.path.to_owned(),
        });
        Ok(rule)
    }

    /// `code` and `name`: well formed, and the code not taken.
    pub(super) fn check_names(&self, loader: &Loader<'_>, raw: &RawRecipe) -> Result<(), RecipeError> {
        let code = raw.code.get_ref();
        let valid_code = code.len() >= 2
            && code.starts_with(|c: char| c.is_ascii_uppercase())
            && code.trim_start_matches(|c: char| c.is_ascii_uppercase()).chars().all(|c| c.is_ascii_digit())
            && code.ends_with(|c: char| c.is_ascii_digit());
        if !valid_code {
            return Err(loader.spanned_error(
                &raw.code,
                format!("rule code `{code}` must be capital letters then digits, like `DJ001`"),
            ));
        }
        if let Some(other) = self.rules.iter().find(|rule| &rule.code == code) {
            return Err(
                loader.spanned_error(&raw.code, format!("rule code `{code}` is already used by {}", other.origin))
            );
        }
        let name = raw.name.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(loader.spanned_error(
                &raw.name,
                format!("rule name `{name}` must be kebab-case, like `django-cache-in-async`"),
            ));
        }
        Ok(())
    }

    pub(super) fn add_callables(
        &mut self,
        loader: &Loader<'_>,
        callables: &[raw::RawCallable],
        rule: RuleId,
    ) -> Result<(), RecipeError> {
        for callable in callables {
            let returns = callable.returns.as_ref().map(|tag| self.tag(loader, tag)).transpose()?;
            if callable.names.get_ref().is_empty() {
                return Err(loader.spanned_error(&callable.names, "a `[[callable]]` entry needs at least one name"));
            }
            for name in callable.names.get_ref() {
                check_dotted(loader, name, true)?;
            }
            for member in &callable.members {
                check_identifier(loader, member)?;
            }
            let full_names: Vec<String> = if callable.members.is_empty() {
                callable.names.get_ref().iter().map(|name| name.get_ref().clone()).collect()
            } else {
                callable
                    .names
                    .get_ref()
                    .iter()
                    .flat_map(|name| {
                        callable.members.iter().map(move |member| format!("{}.{}", name.get_ref(), member.get_ref()))
                    })
                    .collect()
            };
            for twin in &callable.async_twins {
                // `sync` is the last part of some of the full names: each gets its twin.
                let sync = twin.sync.get_ref();
                let twinned: Vec<&String> =
                    full_names.iter().filter(|name| name.rsplit('.').next() == Some(sync.as_str())).collect();
                self.add_twin_as(loader, rule, twin, !twinned.is_empty(), TwinOwner::Callable, |sync| {
                    format!("`{sync}` is none of this entry's callables")
                })?;
                let index = self.twins.len() - 1;
                for name in twinned {
                    let prefix = name.rsplit_once('.').map_or(String::new(), |(owner, _)| format!("{owner}."));
                    self.callable_twins.insert(format!("{prefix}{}", twin.r#async.get_ref()), name.clone());
                    self.sync_twins.insert(name.clone(), index);
                }
            }
            let returned = match returned_from(loader, callable)? {
                Some(from) => {
                    self.returned_from.push(from);
                    Some(self.returned_from.len() - 1)
                }
                None => None,
            };
            if let Some(items) = &callable.items {
                check_dotted(loader, items, true)?;
                for name in &full_names {
                    self.callable_items.insert(name.clone(), items.get_ref().clone());
                }
            }
            for full_name in full_names {
                let entry = Callable {
                    rule,
                    returns,
                    with_only: callable.with_only,
                    site: callable.site,
                    returns_from: returned,
                };
                self.callables.insert(full_name, entry);
            }
        }
        Ok(())
    }

    /// `[[method]]` entries' async twins (listed by `explain`; an attribute
    /// has none).
    pub(super) fn add_method_twins(
        &mut self,
        loader: &Loader<'_>,
        raw: &RawRecipe,
        rule: RuleId,
    ) -> Result<(), RecipeError> {
        if let Some(twin) = raw.attribute.iter().flat_map(|entry| &entry.async_twins).next() {
            return Err(loader.spanned_error(&twin.sync, "an `[[attribute]]` has no async twin"));
        }
        for entry in &raw.method {
            // Checked by `add_receivers`, which runs first.
            let tag = self.tags.iter().position(|tag| tag == entry.receiver.get_ref()).map(TagId);
            for twin in &entry.async_twins {
                let known = entry.names.iter().any(|name| name.get_ref() == twin.sync.get_ref());
                self.add_twin_as(loader, rule, twin, known, TwinOwner::Method, |sync| {
                    format!("`{sync}` is none of this entry's names")
                })?;
                if let Some(tag) = tag {
                    self.method_twins.insert((tag, twin.sync.get_ref().clone()), self.twins.len() - 1);
                }
            }
        }
        Ok(())
    }

    /// One async twin, validated (`known`: its `sync` names something the
    /// entry declares, else `unknown(sync)` is the error) and listed for
    /// `explain`; its `since`.
    pub(super) fn add_twin(
        &mut self,
        loader: &Loader<'_>,
        rule: RuleId,
        twin: &raw::RawTwin,
        known: bool,
        unknown: impl FnOnce(&str) -> String,
    ) -> Result<Option<String>, RecipeError> {
        self.add_twin_as(loader, rule, twin, known, TwinOwner::Vocabulary, unknown)
    }

    /// [`Self::add_twin`], for an entry whose twins may say more: a
    /// `[[method]]`'s may live on a sibling `receiver` and restrict its
    /// `keywords`; a `[[callable]]`'s may restrict its `keywords` (a
    /// constructor switched with such methods: `Client()` -> `AsyncClient()`).
    pub(super) fn add_twin_as(
        &mut self,
        loader: &Loader<'_>,
        rule: RuleId,
        twin: &raw::RawTwin,
        known: bool,
        owner: TwinOwner,
        unknown: impl FnOnce(&str) -> String,
    ) -> Result<Option<String>, RecipeError> {
        check_identifier(loader, &twin.sync)?;
        check_identifier(loader, &twin.r#async)?;
        if !known {
            return Err(loader.spanned_error(&twin.sync, unknown(twin.sync.get_ref())));
        }
        let since = twin.since.as_ref().map(|since| check_version(loader, since)).transpose()?;
        if let Some(receiver) = &twin.receiver {
            if owner != TwinOwner::Method {
                return Err(loader.spanned_error(receiver, "only a `[[method]]` twin has a `receiver`"));
            }
            check_identifier(loader, receiver)?;
        }
        if let Some(keywords) = &twin.keywords {
            if twin.receiver.is_none() && owner != TwinOwner::Callable {
                let first = keywords.first().map_or(&twin.sync, |keyword| keyword);
                return Err(loader.spanned_error(
                    first,
                    "`keywords` restricts a `[[callable]]` twin or a `[[method]]` twin with a `receiver`",
                ));
            }
            for keyword in keywords {
                check_identifier(loader, keyword)?;
            }
        }
        self.twins.push(Twin {
            rule,
            sync: twin.sync.get_ref().clone(),
            name: twin.r#async.get_ref().clone(),
            since: since.clone(),
            receiver: twin.receiver.as_ref().map(|receiver| receiver.get_ref().clone()),
            keywords: twin.keywords.as_ref().map(|keywords| keywords.iter().map(|k| k.get_ref().clone()).collect()),
        });
        Ok(since)
    }

    /// `[template-render]`: the renderers with their parameters, and the
    /// context processors that hand templates the lazy user.
    fn add_template_render(&mut self, loader: &Loader<'_>, kind: &raw::RawTemplateRender) -> Result<(), RecipeError> {
        for renderer in &kind.renderers {
            check_dotted(loader, &renderer.name, false)?;
            for parameter in &renderer.parameters {
                check_identifier(loader, parameter)?;
            }
            let parameters: Vec<String> = renderer.parameters.iter().map(|p| p.get_ref().clone()).collect();
            if !parameters.iter().any(|parameter| parameter == "template_name") {
                return Err(loader.spanned_error(
                    &renderer.name,
                    "a renderer's `parameters` name its `template_name` (and `request`, `context` where it takes them)",
                ));
            }
            self.renderers.insert(renderer.name.get_ref().clone(), parameters);
        }
        for processor in &kind.user_processors {
            check_dotted(loader, &processor.name, false)?;
            for variable in &processor.variables {
                check_dotted(loader, variable, false)?;
            }
            let variables = processor.variables.iter().map(|v| v.get_ref().clone()).collect();
            self.user_processors.insert(processor.name.get_ref().clone(), variables);
        }
        Ok(())
    }

    /// `[[dispatch]]`: a library base's methods that run a subclass's hook.
    pub(super) fn add_dispatch(
        &mut self,
        loader: &Loader<'_>,
        entries: &[raw::RawDispatch],
    ) -> Result<(), RecipeError> {
        for dispatch in entries {
            check_dotted(loader, &dispatch.base, false)?;
            check_identifier(loader, &dispatch.runs)?;
            if dispatch.calls.is_empty() {
                return Err(
                    loader.spanned_error(&dispatch.base, "a `[[dispatch]]` entry needs at least one of `calls`")
                );
            }
            for call in &dispatch.calls {
                check_identifier(loader, call)?;
                let key = (dispatch.base.get_ref().clone(), call.get_ref().clone());
                // Entries sharing a method add hooks: `save` runs `create` or `update`.
                let hooks = self.dispatch.entry(key).or_default();
                if !hooks.contains(dispatch.runs.get_ref()) {
                    hooks.push(dispatch.runs.get_ref().clone());
                }
            }
        }
        Ok(())
    }

    /// The `[model-instance]` and `[implicit-evaluation]` entries, each
    /// reported under `rule`; format 1's top-level lists are rejected with
    /// how to convert them.
    pub(super) fn add_kind_lists(
        &mut self,
        loader: &Loader<'_>,
        raw: &RawRecipe,
        rule: RuleId,
    ) -> Result<(), RecipeError> {
        let moved = [
            (&raw.instance_methods, "instance-methods", "model-instance"),
            (&raw.related_manager_methods, "related-manager-methods", "model-instance"),
            (&raw.evaluating_functions, "evaluating-functions", "implicit-evaluation"),
        ];
        for (value, key, table) in moved {
            if let Some(value) = value {
                return Err(loader.spanned_error(
                    value,
                    format!(
                        "recipe format 2 moved `{key}` into a `[{table}]` table: write `[{table}]` on a line of \
                         its own, then `{key} = [...]` under it"
                    ),
                ));
            }
        }
        if let Some(kind) = &raw.model_instance {
            for twin in &kind.async_twins {
                let sync = twin.sync.get_ref();
                let known = kind
                    .instance_methods
                    .iter()
                    .chain(&kind.related_manager_methods)
                    .any(|name| name.get_ref() == sync);
                self.add_twin(loader, rule, twin, known, |sync| {
                    format!("`{sync}` is none of this table's instance or related-manager methods")
                })?;
            }
        }
        if let Some(kind) = &raw.lazy_request_user {
            for prefix in &kind.authenticated_in {
                check_dotted(loader, prefix, false)?;
                self.authenticated_in.push(prefix.get_ref().clone());
            }
            for twin in &kind.async_twins {
                let known = twin.sync.get_ref() == "user";
                self.add_twin(loader, rule, twin, known, |sync| {
                    format!("`{sync}` is not `user`, the request attribute this table describes")
                })?;
                self.request_user_twin = Some(self.twins.len() - 1);
            }
        }
        if let Some(kind) = &raw.template_render {
            self.add_template_render(loader, kind)?;
        }
        let mut lists: Vec<(&Vec<Spanned<String>>, &mut EntryRules)> = Vec::new();
        if let Some(kind) = &raw.model_instance {
            lists.push((&kind.instance_methods, &mut self.instance_methods));
            lists.push((&kind.related_manager_methods, &mut self.related_manager_methods));
        }
        if let Some(kind) = &raw.implicit_evaluation {
            lists.push((&kind.evaluating_functions, &mut self.evaluating_functions));
        }
        if let Some(kind) = &raw.async_to_sync {
            for driver in &kind.drivers {
                check_dotted(loader, driver, false)?;
                self.async_drivers.insert(driver.get_ref().clone());
            }
        }
        for (names, table) in lists {
            for name in names {
                check_identifier(loader, name)?;
                table.insert(name.get_ref().clone(), rule);
            }
        }
        Ok(())
    }

    /// The `[[model]]` entries: library models, their bases and relation fields.
    pub(super) fn add_models(&mut self, loader: &Loader<'_>, models: &[raw::RawModel]) -> Result<(), RecipeError> {
        for model in models {
            check_dotted(loader, &model.class, false)?;
            let class = model.class.get_ref();
            if let Some(origin) = self.library_model_origins.get(class) {
                return Err(
                    loader.spanned_error(&model.class, format!("model `{class}` is already declared by {origin}"))
                );
            }
            let mut declared = LibraryModel { is_abstract: model.r#abstract, ..LibraryModel::default() };
            for base in &model.bases {
                check_dotted(loader, base, false)?;
                declared.bases.push(base.get_ref().clone());
            }
            for field in &model.fields {
                check_identifier(loader, &field.name)?;
                if declared.fields.iter().any(|known| &known.name == field.name.get_ref()) {
                    return Err(loader.spanned_error(
                        &field.name,
                        format!("field `{}` is declared twice on `{class}`", field.name.get_ref()),
                    ));
                }
                check_dotted(loader, &field.to, false)?;
                if let Some(related_name) = &field.related_name
                    && related_name.get_ref() != "+"
                    && !is_identifier(related_name.get_ref().strip_suffix('+').unwrap_or(related_name.get_ref()))
                {
                    return Err(loader.spanned_error(
                        related_name,
                        format!(
                            "`related-name` `{}` must be a Python identifier, optionally ending in `+`",
                            related_name.get_ref()
                        ),
                    ));
                }
                declared.fields.push(LibraryField {
                    name: field.name.get_ref().clone(),
                    kind: match field.kind {
                        raw::RawRelationKind::ForeignKey => RelationKind::ForeignKey,
                        raw::RawRelationKind::OneToOne => RelationKind::OneToOne,
                        raw::RawRelationKind::ManyToMany => RelationKind::ManyToMany,
                    },
                    to: field.to.get_ref().clone(),
                    related_name: field.related_name.as_ref().map(|name| name.get_ref().clone()),
                });
            }
            self.library_model_origins.insert(class.clone(), loader.path.to_owned());
            self.library_models.insert(class.clone(), declared);
        }
        Ok(())
    }

    /// `[[method]]` and `[[attribute]]`: names on values a callable tagged.
    fn add_receivers(&mut self, loader: &Loader<'_>, raw: &RawRecipe, rule: RuleId) -> Result<(), RecipeError> {
        for (entries, table) in [(&raw.method, &mut self.methods), (&raw.attribute, &mut self.attributes)] {
            for entry in entries {
                let Some(tag) = self.tags.iter().position(|tag| tag == entry.receiver.get_ref()) else {
                    return Err(loader.spanned_error(
                        &entry.receiver,
                        format!(
                            "receiver `{}` is not returned by any `[[callable]]` loaded so far",
                            entry.receiver.get_ref()
                        ),
                    ));
                };
                for name in &entry.names {
                    check_identifier(loader, name)?;
                    table.insert((TagId(tag), name.get_ref().clone()), rule);
                    if let Some(io) = entry.queries_when {
                        let io = match io {
                            raw::RawModelIo::ModelValidation => super::ModelIo::Validation,
                            raw::RawModelIo::ModelRepresentation => super::ModelIo::Representation,
                        };
                        self.queries_when.insert((TagId(tag), name.get_ref().clone()), io);
                    }
                }
            }
        }
        if let Some(unless) = raw.attribute.iter().flat_map(|entry| &entry.unless).next() {
            return Err(loader.spanned_error(unless, "an `[[attribute]]` is read, not called: it has no `unless`"));
        }
        for entry in &raw.method {
            let Some(tag) = self.tags.iter().position(|tag| tag == entry.receiver.get_ref()) else { continue };
            for unless in &entry.unless {
                let (keyword, value) = unless
                    .get_ref()
                    .split_once('=')
                    .map(|(keyword, value)| (keyword.trim(), value.trim()))
                    .filter(|(keyword, value)| is_identifier(keyword) && !value.is_empty())
                    .ok_or_else(|| {
                        loader.spanned_error(unless, "`unless` entries are keyword arguments: `name=value`")
                    })?;
                for name in &entry.names {
                    self.method_exemptions
                        .entry((TagId(tag), name.get_ref().clone()))
                        .or_default()
                        .push((keyword.to_owned(), value.to_owned()));
                }
            }
        }
        Ok(())
    }

    /// `[[fixture]]`: pytest fixtures by name, to the tag of their value.
    fn add_fixtures(&mut self, loader: &Loader<'_>, fixtures: &[raw::RawFixture]) -> Result<(), RecipeError> {
        for fixture in fixtures {
            let tag = self.tag(loader, &fixture.returns)?;
            for name in &fixture.names {
                check_identifier(loader, name)?;
                self.fixtures.insert(name.get_ref().clone(), tag);
            }
        }
        Ok(())
    }

    pub(super) fn tag(&mut self, loader: &Loader<'_>, tag: &Spanned<String>) -> Result<TagId, RecipeError> {
        let name = tag.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(loader.spanned_error(tag, format!("tag `{name}` must be letters, digits, `-` or `_`")));
        }
        if let Some(index) = self.tags.iter().position(|known| known == name) {
            return Ok(TagId(index));
        }
        self.tags.push(name.clone());
        Ok(TagId(self.tags.len() - 1))
    }
}

/// Which kind of entry declares a twin: what else the twin may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TwinOwner {
    /// `[orm]`, `[model-instance]`, `[lazy-request-user]`: a name and a version.
    Vocabulary,
    /// `[[callable]]`: also `keywords`.
    Callable,
    /// `[[method]]`: also `receiver`, and `keywords` with it.
    Method,
}

/// What a `[[callable]]` entry says its call returns, from an argument or
/// from an attribute of its receiver: at most one of the four keys.
fn returned_from(loader: &Loader<'_>, callable: &raw::RawCallable) -> Result<Option<ReturnedFrom>, RecipeError> {
    let from_argument = match (&callable.returns_model_of_argument, &callable.returns_list_of_argument) {
        (Some(_), Some(other)) => {
            return Err(loader.spanned_error(other, "a callable returns one object or a list, not both"));
        }
        (Some(position), None) => Some(ReturnedFrom::ModelOfArgument { position: *position.get_ref(), many: false }),
        (None, Some(position)) => Some(ReturnedFrom::ModelOfArgument { position: *position.get_ref(), many: true }),
        (None, None) => None,
    };
    let attribute_keys = [&callable.returns_instance_of, &callable.returns_model_of, &callable.returns_saved_model_of];
    let mut given = attribute_keys.into_iter().flatten();
    let from_attribute = given.next();
    if let Some(other) = given.next() {
        return Err(loader.spanned_error(
            other,
            "a callable returns an instance of one attribute's class, of its model or of the model it saves, not two",
        ));
    }
    if let Some(from_argument) = from_argument {
        if let Some(attribute) = from_attribute {
            return Err(loader.spanned_error(
                attribute,
                "a callable returns what an argument names or what an attribute holds, not both",
            ));
        }
        return Ok(Some(from_argument));
    }
    let Some(attribute) = from_attribute else { return Ok(None) };
    if callable.returns_saved_model_of.is_some() && attribute.get_ref().contains('.') {
        if attribute.get_ref() != META_MODEL {
            return Err(loader.spanned_error(
                attribute,
                format!("`{}` is neither an attribute name nor `{META_MODEL}`", attribute.get_ref()),
            ));
        }
        return Ok(Some(ReturnedFrom::SavedModelOf(META_MODEL.to_owned())));
    }
    check_identifier(loader, attribute)?;
    let attribute = attribute.get_ref().clone();
    if callable.returns_saved_model_of.is_some() {
        return Ok(Some(ReturnedFrom::SavedModelOf(attribute)));
    }
    if callable.returns_model_of.is_some() {
        return Ok(Some(ReturnedFrom::ModelOf(attribute)));
    }
    let getter = match &callable.class_getter {
        Some(getter) => {
            check_identifier(loader, getter)?;
            Some(getter.get_ref().clone())
        }
        None => None,
    };
    Ok(Some(ReturnedFrom::InstanceOf { attribute, getter }))
}

/// A recipe with no table and no matcher: it would report nothing.
fn matches_nothing(raw: &RawRecipe) -> bool {
    raw.orm.is_none()
        && raw.callable.is_empty()
        && raw.method.is_empty()
        && raw.attribute.is_empty()
        && raw.dispatch.is_empty()
        && raw.fixture.is_empty()
        && raw.sqlalchemy.is_none()
        && raw.matcher.is_none()
        && raw.model_instance.is_none()
        && raw.implicit_evaluation.is_none()
        && raw.async_to_sync.is_none()
        && raw.lazy_request_user.is_none()
        && raw.template_render.is_none()
        && raw.model.is_empty()
}
