//! What the user typed ([`crate::cli`]) resolved into the settings every
//! file is checked with: the rules loaded and enabled, the fix options.
//! Built once per run, shared read-only.

use crate::cli::FileArgs;
use crate::fix::{Applicability, Fix, SqlAlchemyFix};
use crate::recipe::RuleSet;

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
}

impl Settings {
    pub fn allows(&self, fix: &Fix) -> bool {
        fix.applicability == Applicability::Safe || self.unsafe_fixes
    }
}

impl Settings {
    /// The settings for `check`, `diff` and `fix`: `--select` and `--ignore`
    /// resolved against the loaded rules.
    pub fn from_args(rules: RuleSet, args: &FileArgs) -> Result<Self, String> {
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
        Ok(Self {
            rules,
            enabled,
            unsafe_fixes: args.unsafe_fixes,
            sqlalchemy_fix: args.sqlalchemy_fix,
            full_parse: args.parsing.full_parse,
        })
    }
}
