//! What the attributes of a class's instances hold: class-level assignments
//! (`shelf_model = Shelf`, `user_model = get_user_model()`), bare class
//! annotations (`member: Member`), and `self.x = ...` / `cls.x = ...` in any
//! of its methods (`setUp`, `asyncSetUp`, `setUpTestData`, `__init__`).
//! Evaluated while the index is built, so names stay as the module spells
//! them; the index resolves them when asked.

use std::collections::HashMap;

use tree_sitter::Node;

use super::definition_of;
use crate::infer::{Evaluator, Value, looks_like_class};
use crate::parse::FIELD;
use crate::semantic::{MethodKind, ScopeId};

/// The attributes the class assigns, each to what every assignment agrees
/// on: `Value::Unknown` when two disagree or one is not known (the class
/// still defines it, so a base's value does not apply). `None` only clears
/// an attribute and does not count.
pub(super) fn instance_attributes(class: Node<'_>, evaluator: &Evaluator<'_, '_>) -> HashMap<String, Value> {
    let model = evaluator.model;
    let mut found: HashMap<String, Vec<Value>> = HashMap::new();
    let Some(body) = class.child_by_field_id(FIELD.body) else { return HashMap::new() };
    let class_scope = model.scope_opened_by(class).unwrap_or(ScopeId::MODULE);
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        let definition = definition_of(statement);
        if definition.kind() == "function_definition" {
            assigned_in_method(definition, evaluator, &mut found);
            continue;
        }
        let Some(assignment) = statement.named_child(0).filter(|child| child.kind() == "assignment") else { continue };
        let Some(left) = assignment.child_by_field_id(FIELD.left).filter(|left| left.kind() == "identifier") else {
            continue;
        };
        let value = match (assignment.child_by_field_id(FIELD.right), assignment.child_by_field_id(FIELD.r#type)) {
            // `viewer: Optional[Member] = None`: the annotation says what it will hold.
            (Some(right), Some(annotation)) if right.kind() == "none" => evaluator
                .annotated_instance_class(annotation, class_scope)
                .map(|class| Value::Instance { class, preloaded: Vec::new() }),
            (Some(right), _) => value_of(right, class_scope, evaluator),
            // `member: Member`: instances hold a `Member`.
            (None, Some(annotation)) => match evaluator.annotated_instance_class(annotation, class_scope) {
                Some(class) if looks_like_class(&class) => Some(Value::Instance { class, preloaded: Vec::new() }),
                _ => Some(Value::Unknown),
            },
            (None, None) => continue,
        };
        if let Some(value) = value {
            found.entry(model.text(left).to_owned()).or_default().push(value);
        }
    }
    found
        .into_iter()
        .map(|(name, values)| {
            let mut values = values.into_iter();
            let first = values.next().unwrap_or(Value::Unknown);
            (name, values.fold(first, Value::either))
        })
        .collect()
}

/// `self.x = value` (`cls.x` in a class method) anywhere in the method's
/// own body, nested functions and classes left out.
fn assigned_in_method(method: Node<'_>, evaluator: &Evaluator<'_, '_>, found: &mut HashMap<String, Vec<Value>>) {
    let model = evaluator.model;
    let Some(scope) = model.scope_opened_by(method) else { return };
    let Some(data) = model.scope(scope).method.as_ref() else { return };
    if data.kind == MethodKind::Static {
        return;
    }
    let Some(receiver) = data.first_parameter else { return };
    let Some(body) = method.child_by_field_id(FIELD.body) else { return };
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "function_definition" | "lambda" | "class_definition" | "decorated_definition" => continue,
            "assignment" => {
                if let (Some(left), Some(right)) =
                    (node.child_by_field_id(FIELD.left), node.child_by_field_id(FIELD.right))
                    && left.kind() == "attribute"
                    && left.child_by_field_id(FIELD.object).is_some_and(|object| model.text(object) == receiver)
                    && let Some(attribute) = left.child_by_field_id(FIELD.attribute)
                    && let Some(value) = value_of(right, scope, evaluator)
                {
                    found.entry(model.text(attribute).to_owned()).or_default().push(value);
                }
            }
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
}

/// What an assigned value is; `None` for `None`, which only clears it.
fn value_of(value: Node<'_>, scope: ScopeId, evaluator: &Evaluator<'_, '_>) -> Option<Value> {
    (value.kind() != "none").then(|| evaluator.eval(value, scope))
}
