//! Which argument of a call fills a parameter, as Python binds them: by
//! keyword, or by position among the positional arguments (comments and
//! keyword arguments do not count). A `*args` in the call may fill a
//! positional parameter it does not reach past, a `**kwargs` any parameter
//! not given by keyword: the answer is then unknown. And where a parameter
//! sits in a definition's signature.

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
    // After a `*args`, positions are unknown.
    let mut spread = false;
    let mut double_spread = false;
    let mut found = None;
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "list_splat" => spread = true,
            "dictionary_splat" => double_spread = true,
            "comment" => {}
            "keyword_argument" => {
                if argument.child_by_field_id(FIELD.name).is_some_and(|key| text(key) == name)
                    && let Some(value) = argument.child_by_field_id(FIELD.value)
                {
                    // Given by keyword, nothing else may fill it.
                    return Passed::Argument(value);
                }
            }
            _ => {
                if !spread && position == Some(seen) {
                    found = Some(argument);
                }
                seen += 1;
            }
        }
    }
    match found {
        Some(argument) => Passed::Argument(argument),
        None if double_spread || (spread && position.is_some()) => Passed::Unknown,
        None => Passed::Nothing,
    }
}

/// Where a parameter sits in its function's signature.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'t> {
    /// Its position among the arguments a call passes (`self` left out),
    /// unless it is keyword-only; for `*args`, how many positional
    /// parameters come before it.
    pub position: Option<usize>,
    pub default: Option<Node<'t>>,
    /// It is `*args`.
    pub star: bool,
}

/// Where `name` sits among the parameters of `definition` (`self` left
/// out when `skip_first`); `None` when it is `**kwargs` or not a parameter.
pub fn slot<'t>(
    definition: Node<'t>,
    name: &str,
    skip_first: bool,
    text: impl Fn(Node<'t>) -> &'t str,
) -> Option<Slot<'t>> {
    let parameters = definition.child_by_field_id(FIELD.parameters)?;
    let mut cursor = parameters.walk();
    let mut position = 0;
    let mut keyword_only = false;
    for (index, parameter) in parameters.named_children(&mut cursor).enumerate() {
        // `*args: int` is a typed parameter around the splat.
        let parameter = match parameter.named_child(0) {
            Some(inner) if parameter.kind() == "typed_parameter" && inner.kind() != "identifier" => inner,
            _ => parameter,
        };
        let (spelled, default) = match parameter.kind() {
            "identifier" => (Some(parameter), None),
            "default_parameter" | "typed_default_parameter" => {
                (parameter.child_by_field_id(FIELD.name), parameter.child_by_field_id(FIELD.value))
            }
            "typed_parameter" => (parameter.named_child(0), None),
            "list_splat_pattern" => {
                if parameter.named_child(0).is_some_and(|spelled| text(spelled) == name) {
                    return Some(Slot { position: Some(position), default: None, star: true });
                }
                keyword_only = true;
                continue;
            }
            "keyword_separator" => {
                keyword_only = true;
                continue;
            }
            "positional_separator" | "comment" => continue,
            _ => return None,
        };
        if spelled.is_some_and(|spelled| text(spelled) == name) {
            let position = (!keyword_only).then_some(position);
            return Some(Slot { position, default, star: false });
        }
        if !(skip_first && index == 0) {
            position += 1;
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `call` (one call expression) passes for `name` at `position`, as text.
    fn passed(call: &str, name: &str, position: Option<usize>) -> String {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("the Python grammar loads");
        let tree = parser.parse(call, None).expect("a tree");
        let statement = tree.root_node().named_child(0).expect("a statement");
        let arguments = statement
            .named_child(0)
            .and_then(|call| call.child_by_field_id(FIELD.arguments))
            .expect("a call with arguments");
        match passed_for(arguments, name, position, |node| &call[node.byte_range()]) {
            Passed::Argument(node) => call[node.byte_range()].to_owned(),
            Passed::Nothing => "nothing".to_owned(),
            Passed::Unknown => "unknown".to_owned(),
        }
    }

    #[test]
    fn spreads_fill_only_what_python_lets_them() {
        assert_eq!(passed("f(a, b)", "y", Some(1)), "b");
        assert_eq!(passed("f(a, y=b)", "y", Some(1)), "b");
        assert_eq!(passed("f(a)", "y", Some(1)), "nothing");
        // `*args` may fill a positional parameter, never a keyword-only one.
        assert_eq!(passed("f(a, *rest)", "y", Some(1)), "unknown");
        assert_eq!(passed("f(a, *rest)", "commit", None), "nothing");
        assert_eq!(passed("f(*rest, a)", "y", Some(0)), "unknown");
        // `**kwargs` may fill anything not given by keyword.
        assert_eq!(passed("f(a, **options)", "commit", None), "unknown");
        assert_eq!(passed("f(a, commit=True, **options)", "commit", None), "True");
        assert_eq!(passed("f(x for x in xs)", "y", Some(0)), "(x for x in xs)");
    }
}
