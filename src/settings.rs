//! What the user typed ([`crate::cli`]) resolved into the settings every
//! file is checked with: the rules loaded and enabled, the fix options.
//! Built once per run, shared read-only.

use crate::cli::{FileArgs, FixStyle};
use crate::fix::{Applicability, Fix, SqlAlchemyFix};
use crate::recipe::RuleSet;
use crate::target::{DjangoVersion, TargetDjango};

/// What every file is checked against: built once, shared read-only.
pub struct Settings {
    pub rules: RuleSet,
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
}

/// Which native async twins a fix may use.
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
            .map(|(_, _, twin, since)| (twin.clone(), since.as_deref().and_then(|since| since.parse().ok())))
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

impl Settings {
    /// The settings for `check`, `diff` and `fix`: `--select` and `--ignore`
    /// resolved against the loaded rules.
    /// `detected`: under `--target-django auto`, the version the projects
    /// of the run allow ([`crate::target::detect`]).
    pub fn from_args(rules: RuleSet, args: &FileArgs, detected: Option<DjangoVersion>) -> Result<Self, String> {
        let mut enabled = vec![args.select.is_empty(); rules.rules.len()];
        for (codes, on) in [(&args.select, true), (&args.ignore, false)] {
            for code in codes {
                let matched = if code.trim().is_empty() { Vec::new() } else { rules.matching(code.trim()) };
                if matched.is_empty() {
                    return Err(format!("unknown rule code `{code}`; `asyncfix recipes` lists them"));
                }
                for id in matched {
                    enabled[id.0] = on;
                }
            }
        }
        let target = match args.target_django {
            TargetDjango::Version(version) => Some(version),
            TargetDjango::Auto => detected,
        };
        let native = match args.style {
            Some(FixStyle::Wrap) => None,
            Some(FixStyle::Native) => Some(Native::new(&rules, target)),
            None => target.map(|version| Native::new(&rules, Some(version))),
        };
        Ok(Self {
            rules,
            enabled,
            unsafe_fixes: args.unsafe_fixes,
            sqlalchemy_fix: args.sqlalchemy_fix,
            full_parse: args.parsing.full_parse,
            native,
            migrate: args.style == Some(FixStyle::Native),
        })
    }
}
