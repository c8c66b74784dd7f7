//! The text format: one line per site, `path:line:col: CODE message`.

use super::{FixState, Located, Painter};

/// `[*]` marks a safe fix, `[?]` a fix that needs `--unsafe-fixes`.
pub fn site_line(site: &Located, painter: Painter) -> String {
    let marker = match site.fix {
        FixState::Safe => " [*]",
        FixState::Unsafe => " [?]",
        FixState::None(_) => "",
    };
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

pub fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}
