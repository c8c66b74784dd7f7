//! The text format: one line per site, `path:line:col: CODE message`.

use super::{FixState, Located, Painter};

/// `[*]` marks a safe fix, `[?]` a fix that needs `--unsafe-fixes`.
pub fn site_line(site: &Located, painter: Painter) -> String {
    let marker = match site.fix {
        FixState::Safe => " [*]",
        FixState::Unsafe => " [?]",
        FixState::None(_) => "",
    };
    marked_line(site, painter, marker)
}

/// `path:line:col: CODE{marker} message`.
pub(super) fn marked_line(site: &Located, painter: Painter, marker: &str) -> String {
    format!(
        "{}:{}:{}: {}{} {}",
        painter.bold(&site.path),
        site.line,
        site.column,
        painter.red(&site.code),
        marker,
        site.message
    )
}

/// A site left after `fix`, with the reason.
pub fn left_line(site: &Located, painter: Painter) -> String {
    let reason = match &site.fix {
        FixState::Safe => "fix conflicted with another; run `fix` again".to_owned(),
        FixState::Unsafe => "unsafe fix; apply with --unsafe-fixes".to_owned(),
        FixState::None(reason) => reason.clone(),
    };
    format!("{} {}", site_line(site, painter), painter.dim(&format!("(not fixed: {reason})")))
}

/// `--statistics`: one line per rule, most sites first: the count, the
/// code, `[*]` when every site of it has a safe fix, and the rule's name.
pub fn statistics(sites: &[Located]) -> Vec<String> {
    let mut by_rule: Vec<(&str, &str, usize, bool)> = Vec::new();
    for site in sites {
        let safe = site.fix == FixState::Safe;
        match by_rule.iter_mut().find(|(code, ..)| *code == site.code) {
            Some(entry) => {
                entry.2 += 1;
                entry.3 &= safe;
            }
            None => by_rule.push((&site.code, &site.name, 1, safe)),
        }
    }
    by_rule.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let width = by_rule.iter().map(|entry| entry.2.to_string().len()).max().unwrap_or(1);
    by_rule
        .into_iter()
        .map(|(code, name, count, safe)| {
            format!("{count:>width$}  {code}  {}  {name}", if safe { "[*]" } else { "   " })
        })
        .collect()
}

/// `diff` and `fix`: one line per rule with sites fixed, most first: the
/// count, the code and the rule's name, as `--statistics` aligns them.
pub fn fixed_by_rule(mut by_rule: Vec<(&str, &str, usize)>) -> Vec<String> {
    by_rule.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let width = by_rule.iter().map(|entry| entry.2.to_string().len()).max().unwrap_or(1);
    by_rule.into_iter().map(|(code, name, count)| format!("{count:>width$}  {code}  {name}")).collect()
}

pub fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}
