//! Splices fixes into the text in one ordered pass. A fix whose span overlaps
//! one already taken waits for the next round; identical import edits are
//! applied once.

use super::{Edit, Fix};

/// The new text and the indexes (into the input slice) of the fixes applied.
pub struct Applied {
    pub text: String,
    pub applied: Vec<usize>,
    /// The edits made, in order: the range replaced and the length written.
    pub edits: Vec<(std::ops::Range<usize>, usize)>,
}

pub fn apply_fixes(text: &str, fixes: &[&Fix]) -> Applied {
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    // Outer sites first: by start, then the longer span.
    order.sort_by_key(|&i| (fixes[i].span.start, std::cmp::Reverse(fixes[i].span.end)));
    // Spans come in start order, so a span overlaps a taken one exactly when
    // it starts before the furthest end taken so far.
    let mut furthest_end = 0;
    let mut taken_by_span: std::collections::HashMap<(usize, usize), usize> = std::collections::HashMap::new();
    let mut applied = Vec::new();
    let mut edits: Vec<(usize, &Edit)> = Vec::new();
    let mut shared: Vec<&Edit> = Vec::new();
    for i in order {
        let fix = fixes[i];
        // Several sites can share one fix (reads of one relationship): applied once, counted for each.
        if taken_by_span.get(&(fix.span.start, fix.span.end)).is_some_and(|&other| fixes[other] == fix) {
            applied.push(i);
            continue;
        }
        let overlaps = fix.span.start < furthest_end && !fix.span.is_empty();
        if overlaps {
            continue;
        }
        furthest_end = furthest_end.max(fix.span.end);
        taken_by_span.insert((fix.span.start, fix.span.end), i);
        applied.push(i);
        for edit in &fix.edits {
            edits.push((edits.len(), edit));
        }
        for edit in &fix.shared {
            if !shared.contains(&edit) {
                shared.push(edit);
            }
        }
    }
    let mut all: Vec<(usize, usize, &Edit)> = edits.into_iter().map(|(order, edit)| (1, order, edit)).collect();
    all.extend(shared.into_iter().enumerate().map(|(order, edit)| (0, order, edit)));
    // By position; at one position, shared edits first, then in the order taken.
    all.sort_by_key(|(group, order, edit)| (edit.range.start, edit.range.end, *group, *order));
    let mut output =
        String::with_capacity(text.len() + all.iter().map(|(_, _, edit)| edit.content.len()).sum::<usize>());
    let mut cursor = 0;
    let mut made = Vec::new();
    for (_, _, edit) in all {
        if edit.range.start < cursor {
            // Two replacements of one range cannot both apply; the span check prevents this.
            continue;
        }
        output.push_str(&text[cursor..edit.range.start]);
        output.push_str(&edit.content);
        made.push((edit.range.clone(), edit.content.len()));
        cursor = edit.range.end;
    }
    output.push_str(&text[cursor..]);
    applied.sort_unstable();
    Applied { text: output, applied, edits: made }
}

/// Where `offset` in the text before the edits lands after them.
pub fn map_offset(offset: usize, fixes: &[&Fix]) -> usize {
    let mut shift: isize = 0;
    for fix in fixes {
        for edit in fix.edits.iter().chain(&fix.shared) {
            if edit.range.end <= offset {
                shift += edit.content.len().cast_signed() - (edit.range.end - edit.range.start).cast_signed();
            }
        }
    }
    offset.saturating_add_signed(shift)
}

/// Where `offset` in the text after `edits` was before them; an offset inside
/// inserted text maps to where the insertion was made.
pub fn map_back(offset: usize, edits: &[(std::ops::Range<usize>, usize)]) -> usize {
    let mut delta: isize = 0;
    for (range, written) in edits {
        let start_after = range.start.saturating_add_signed(delta);
        if offset < start_after {
            break;
        }
        if offset < start_after + written {
            return range.start;
        }
        delta += written.cast_signed() - (range.end - range.start).cast_signed();
    }
    offset.saturating_add_signed(-delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Applicability;

    fn fix(span: std::ops::Range<usize>, edits: Vec<Edit>, shared: Vec<Edit>) -> Fix {
        Fix { edits, shared, span, applicability: Applicability::Safe }
    }

    #[test]
    fn overlapping_fix_waits_and_identical_imports_apply_once() {
        let text = "abcdef";
        let import = Edit::insert(0, "I;");
        let outer = fix(1..5, vec![Edit::insert(1, "<"), Edit::insert(5, ">")], vec![import.clone()]);
        let inner = fix(2..3, vec![Edit::insert(2, "[")], vec![import.clone()]);
        let apart = fix(5..6, vec![Edit::insert(6, "!")], vec![import]);
        let applied = apply_fixes(text, &[&inner, &outer, &apart]);
        assert_eq!(applied.text, "I;a<bcde>f!");
        assert_eq!(applied.applied, vec![1, 2]);
        // `f` is at 5 before and at 9 after; `!` was inserted at 6.
        assert_eq!(map_back(9, &applied.edits), 5);
        assert_eq!(map_back(10, &applied.edits), 6);
        assert_eq!(map_back(0, &applied.edits), 0);
    }
}
