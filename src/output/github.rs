//! GitHub Actions workflow commands: one `::error` line per site, which a
//! workflow run shows as an annotation on the pull request's diff.

use super::Located;

/// `::error title=asyncfix (DJ001),file=...,line=..,col=..,endLine=..,endColumn=..::message`.
pub fn annotation(site: &Located) -> String {
    format!(
        "::error title={},file={},line={},col={},endLine={},endColumn={}::{}",
        property(&format!("asyncfix ({})", site.code)),
        property(&site.path),
        site.line,
        site.column,
        site.end_line,
        site.end_column,
        data(&format!("{}:{}:{}: {} {}", site.path, site.line, site.column, site.code, site.message)),
    )
}

/// A command's message: `%`, CR and LF escaped, as the runner expects.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: the message escapes, and `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::FixState;

    #[test]
    fn escapes_what_the_runner_reads_as_syntax() {
        let site = Located {
            path: "app/a,b.py".to_owned(),
            line: 3,
            column: 5,
            end_line: 3,
            end_column: 20,
            code: "DJ001".to_owned(),
            name: "django-orm-query-in-async".to_owned(),
            message: "100% `x`\nsecond".to_owned(),
            fix: FixState::Safe,
            range: 0..0,
            edits: Vec::new(),
        };
        assert_eq!(
            annotation(&site),
            "::error title=asyncfix (DJ001),file=app/a%2Cb.py,line=3,col=5,endLine=3,endColumn=20::\
             app/a,b.py:3:5: DJ001 100%25 `x`%0Asecond"
        );
    }
}
