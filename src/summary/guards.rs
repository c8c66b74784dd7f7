//! Which parameters decide whether a sync function's body touches the
//! database: `item.save()` inside `if commit:` runs only when a call
//! passes a truthy `commit`, and `def field(obj, name, *args, commit=False)`
//! called as `field(obj, "name", value)` queries nothing.
//!
//! Only tests a reader can check at the call are kept: the body of an `if`
//! (not its `elif` or `else`) whose test reads a parameter alone (`if
//! token:`, `if token is not None:`, either side of an `and`), where the
//! parameter defaults to a falsy literal (or is `*args`) and the body never
//! binds it again. Anything else leaves the access unguarded.

use tree_sitter::Node;

use crate::infer::facts::{Argument, GuardParameter, Passing, is_falsy_literal, is_truthy_literal};
use crate::parse::FIELD;
use crate::semantic::arguments::slot;
use crate::semantic::{Binding, ScopeId, SemanticModel};

/// The function a guard is read in.
pub struct Guarded<'m, 't> {
    pub model: &'m SemanticModel<'t>,
    pub definition: Node<'t>,
    /// The function's own scope: a guarding parameter is bound there once.
    pub scope: ScopeId,
    /// A method's `self` or `cls`, which no call passes.
    pub skip_first: bool,
}

impl<'t> Guarded<'_, 't> {
    /// The parameters every `if` around `node` needs truthy, up to the
    /// function's body.
    pub fn guard_of(&self, node: Node<'t>) -> Vec<GuardParameter> {
        let mut found: Vec<GuardParameter> = Vec::new();
        let mut child = node;
        while let Some(parent) = child.parent() {
            if parent.id() == self.definition.id() {
                break;
            }
            if matches!(parent.kind(), "function_definition" | "lambda" | "class_definition") {
                return Vec::new();
            }
            if parent.kind() == "if_statement"
                && parent.child_by_field_id(FIELD.consequence).is_some_and(|body| body.id() == child.id())
                && let Some(test) = parent.child_by_field_id(FIELD.condition)
            {
                for (name, negated) in tested_names(test, self.model) {
                    if let Some(parameter) = self.guarding_parameter(name)
                        && let parameter = (GuardParameter { negated, ..parameter })
                        && !found.contains(&parameter)
                    {
                        found.push(parameter);
                    }
                }
            }
            child = parent;
        }
        found
    }

    /// `name` as a guard: a parameter with a falsy default, or `*args`,
    /// that the body never binds again.
    pub fn guarding_parameter(&self, name: &str) -> Option<GuardParameter> {
        let bindings = self.model.scope(self.scope).bindings.get(name)?;
        if !matches!(bindings.as_slice(), [Binding::Parameter { .. }]) {
            return None;
        }
        let slot = slot(self.definition, name, self.skip_first, |node| self.model.text(node))?;
        // A required parameter is always passed: its test guards nothing a reader can see.
        let falsy = slot.star || slot.default.is_some_and(|default| is_falsy_literal(self.model.text(default)));
        falsy.then(|| GuardParameter {
            name: name.to_owned(),
            position: slot.position,
            star: slot.star,
            negated: false,
        })
    }
}

/// What `call` passes, as a callee's guards read it: a falsy literal, one
/// of the caller's own guarding parameters (`commit=commit`, `*args`), or
/// anything else. `record` turns a guarding parameter into its index.
pub fn passing<'t>(
    call: Node<'t>,
    guarded: &Guarded<'_, 't>,
    mut record: impl FnMut(GuardParameter) -> usize,
) -> Passing {
    let Some(arguments) = call.child_by_field_id(FIELD.arguments).filter(|list| list.kind() == "argument_list") else {
        return Passing::default();
    };
    let model = guarded.model;
    let mut kind = |value: Node<'t>| {
        let text = model.text(value);
        if is_falsy_literal(text) {
            Argument::Falsy
        } else if is_truthy_literal(text) {
            Argument::Truthy
        } else if value.kind() == "identifier"
            && let Some(parameter) = guarded.guarding_parameter(text)
        {
            Argument::Parameter(record(parameter))
        } else {
            Argument::Other
        }
    };
    let mut passing = Passing { known: true, ..Passing::default() };
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "comment" => {}
            "keyword_argument" => {
                let (Some(name), Some(value)) =
                    (argument.child_by_field_id(FIELD.name), argument.child_by_field_id(FIELD.value))
                else {
                    continue;
                };
                let value = kind(value);
                passing.keywords.push((model.text(name).to_owned(), value));
            }
            "list_splat" => passing.splat = Some(argument.named_child(0).map_or(Argument::Other, &mut kind)),
            "dictionary_splat" => passing.double_splat = true,
            _ => {
                let value = kind(argument);
                passing.positional.push(value);
            }
        }
    }
    passing
}

/// The names a test needs true (`x`, `x is not None`) or false (`not x`,
/// `x is None`), through parentheses and both sides of `and`.
fn tested_names<'t>(test: Node<'t>, model: &SemanticModel<'t>) -> Vec<(&'t str, bool)> {
    match test.kind() {
        "identifier" => vec![(model.text(test), false)],
        "parenthesized_expression" => test.named_child(0).map_or_else(Vec::new, |inner| tested_names(inner, model)),
        "not_operator" => match test.named_child(0) {
            Some(operand) if operand.kind() == "identifier" => vec![(model.text(operand), true)],
            _ => Vec::new(),
        },
        "boolean_operator" if test.child_by_field_id(FIELD.operator).is_some_and(|op| model.text(op) == "and") => {
            let mut names = Vec::new();
            for side in [FIELD.left, FIELD.right] {
                if let Some(side) = test.child_by_field_id(side) {
                    names.extend(tested_names(side, model));
                }
            }
            names
        }
        "comparison_operator" => {
            let (Some(left), Some(right), 2) = (test.named_child(0), test.named_child(1), test.named_child_count())
            else {
                return Vec::new();
            };
            let operator =
                &model.text(test)[left.end_byte() - test.start_byte()..right.start_byte() - test.start_byte()];
            let words: Vec<&str> = operator.split_whitespace().collect();
            if left.kind() != "identifier" || right.kind() != "none" {
                return Vec::new();
            }
            match words.as_slice() {
                ["is", "not"] => vec![(model.text(left), false)],
                ["is"] => vec![(model.text(left), true)],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}
