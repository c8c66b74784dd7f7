//! Which argument of a call fills a parameter, as Python binds them: by
//! keyword, or by position among the positional arguments (comments and
//! keyword arguments do not count). A `*args` or `**kwargs` in the call may
//! fill any parameter, so the answer is then unknown.

use tree_sitter::Node;

use crate::parse::FIELD;

/// What a call passes for one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed<'t> {
    /// This argument (a keyword argument's value).
    Argument(Node<'t>),
    /// Nothing: the parameter takes its default.
    Nothing,
    /// The call spreads `*args` or `**kwargs`, which may fill it.
    Unknown,
}

/// What the call whose argument list is `arguments` passes for the
/// parameter `name`, which sits at `position` among the positional
/// parameters (`None`: keyword-only).
pub fn passed_for<'t>(
    arguments: Node<'t>,
    name: &str,
    position: Option<usize>,
    text: impl Fn(Node<'t>) -> &'t str,
) -> Passed<'t> {
    if arguments.kind() != "argument_list" {
        // `f(x for x in xs)`: one positional argument.
        return if position == Some(0) { Passed::Argument(arguments) } else { Passed::Nothing };
    }
    let mut cursor = arguments.walk();
    let mut seen = 0;
    let mut found = Passed::Nothing;
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "list_splat" | "dictionary_splat" => return Passed::Unknown,
            "comment" => {}
            "keyword_argument" => {
                if argument.child_by_field_id(FIELD.name).is_some_and(|key| text(key) == name)
                    && let Some(value) = argument.child_by_field_id(FIELD.value)
                {
                    found = Passed::Argument(value);
                }
            }
            _ => {
                if position == Some(seen) {
                    found = Passed::Argument(argument);
                }
                seen += 1;
            }
        }
    }
    found
}

/// The positional arguments of an argument list with their positions, up
/// to the first `*args` (after it, positions are unknown); comments left out.
pub fn positional(arguments: Node<'_>) -> Vec<(usize, Node<'_>)> {
    if arguments.kind() != "argument_list" {
        return vec![(0, arguments)];
    }
    let mut cursor = arguments.walk();
    let mut found = Vec::new();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "list_splat" => break,
            "comment" | "keyword_argument" | "dictionary_splat" => {}
            _ => found.push((found.len(), argument)),
        }
    }
    found
}
