//! The unified diff of what `fix` would write.

use similar::TextDiff;

use super::Painter;

pub fn unified(path: &str, before: &str, after: &str, painter: Painter) -> String {
    let diff = TextDiff::from_lines(before, after);
    let path = path.trim_start_matches('/');
    let text = diff.unified_diff().context_radius(3).header(&format!("a/{path}"), &format!("b/{path}")).to_string();
    if !painter.enabled {
        return text;
    }
    text.split_inclusive('\n')
        .map(|line| {
            if line.starts_with("+++") || line.starts_with("---") {
                painter.bold(line)
            } else if line.starts_with('+') {
                painter.green(line)
            } else if line.starts_with('-') {
                painter.red(line)
            } else if line.starts_with("@@") {
                painter.cyan(line)
            } else {
                line.to_owned()
            }
        })
        .collect()
}
