//! The per-file pipeline on arbitrary bytes: decode, parse, check, fix.
//!
//! Never panics; when the text parses, the fixed text parses too, fixing it
//! again changes nothing, and it only grew (Django fixes insert, never delete); a
//! text without `async` or that does not parse is never touched.

#![no_main]

use std::sync::OnceLock;

use asyncfix::checker::{self, Context, FileInfo};
use asyncfix::recipe::RuleSet;
use asyncfix::rules::sqlalchemy::FixStyle;
use asyncfix::semantic::ModuleName;
use libfuzzer_sys::fuzz_target;

fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| {
        let rules = RuleSet::load(&[]).expect("the built-in recipes load");
        let enabled = vec![true; rules.rules.len()];
        // Unsafe fixes too: more of the rewriting code runs.
        Context { rules, enabled, unsafe_fixes: true, sqlalchemy_fix: FixStyle::default() }
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
    if !checker::may_have_sites(&text) || !parses(&text) {
        // The CLI stops here: such a file is echoed or reported, never fixed.
        return;
    }
    let outcome = checker::fix_text(&text, info, context());
    assert!(parses(&outcome.text), "the fixed text does not parse:\n{}", outcome.text);
    // Django fixes only insert; SQLAlchemy fixes may replace a read.
    if outcome.text != text && !text.contains("sqlalchemy") {
        assert!(is_subsequence(&text, &outcome.text), "a fix deleted text:\n{}", outcome.text);
    }
    if outcome.settled {
        let again = checker::fix_text(&outcome.text, info, context());
        assert_eq!(again.text, outcome.text, "a second fix changed the text");
    }
});
