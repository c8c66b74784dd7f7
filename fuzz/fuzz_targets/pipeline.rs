//! The per-file pipeline on arbitrary bytes: decode, parse, check, fix.
//!
//! Never panics; when the text parses, the fixed text parses too, fixing it
//! again changes nothing, and it only grew (Django fixes insert, never delete); a
//! text without `async` or that does not parse is never touched. The check of
//! its skimmed text, when the skim holds, finds the sites the whole text shows.

#![no_main]

use std::sync::OnceLock;

use asyncfix::pipeline::fix_loop;
use asyncfix::rules::{self as checker, FileInfo};
use asyncfix::settings::Settings as Context;
use asyncfix::recipe::RuleSet;
use asyncfix::semantic::ModuleName;
use libfuzzer_sys::fuzz_target;

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let rules = RuleSet::load(&[]).expect("the built-in recipes load");
        let enabled = vec![true; rules.rules.len()];
        // Unsafe fixes too: more of the rewriting code runs.
        Context {
            rules: rules.into(),
            enabled,
            unsafe_fixes: true,
            sqlalchemy_fix: None,
            full_parse: false,
            native: None,
            migrate: false,
            wrapper: None,
            report_unused_suppressions: false,
        }
    })
}

fn parses(text: &str) -> bool {
    asyncfix::parse::parse(text).is_some_and(|tree| !tree.root_node().has_error())
}

fn is_subsequence(small: &str, large: &str) -> bool {
    let mut large = large.chars();
    small.chars().all(|wanted| large.any(|c| c == wanted))
}

fuzz_target!(|data: &[u8]| {
    let Ok(file) = asyncfix::files::decode(data.to_vec()) else { return };
    let text = file.text;
    let module = ModuleName::new("app.views", false);
    let info = FileInfo { module: &module, index: None };
    let skimmed = asyncfix::scan::skim::skim(&text, &[]);
    let Some(tree) = asyncfix::parse::parse(&text).filter(|tree| !tree.root_node().has_error()) else { return };
    if !asyncfix::scan::may_have_sites(text.as_bytes()) {
        // The CLI stops here: such a file is echoed or reported, never fixed.
        return;
    }
    let whole = checker::check_tree(&text, &tree, info, context());
    if let Some(skimmed) = skimmed
        && let Some(skimmed_tree) = asyncfix::parse::parse_ranges(&skimmed.text, &skimmed.ranges)
        && asyncfix::scan::skim::stubs_hold(&skimmed_tree, &skimmed.stubs)
    {
        let model = asyncfix::semantic::SemanticModel::build(&skimmed.text, &skimmed_tree, module.clone());
        let found = checker::check_model(&model, info, context());
        let ranges = |diagnostics: &[asyncfix::diagnostic::Diagnostic]| -> Vec<_> {
            diagnostics.iter().map(|diagnostic| (diagnostic.range.clone(), diagnostic.message.clone())).collect()
        };
        assert_eq!(ranges(&found), ranges(&whole), "the skimmed text shows other sites");
    }
    let outcome = fix_loop::fix_text(&text, tree, info, context());
    assert!(parses(&outcome.text), "the fixed text does not parse:\n{}", outcome.text);
    // Django fixes only insert; SQLAlchemy fixes may replace a read.
    if outcome.text != text && !text.contains("sqlalchemy") {
        assert!(is_subsequence(&text, &outcome.text), "a fix deleted text:\n{}", outcome.text);
    }
    if outcome.settled {
        let tree = asyncfix::parse::parse(&outcome.text).expect("not cancelled");
        let again = fix_loop::fix_text(&outcome.text, tree, info, context());
        assert_eq!(again.text, outcome.text, "a second fix changed the text");
    }
});
