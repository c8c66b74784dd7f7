//! `fix --interactive`, one file: the allowed fixes of the file's sites are
//! offered one at a time (the caller shows each and asks), then only the
//! ones accepted are applied ([`fix_loop::fix_picked`]) and the file is
//! written. Nothing here reads the terminal: the caller's `choose` does.

use std::path::Path;

use super::{FileErrorKind, FileInfo, FileResult, fix_loop, own_layer};
use crate::fix::apply::apply_fixes;
use crate::output::{self, FixState, Located};
use crate::recipe::RuleId;
use crate::settings::Settings;
use crate::{files, parse, rules, scan, semantic, source};

/// What the user said about one fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Accept,
    Skip,
    /// This one and every later one in the file.
    AcceptRest,
    /// None of the rest, here or in later files.
    Quit,
}

/// One fix offered: the site, and the file's text before and with only this fix.
pub struct Offer<'a> {
    pub site: &'a Located,
    pub before: &'a str,
    pub after: &'a str,
}

/// Reviews one file; the flag says the user quit.
pub fn review_source(
    path: &Path,
    file_info: FileInfo<'_>,
    self_contained: bool,
    read: Result<Option<files::SourceFile>, files::FileError>,
    settings: &Settings,
    choose: &mut dyn FnMut(&Offer<'_>) -> Choice,
) -> (FileResult, bool) {
    let mut result = FileResult::new(path);
    let file = match read {
        Ok(Some(file)) => file,
        Ok(None) => return (result, false),
        Err(reason) => {
            result.error = Some((FileErrorKind::Io, reason.to_string()));
            return (result, false);
        }
    };
    if !scan::may_have_sites(file.text.as_bytes()) {
        return (result, false);
    }
    let Some(tree) = parse::parse(&file.text).filter(|tree| super::syntax_error(tree, &file.text).is_none()) else {
        let offset = parse::parse(&file.text).and_then(|tree| super::syntax_error(&tree, &file.text)).unwrap_or(0);
        let (line, column) = source::Locator::new(&file.text).line_col(offset);
        result.error = Some((FileErrorKind::Syntax, format!("{line}:{column}: syntax error; file left untouched")));
        return (result, false);
    };
    let model = semantic::SemanticModel::build(&file.text, &tree, file_info.module.clone());
    let own_index = if self_contained { own_layer(&model, file_info.index, settings) } else { None };
    let file_info = FileInfo { module: file_info.module, index: own_index.as_ref().or(file_info.index) };
    let diagnostics = rules::check_model(&model, file_info.for_rules(), settings);
    let sites = output::locate(&result.display, &file.text, &diagnostics, &settings.rules);
    let mut picked: Vec<(usize, RuleId)> = Vec::new();
    let (mut rest, mut quit) = (false, false);
    for (diagnostic, site) in diagnostics.iter().zip(&sites) {
        let Some(fix) = diagnostic.fix.as_ref().filter(|fix| settings.allows(fix)) else { continue };
        let choice = if rest {
            Choice::Accept
        } else {
            let after = file.as_written(&apply_fixes(&file.text, &[fix]).text);
            choose(&Offer { site, before: &file.as_written(&file.text), after: &after })
        };
        match choice {
            Choice::Accept => picked.push((diagnostic.range.start, diagnostic.rule)),
            Choice::AcceptRest => {
                rest = true;
                picked.push((diagnostic.range.start, diagnostic.rule));
            }
            Choice::Skip => {}
            Choice::Quit => {
                quit = true;
                break;
            }
        }
    }
    drop(model);
    let outcome = fix_loop::fix_picked(&file.text, tree, file_info.for_rules(), settings, &picked);
    result.sites = output::locate(&result.display, &outcome.text, &outcome.remaining, &settings.rules);
    // A site left with a fix that would apply was skipped (or not reached).
    for site in &mut result.sites {
        if site.fix == FixState::Safe || (site.fix == FixState::Unsafe && settings.unsafe_fixes) {
            site.fix = FixState::None("skipped in the review".to_owned());
        }
    }
    result.fixed = outcome.fixed;
    result.fixed_rules = outcome.fixed_rules;
    result.changed = outcome.text != file.text;
    if result.changed
        && let Err(reason) = files::write(path, &file, &outcome.text)
    {
        result.error = Some((FileErrorKind::Io, reason.to_string()));
    }
    (result, quit)
}
