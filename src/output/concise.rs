//! The concise format: `path:line:col: CODE message`, one line per site and
//! nothing else (no fix marks, no closing line), for editors and `grep`.

use super::{Located, Painter};

pub fn site_line(site: &Located, painter: Painter) -> String {
    super::text::marked_line(site, painter, "")
}
