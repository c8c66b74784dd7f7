//! What the user typed ([`crate::cli`]) resolved into the settings every
//! file is checked with: the rules loaded and enabled, the fix options.
//! Built once per run, shared read-only.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::cli::FixStyle;
use crate::config::merge::{Code, Effective, PerFileIgnore, Selection};
use crate::fix::{Applicability, Fix, SqlAlchemyFix, Wrapper};
use crate::recipe::{RuleId, RuleSet};
use crate::target::{DjangoVersion, TargetDjango};

/// What every file is checked against: built once, shared read-only (a
/// file under `per-file-ignores` gets a copy with fewer rules enabled).
#[derive(Clone)]
#[allow(clippy::struct_excessive_bools, reason = "independent switches of one run, each read where it matters")]
pub struct Settings {
    pub rules: Arc<RuleSet>,
    /// Per rule: reported or not (`--select`, `--ignore`).
    pub enabled: Vec<bool>,
    pub unsafe_fixes: bool,
    /// How `SQLAlchemy` lazy loads are rewritten.
    pub sqlalchemy_fix: Option<SqlAlchemyFix>,
    /// Parse whole files, not their skimmed text ([`crate::skim`]): slower,
    /// and the findings must be the same.
    pub full_parse: bool,
    /// Native async rewrites, when the target Django is known (or `--style native`).
    pub native: Option<Native>,
    /// `--style native` given: awaited wrappers with a native twin become
    /// the twin too (DJ110).
    pub migrate: bool,
    /// `wrapper`: the one wrapper every fix uses, whatever the rule or module says.
    pub wrapper: Option<Wrapper>,
    /// `check --report-unused-suppressions`: suppression comments that
    /// suppress nothing are findings too (AF100).
    pub report_unused_suppressions: bool,
}

/// Which native async twins a fix may use.
#[derive(Clone)]
pub struct Native {
    /// The target Django; `None` under `--style native` with no version: every twin.
    pub version: Option<DjangoVersion>,
    /// Each twin's async name and `since`, by its index in `RuleSet::twins`.
    twins: Vec<(String, Option<DjangoVersion>)>,
}

impl Native {
    fn new(rules: &RuleSet, version: Option<DjangoVersion>) -> Self {
        let twins = rules
            .twins
            .iter()
            .map(|twin| (twin.name.clone(), twin.since.as_deref().and_then(|since| since.parse().ok())))
            .collect();
        Self { version, twins }
    }

    /// The async name of twin `index`, when the target has it (and
    /// `at_least`, a version the receiver needs beyond the twin's `since`).
    pub fn twin(&self, index: usize, at_least: Option<DjangoVersion>) -> Option<&str> {
        let (twin, since) = self.twins.get(index)?;
        let needed = (*since).max(at_least);
        needed.is_none_or(|needed| self.has(needed)).then_some(twin.as_str())
    }

    /// Whether the target has what came in `since`.
    pub fn has(&self, since: DjangoVersion) -> bool {
        self.version.is_none_or(|version| version >= since)
    }
}

impl Settings {
    pub fn allows(&self, fix: &Fix) -> bool {
        fix.applicability == Applicability::Safe || self.unsafe_fixes
    }
}

/// The options that are not configuration: how fixes are written and how
/// much is parsed.
pub struct RunOptions {
    pub style: Option<FixStyle>,
    pub full_parse: bool,
    pub report_unused_suppressions: bool,
}

impl Settings {
    /// The settings for `check`, `diff` and `fix`: the selection resolved
    /// against the loaded rules.
    /// `detected`: under `--target-django auto`, the version the projects
    /// of the run allow ([`crate::target::detect`]).
    pub fn new(
        mut rules: RuleSet,
        effective: &Effective,
        run: &RunOptions,
        detected: Option<DjangoVersion>,
    ) -> Result<Self, String> {
        let enabled = select(&rules, &effective.selection)?;
        let target = match effective.target_django {
            TargetDjango::Version(version) => Some(version),
            TargetDjango::Auto => detected,
        };
        let native = match run.style {
            Some(FixStyle::Wrap) => None,
            Some(FixStyle::Native) => Some(Native::new(&rules, target)),
            None => target.map(|version| Native::new(&rules, Some(version))),
        };
        if let Some(wrapper) = &effective.wrapper {
            // Calls already wrapped in it are not sites.
            rules.wrappers.insert(wrapper.qualified_name());
        }
        Ok(Self {
            rules: Arc::new(rules),
            enabled,
            unsafe_fixes: effective.unsafe_fixes,
            sqlalchemy_fix: effective.sqlalchemy_fix,
            full_parse: run.full_parse,
            native,
            migrate: run.style == Some(FixStyle::Native),
            wrapper: effective.wrapper.clone(),
            report_unused_suppressions: run.report_unused_suppressions,
        })
    }
}

/// Which rules are on: every rule, then each layer in turn.
fn select(rules: &RuleSet, layers: &[Selection]) -> Result<Vec<bool>, String> {
    let mut enabled = vec![true; rules.rules.len()];
    for layer in layers {
        if let Some(select) = &layer.select {
            enabled.fill(false);
            for id in matching(rules, select)? {
                enabled[id.0] = true;
            }
        }
        for id in matching(rules, &layer.extend_select)? {
            enabled[id.0] = true;
        }
        for id in matching(rules, &layer.ignore)? {
            enabled[id.0] = false;
        }
    }
    Ok(enabled)
}

/// The rules the codes or prefixes name; a code that names none is an error.
fn matching(rules: &RuleSet, codes: &[Code]) -> Result<Vec<RuleId>, String> {
    let mut ids = Vec::new();
    for code in codes {
        let matched = if code.text.trim().is_empty() { Vec::new() } else { rules.matching(code.text.trim()) };
        if matched.is_empty() {
            return Err(code.unknown());
        }
        ids.extend(matched);
    }
    Ok(ids)
}

/// `per-file-ignores`: the run's settings for a file, with the rules its
/// globs ignore turned off. One copy per distinct set of globs matched.
pub struct PerFile<'a> {
    base: &'a Settings,
    ignores: Vec<(&'a PerFileIgnore, Vec<RuleId>)>,
    variants: HashMap<Vec<usize>, Settings>,
}

impl<'a> PerFile<'a> {
    /// Copies for every variant `paths` need, made before the parallel run.
    pub fn new(base: &'a Settings, ignores: &'a [PerFileIgnore], paths: &[&Path]) -> Result<Self, String> {
        let ignores = ignores
            .iter()
            .map(|ignore| Ok((ignore, matching(&base.rules, &ignore.codes)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let mut per_file = Self { base, ignores, variants: HashMap::new() };
        for path in paths {
            let key = per_file.key(path);
            if !key.is_empty() && !per_file.variants.contains_key(&key) {
                let mut settings = base.clone();
                for &index in &key {
                    for id in &per_file.ignores[index].1 {
                        settings.enabled[id.0] = false;
                    }
                }
                per_file.variants.insert(key, settings);
            }
        }
        Ok(per_file)
    }

    fn key(&self, path: &Path) -> Vec<usize> {
        (0..self.ignores.len()).filter(|&index| self.ignores[index].0.matches(path)).collect()
    }

    /// The settings `path` is checked with (one of the paths given to [`Self::new`]).
    pub fn get(&self, path: &Path) -> &Settings {
        self.variants.get(&self.key(path)).unwrap_or(self.base)
    }
}
