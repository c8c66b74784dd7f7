//! Applies fixes to a fixed point: each round checks the text, applies the
//! allowed fixes that do not overlap, and re-parses; a round's fix that
//! would break the syntax is dropped and its site reported.

use std::ops::Range;

use tree_sitter::Tree;

use crate::diagnostic::Diagnostic;
use crate::fix::apply::{apply_fixes, map_offset};
use crate::fix::{Fix, NoFix};
use crate::parse;
use crate::recipe::RuleId;
use crate::rules::{FileInfo, check_tree};
use crate::settings::Settings;

/// The result of fixing one text.
pub struct FixOutcome {
    pub text: String,
    /// Sites fixed, over all rounds.
    pub fixed: usize,
    /// The rule of each site fixed, for the per-rule summary.
    pub fixed_rules: Vec<RuleId>,
    /// Sites left in the final text, each with why it was not fixed.
    pub remaining: Vec<Diagnostic>,
    /// False when the rounds did not settle.
    pub settled: bool,
    /// Each round's edits, to map offsets in `text` back to the original.
    pub rounds: Vec<Vec<(Range<usize>, usize)>>,
}

impl FixOutcome {
    /// Where an offset in the fixed text was in the original.
    pub fn original_offset(&self, offset: usize) -> usize {
        self.rounds.iter().rev().fold(offset, |offset, edits| crate::fix::apply::map_back(offset, edits))
    }
}

/// Rounds before giving up: nested sites need one round per level.
const MAX_ROUNDS: usize = 10;

/// Applies fixes until none is left, re-parsing after each round and never
/// keeping a round's output that does not parse. `tree` is `original` parsed.
pub fn fix_text(original: &str, tree: Tree, file: FileInfo<'_>, settings: &Settings) -> FixOutcome {
    let original_tree = tree.clone();
    let outcome = fix_rounds(original, tree, file, settings, &|_| true, MAX_ROUNDS);
    if outcome.fixed == 0 {
        return outcome;
    }
    remove_unused_imports(original, &original_tree, outcome, file, settings)
}

/// `fix --interactive`: only the fixes of the sites picked (by start offset
/// and rule), in one round: the picks are of the first round's sites, and a
/// second round would fix sites nobody was asked about. The output is still
/// re-parsed, and a fix that would break it is dropped.
pub fn fix_picked(
    original: &str,
    tree: Tree,
    file: FileInfo<'_>,
    settings: &Settings,
    picked: &[(usize, RuleId)],
) -> FixOutcome {
    let original_tree = tree.clone();
    let pick = |diagnostic: &Diagnostic| picked.contains(&(diagnostic.range.start, diagnostic.rule));
    let mut outcome = fix_rounds(original, tree, file, settings, &pick, 1);
    // One round is all there is: not a round limit reached.
    outcome.settled = true;
    if outcome.fixed == 0 {
        return outcome;
    }
    remove_unused_imports(original, &original_tree, outcome, file, settings)
}

/// The imports the fixes left unused (a wrapper no call needs any more, a
/// sync function replaced by its twin) are removed, in a last round.
fn remove_unused_imports(
    original: &str,
    original_tree: &Tree,
    mut outcome: FixOutcome,
    file: FileInfo<'_>,
    settings: &Settings,
) -> FixOutcome {
    let Some(tree) = parse_clean(&outcome.text) else { return outcome };
    let mut edits = crate::fix::unused_imports::removals(original, original_tree, &outcome.text, &tree);
    if edits.is_empty() {
        return outcome;
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut text = String::with_capacity(outcome.text.len());
    let mut at = 0;
    for (range, content) in &edits {
        text.push_str(&outcome.text[at..range.start]);
        text.push_str(content);
        at = range.end;
    }
    text.push_str(&outcome.text[at..]);
    let Some(tree) = parse_clean(&text) else { return outcome };
    outcome.remaining = check_tree(&text, &tree, file, settings);
    outcome.rounds.push(edits.into_iter().map(|(range, content)| (range, content.len())).collect());
    outcome.text = text;
    outcome
}

/// Rounds of fixes (at most `max_rounds`), each applying the allowed fixes
/// of the sites `pick` keeps.
fn fix_rounds(
    original: &str,
    tree: Tree,
    file: FileInfo<'_>,
    settings: &Settings,
    pick: &dyn Fn(&Diagnostic) -> bool,
    max_rounds: usize,
) -> FixOutcome {
    let mut text = original.to_owned();
    // The tree of `text`: the round that checks a text has parsed it already.
    let mut current = Some(tree);
    let mut fixed = 0;
    let mut fixed_rules = Vec::new();
    // Sites whose fix broke the syntax, by (offset in `text`, rule).
    let mut rejected: Vec<(usize, RuleId)> = Vec::new();
    let mut rounds = Vec::new();
    for _ in 0..max_rounds {
        let Some(tree) = current.take().or_else(|| parse::parse(&text)) else { break };
        let mut diagnostics = check_tree(&text, &tree, file, settings);
        for diagnostic in &mut diagnostics {
            if rejected.contains(&(diagnostic.range.start, diagnostic.rule)) {
                diagnostic.fix = None;
                diagnostic.no_fix = Some(NoFix::WouldNotParse);
            }
        }
        // Each allowed fix, with the rule of the site it fixes.
        let (rules, candidates): (Vec<RuleId>, Vec<&Fix>) = diagnostics
            .iter()
            .filter(|diagnostic| pick(diagnostic))
            .filter_map(|diagnostic| diagnostic.fix.as_ref().map(|fix| (diagnostic.rule, fix)))
            .filter(|(_, fix)| settings.allows(fix))
            .unzip();
        if candidates.is_empty() {
            return FixOutcome { text, fixed, fixed_rules, remaining: diagnostics, settled: true, rounds };
        }
        let mut round = apply_fixes(&text, &candidates);
        if let Some(tree) = parse_clean(&round.text) {
            current = Some(tree);
            let applied: Vec<&Fix> = round.applied.iter().map(|&i| candidates[i]).collect();
            rejected = rejected.into_iter().map(|(offset, rule)| (map_offset(offset, &applied), rule)).collect();
            fixed += applied.len();
            fixed_rules.extend(round.applied.iter().map(|&i| rules[i]));
        } else {
            // Find the fixes that break the syntax, one at a time.
            let mut accepted: Vec<&Fix> = Vec::new();
            let mut accepted_rules: Vec<RuleId> = Vec::new();
            for (fix, &rule) in candidates.iter().zip(&rules) {
                accepted.push(fix);
                if parses(&apply_fixes(&text, &accepted).text) {
                    accepted_rules.push(rule);
                } else {
                    accepted.pop();
                    rejected.push((fix.span.start, rule));
                }
            }
            round = apply_fixes(&text, &accepted);
            let applied: Vec<&Fix> = round.applied.iter().map(|&i| accepted[i]).collect();
            rejected = rejected.into_iter().map(|(offset, rule)| (map_offset(offset, &applied), rule)).collect();
            fixed += applied.len();
            fixed_rules.extend(round.applied.iter().map(|&i| accepted_rules[i]));
        }
        rounds.push(round.edits);
        text = round.text;
    }
    let remaining = parse::parse(&text).map(|tree| check_tree(&text, &tree, file, settings)).unwrap_or_default();
    FixOutcome { text, fixed, fixed_rules, remaining, settled: false, rounds }
}

fn parses(text: &str) -> bool {
    parse_clean(text).is_some()
}

fn parse_clean(text: &str) -> Option<Tree> {
    parse::parse(text).filter(|tree| super::syntax_error(tree, text).is_none())
}
