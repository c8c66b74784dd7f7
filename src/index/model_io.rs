//! Whether a project model form or serializer queries when it validates
//! data or shows an instance, from its `class Meta:`, its declared fields,
//! its hooks and its model's fields. Anything not in sight (a library base
//! of the model, fields that are not a literal list, a hook) means it may.

use super::ProjectIndex;
use crate::infer::Value;
use crate::infer::facts::{ModelIoQueries, ProjectFacts};
use crate::recipe::{META_MODEL, ModelIo, RelationKind};
use crate::summary::{ClassSummary, Selection};

/// Declared form and serializer fields that read and validate a plain value:
/// no lookup, no nested object.
const PLAIN_FIELDS: &[&str] = &[
    "BooleanField",
    "CharField",
    "ChoiceField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "DictField",
    "DurationField",
    "EmailField",
    "FileField",
    "FloatField",
    "HiddenField",
    "ImageField",
    "IntegerField",
    "IPAddressField",
    "JSONField",
    "ListField",
    "MultipleChoiceField",
    "RegexField",
    "SlugField",
    "TimeField",
    "URLField",
    "UUIDField",
];

/// Library model bases whose fields are known: `(class, plain fields,
/// unique fields)`. Their relation fields come from the recipes' `[[model]]`.
const LIBRARY_MODELS: &[(&str, &[&str], &[&str])] = &[
    ("django.db.models.Model", &[], &[]),
    ("django.db.models.base.Model", &[], &[]),
    ("django.contrib.auth.base_user.AbstractBaseUser", &["password", "last_login"], &[]),
    ("django.contrib.auth.models.AbstractBaseUser", &["password", "last_login"], &[]),
    ("django.contrib.auth.models.PermissionsMixin", &["is_superuser", "groups", "user_permissions"], &[]),
    (
        "django.contrib.auth.models.AbstractUser",
        &["username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"],
        &["username"],
    ),
];

impl ProjectIndex {
    pub(super) fn model_io_queries(&self, class: &str, io: ModelIo) -> ModelIoQueries {
        match self.model_io_known_quiet(class, io) {
            Some(true) => ModelIoQueries::No,
            _ if self.model_unseen(class) => ModelIoQueries::Unseen,
            _ => ModelIoQueries::May,
        }
    }

    /// Whether the `Meta.model` of `class` names a module of the project's
    /// own packages that is not there (`from tests.models import X` where
    /// `tests/models.py` is missing): nothing is known of its fields. A
    /// library's model (Django's, an installed app's) is not unseen: it
    /// may query.
    fn model_unseen(&self, class: &str) -> bool {
        let Some(Value::Qualified(model)) = self.instance_attribute(class, META_MODEL) else { return false };
        let Some((module, _)) = model.rsplit_once('.') else { return false };
        let package = module.split('.').next().unwrap_or(module);
        let project_package = self.modules().any(|summary| {
            let name = summary.module.name.as_str();
            name == package || name.strip_prefix(package).is_some_and(|rest| rest.starts_with('.'))
        });
        self.class(&model).is_none() && self.module(module).is_none() && project_package
    }

    /// `Some(true)` when the class provably runs no query for `io`.
    fn model_io_known_quiet(&self, class: &str, io: ModelIo) -> Option<bool> {
        let mro = self.mro(class);
        let own: Vec<&ClassSummary> = mro.iter().filter_map(|name| self.class(name)).collect();
        let meta = &own.iter().find(|summary| summary.meta.present)?.meta;
        let Some(Value::Qualified(model)) = self.instance_attribute(class, META_MODEL) else { return None };
        // Hooks run project code: not judged here.
        let hooks: &[&str] = match io {
            ModelIo::Validation => &["validate", "clean", "to_internal_value", "run_validation"],
            ModelIo::Representation => &["to_representation"],
        };
        if own
            .iter()
            .any(|summary| summary.methods.keys().any(|method| hooks.iter().any(|hook| method.starts_with(hook))))
        {
            return Some(false);
        }
        let mut declared: Vec<(&String, &String)> = own.iter().flat_map(|summary| summary.declared.iter()).collect();
        declared.retain(|(name, _)| !name.starts_with('_'));
        if declared.iter().any(|(_, callee)| !PLAIN_FIELDS.contains(&callee.as_str())) {
            return Some(false);
        }
        let model_mro = self.mro(&model);
        let mut library_fields: Vec<String> = Vec::new();
        let mut library_unique: Vec<String> = Vec::new();
        let mut fields: Vec<&String> = Vec::new();
        let mut unique: Vec<&String> = Vec::new();
        // Forward relations that hold one object: shown by their key.
        let mut single: Vec<&String> = Vec::new();
        for base in model_mro.iter() {
            let Some(summary) = self.class(base) else {
                let (_, plain, unique_here) = LIBRARY_MODELS.iter().find(|(name, ..)| name == base)?;
                library_fields.extend(plain.iter().map(|name| (*name).to_owned()));
                library_unique.extend(unique_here.iter().map(|name| (*name).to_owned()));
                continue;
            };
            fields.extend(&summary.model_fields);
            fields.extend(summary.fields.keys());
            unique.extend(&summary.unique_fields);
            single.extend(summary.fields.iter().filter_map(|(name, field)| {
                matches!(field.kind, RelationKind::ForeignKey | RelationKind::OneToOne).then_some(name)
            }));
            let validation_hook = ["clean", "validate_unique", "validate_constraints"]
                .iter()
                .any(|hook| summary.methods.contains_key(*hook));
            if io == ModelIo::Validation && (summary.meta.unique_together || validation_hook) {
                return Some(false);
            }
        }
        fields.extend(&library_fields);
        unique.extend(&library_unique);
        let selected: Vec<&String> = match &meta.fields {
            Selection::All => fields.clone(),
            Selection::Names(names) => names.iter().collect(),
            Selection::Absent if meta.exclude != Selection::Absent => fields.clone(),
            Selection::Absent | Selection::Unknown => return None,
        };
        let excluded: &[String] = match &meta.exclude {
            Selection::Names(names) => names,
            Selection::Absent => &[],
            Selection::All | Selection::Unknown => return None,
        };
        if meta.depth && io == ModelIo::Representation {
            return Some(false);
        }
        for name in selected {
            if excluded.contains(name) || name == "id" || name == "pk" {
                continue;
            }
            // A declared plain field replaces the model's: no unique check, no lookup.
            if declared.iter().any(|(declared, _)| *declared == name) {
                continue;
            }
            let relation = self.relation(&model, name);
            let quiet = match io {
                // A name the model's fields do not show may be a library
                // model's relation: not judged quiet.
                ModelIo::Validation => fields.contains(&name) && relation.is_none() && !unique.contains(&name),
                // A forward relation shows its key, read without a query;
                // many-valued ones, reverse ones and other names (a
                // property) are not judged quiet.
                ModelIo::Representation => single.contains(&name) || (relation.is_none() && fields.contains(&name)),
            };
            if !quiet {
                return Some(false);
            }
        }
        Some(true)
    }
}
