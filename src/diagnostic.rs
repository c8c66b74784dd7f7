//! One site found in one file: the rule, where, the message, and the fix or
//! why there is none. Rules produce them; the pipeline applies their fixes
//! and the printers show them.

use std::ops::Range;

use crate::fix::{Fix, NoFix};
use crate::recipe::RuleId;

/// One site found in one file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: RuleId,
    pub range: Range<usize>,
    pub message: String,
    pub fix: Option<Fix>,
    /// Why there is no fix, when there is none.
    pub no_fix: Option<NoFix>,
}
