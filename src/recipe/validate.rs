//! Checks on recipe values: names, placeholders, which rewrite a kind of
//! rule takes; each error points at the value with file, line and column.

use toml::Spanned;

use super::raw::{RawMatcher, RawRewrite};
use super::{RecipeError, Rewrite};
use crate::fix::SqlAlchemyFix;
use crate::source::Locator;

/// The placeholders a message may use.
const PLACEHOLDERS: [&str; 5] = ["callee", "method", "wrapper", "via", "resource"];

pub(super) struct Loader<'a> {
    pub(super) path: &'a str,
    pub(super) locator: Locator<'a>,
}

impl Loader<'_> {
    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> RecipeError {
        let (line, column) = self.locator.line_col(offset);
        RecipeError { path: self.path.to_owned(), line, column, message: message.into() }
    }

    pub(super) fn spanned_error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> RecipeError {
        self.error(value.span().start, message)
    }
}

/// The validated `rewrite`: each kind of matcher takes the styles it can
/// apply; a style it cannot is an error, never ignored.
pub(super) fn rewrite_for(
    loader: &Loader<'_>,
    matcher: Option<RawMatcher>,
    rewrite: Option<&Spanned<RawRewrite>>,
) -> Result<Rewrite, RecipeError> {
    let value = rewrite.map(|rewrite| *rewrite.get_ref());
    let (chosen, allowed) = match matcher {
        Some(RawMatcher::SqlalchemyLazyLoad) => (
            match value {
                None | Some(RawRewrite::Explicit) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Explicit)),
                Some(RawRewrite::Selectinload) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Selectinload)),
                Some(RawRewrite::Refresh) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Refresh)),
                Some(RawRewrite::None) => Some(Rewrite::None),
                Some(_) => None,
            },
            "\"explicit\", \"selectinload\", \"refresh\" or \"none\"",
        ),
        Some(RawMatcher::SqlalchemyExpired) => (
            match value {
                None | Some(RawRewrite::Refresh) => Some(Rewrite::SqlAlchemy(SqlAlchemyFix::Refresh)),
                Some(RawRewrite::None) => Some(Rewrite::None),
                Some(_) => None,
            },
            "\"refresh\" or \"none\"",
        ),
        _ => (
            match value {
                None | Some(RawRewrite::Wrap) => Some(Rewrite::Wrap),
                Some(RawRewrite::Lambda) => Some(Rewrite::Lambda),
                Some(RawRewrite::None) => Some(Rewrite::None),
                Some(_) => None,
            },
            "\"wrap\", \"lambda\" or \"none\"",
        ),
    };
    match (chosen, rewrite) {
        (Some(chosen), _) => Ok(chosen),
        (None, Some(rewrite)) => {
            Err(loader.spanned_error(rewrite, format!("this rule's sites take `rewrite` = {allowed}")))
        }
        (None, None) => unreachable!("an absent `rewrite` always has a default"),
    }
}

pub(super) fn matcher_name(matcher: RawMatcher) -> &'static str {
    match matcher {
        RawMatcher::ProjectHelpers => "project-helpers",
        RawMatcher::ModelInstance => "model-instance",
        RawMatcher::LazyRelation => "lazy-relation",
        RawMatcher::ImplicitEvaluation => "implicit-evaluation",
        RawMatcher::SqlalchemyLazyLoad => "sqlalchemy-lazy-load",
        RawMatcher::SqlalchemyExpired => "sqlalchemy-expired",
        RawMatcher::NativeMigration => "native-migration",
        RawMatcher::AsyncToSync => "async-to-sync",
        RawMatcher::LazyRequestUser => "lazy-request-user",
        RawMatcher::TemplateRender => "template-render",
    }
}

pub(super) fn check_placeholders(loader: &Loader<'_>, message: &Spanned<String>) -> Result<(), RecipeError> {
    let text = message.get_ref();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(loader.spanned_error(message, "unclosed `{` in message"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(loader.spanned_error(
                message,
                format!(
                    "unknown placeholder `{{{name}}}` in message; known: {{callee}}, {{method}}, {{wrapper}}, {{via}}, {{resource}}"
                ),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Python's hard keywords: never a name, so never a wrapper, member or method.
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

pub(super) fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&text)
}

pub(super) fn check_identifier(loader: &Loader<'_>, value: &Spanned<String>) -> Result<(), RecipeError> {
    if is_identifier(value.get_ref()) {
        Ok(())
    } else if KEYWORDS.contains(&value.get_ref().as_str()) {
        Err(loader.spanned_error(value, format!("`{}` is a Python keyword, not a name", value.get_ref())))
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a Python identifier", value.get_ref())))
    }
}

/// A class's qualified name; a class defined inside a function has a
/// `<locals>` part after the function's name, as `__qualname__` has it
/// (`django.db.models.fields.related_descriptors.create_reverse_many_to_one_manager.<locals>.RelatedManager`).
pub(super) fn check_class_name(loader: &Loader<'_>, value: &Spanned<String>) -> Result<(), RecipeError> {
    let parts: Vec<&str> = value.get_ref().split('.').collect();
    let valid = parts.len() > 1
        && parts
            .iter()
            .enumerate()
            .all(|(at, part)| is_identifier(part) || (*part == "<locals>" && at > 0 && at + 1 < parts.len()));
    if valid {
        Ok(())
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a qualified class name", value.get_ref())))
    }
}

/// A dotted name such as `django.core.cache.cache`; with `subscripts`, a part
/// may end in `[]` (`django.core.cache.caches[]`).
pub(super) fn check_dotted(loader: &Loader<'_>, value: &Spanned<String>, subscripts: bool) -> Result<(), RecipeError> {
    let valid = value.get_ref().split('.').all(|part| {
        let part = if subscripts { part.trim_end_matches("[]") } else { part };
        is_identifier(part)
    });
    if valid {
        Ok(())
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a dotted Python name", value.get_ref())))
    }
}

/// A Django version: `4.1` or `4.1.4`.
pub(super) fn check_version(loader: &Loader<'_>, value: &Spanned<String>) -> Result<String, RecipeError> {
    let parts: Vec<&str> = value.get_ref().split('.').collect();
    let valid = (2..=3).contains(&parts.len())
        && parts.iter().all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if valid {
        Ok(value.get_ref().clone())
    } else {
        Err(loader.spanned_error(value, format!("`{}` is not a version like `4.1` or `4.1.4`", value.get_ref())))
    }
}
