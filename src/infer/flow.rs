//! Which bindings of a local name may reach one use of it, in the function
//! that binds it: the last binding that always runs before the use (it
//! dominates the use), and every binding that may run between it and the
//! use (in a branch, a `try`, a loop, a walrus), or after the use in a
//! loop around it that the last binding is not in (the next iteration
//! sees them).
//!
//! Structured code only, read from the tree: a statement dominates a use
//! when it comes before it in a block that holds the use. Whatever this
//! cannot place (a use in a nested function or lambda, which runs later; a
//! name of a module or class scope) is left to the caller, which then meets
//! every binding of the name.

use tree_sitter::Node;

use super::Evaluator;
use crate::parse::FIELD;
use crate::semantic::{Binding, ScopeId, ScopeKind};

/// What lies between a name bound by an assignment and the statement, when
/// the statement binds it whenever it completes.
const ASSIGNING: &[&str] = &["pattern_list", "tuple_pattern", "assignment", "expression_statement"];

/// The same for imports, `def` and `class`.
const DEFINING: &[&str] = &[
    "dotted_name",
    "aliased_import",
    "import_statement",
    "import_from_statement",
    "function_definition",
    "class_definition",
    "decorated_definition",
];

impl<'t> Evaluator<'_, 't> {
    /// The indices (into the scope's bindings of `name`) of the bindings
    /// that may reach `use_node`; `None` when the use is not in the body of
    /// the function `found_in` is, or the name has one binding there.
    pub(super) fn reaching(&self, use_node: Node<'t>, name: &str, found_in: ScopeId) -> Option<Vec<usize>> {
        let scope = self.model.scope(found_in);
        // One binding reaches wherever the name is bound at all.
        if !matches!(scope.kind, ScopeKind::Function { .. }) || scope.bindings.get(name).is_none_or(|all| all.len() < 2)
        {
            return None;
        }
        let function = scope.node?;
        let body = function.child_by_field_id(FIELD.body)?;
        if !contains(body, use_node) {
            return None;
        }
        let ancestors = self.model.ancestors(use_node);
        if runs_later(&ancestors, function) {
            return None;
        }
        let bindings = scope.bindings.get(name)?;
        let binders = scope.binders.get(name)?;
        let before: Vec<usize> =
            (0..bindings.len()).filter(|&index| completes_before(&bindings[index], binders[index], use_node)).collect();
        let last = before
            .iter()
            .copied()
            .filter(|&index| dominates(&bindings[index], binders[index], use_node))
            .max_by_key(|&index| binders[index].start_byte());
        let from = last.map_or(0, |index| binders[index].start_byte());
        let mut reaching: Vec<usize> =
            before.into_iter().filter(|&index| binders[index].start_byte() >= from).collect();
        // The next iteration of a loop around the use sees what the loop binds.
        for outer in loops_around(use_node, &ancestors, function) {
            if last.is_some_and(|index| contains(outer, binders[index])) {
                break;
            }
            reaching.extend((0..bindings.len()).filter(|&index| contains(outer, binders[index])));
        }
        reaching.sort_unstable();
        reaching.dedup();
        Some(reaching)
    }
}

/// Whether the binding has happened by the time `use_node` runs, on a path
/// that reaches it: its value (or the binding name) ends before the use.
fn completes_before(binding: &Binding<'_>, binder: Node<'_>, use_node: Node<'_>) -> bool {
    let start = use_node.start_byte();
    match binding {
        Binding::Parameter { .. } => true,
        Binding::Assign(value) | Binding::Unpack { value, .. } | Binding::Iterate(value) => {
            binder.start_byte() < start && value.end_byte() <= start
        }
        _ => binder.end_byte() <= start,
    }
}

/// Whether every path to `use_node` runs the binding: a parameter; a loop
/// variable in its loop's body; an assignment, import or definition whose
/// statement comes before the use in a block that holds it.
fn dominates(binding: &Binding<'_>, binder: Node<'_>, use_node: Node<'_>) -> bool {
    let between = match binding {
        Binding::Parameter { .. } => return true,
        Binding::Iterate(_) => {
            let body = binder.parent().filter(|parent| parent.kind() == "for_statement");
            return body
                .and_then(|body| body.child_by_field_id(FIELD.body))
                .is_some_and(|body| contains(body, use_node));
        }
        Binding::Assign(_) | Binding::Unpack { .. } => ASSIGNING,
        Binding::Import(_) | Binding::Function | Binding::Class(_) => DEFINING,
        Binding::Annotated(_) | Binding::Other => return false,
    };
    let mut statement = binder;
    loop {
        let Some(parent) = statement.parent() else { return false };
        if matches!(parent.kind(), "block" | "module") {
            return contains(parent, use_node);
        }
        if !between.contains(&parent.kind()) {
            return false;
        }
        statement = parent;
    }
}

/// Whether the use is inside a nested function or lambda of `function`:
/// it runs whenever that is called, after any binding.
/// `ancestors`: the use's, nearest first.
fn runs_later(ancestors: &[Node<'_>], function: Node<'_>) -> bool {
    for node in ancestors {
        if node.id() == function.id() {
            return false;
        }
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
            return true;
        }
    }
    true
}

/// The loops around `use_node` inside `function`, innermost first, whose
/// next iteration may run the use again: a `for` body, a `while` condition
/// or body (never an `else` clause).
fn loops_around<'t>(use_node: Node<'t>, ancestors: &[Node<'t>], function: Node<'t>) -> Vec<Node<'t>> {
    let mut loops = Vec::new();
    let mut child = use_node;
    for &node in ancestors {
        if node.id() == function.id() {
            break;
        }
        let repeats = match node.kind() {
            "for_statement" => node.child_by_field_id(FIELD.body).is_some_and(|body| body.id() == child.id()),
            "while_statement" => child.kind() != "else_clause",
            _ => false,
        };
        if repeats {
            loops.push(node);
        }
        child = node;
    }
    loops
}

fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}
