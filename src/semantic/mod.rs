//! The semantic model of one file: scopes, what each name is bound to, and
//! qualified names through imports. Built in one walk over the tree; rules
//! query it and never walk scopes themselves.

pub mod arguments;
mod builder;

use rustc_hash::{FxHashMap, FxHashSet};

use tree_sitter::{Node, Tree};

use crate::parse::FIELD;

/// Index of a scope in [`SemanticModel::scopes`]; the module is scope 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeId(pub usize);

impl ScopeId {
    pub const MODULE: Self = Self(0);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Class,
    Function { is_async: bool },
    Lambda,
    Comprehension,
}

/// What one statement binds a name to.
#[derive(Debug, Clone)]
pub enum Binding<'t> {
    /// `import a.b as c`, `from a import b`: the qualified name (relative
    /// imports keep their leading dots).
    Import(String),
    /// `name = <expression>`: the right-hand side.
    Assign(Node<'t>),
    /// `a, b = <expression>` with plain names: the right-hand side and the
    /// name's position.
    Unpack { value: Node<'t>, index: usize },
    /// A `for` target or comprehension variable: the iterable.
    Iterate(Node<'t>),
    /// A parameter, with its annotation if any.
    Parameter { annotation: Option<Node<'t>> },
    /// `name: Type` with no value: the annotation.
    Annotated(Node<'t>),
    /// `def name`.
    Function,
    /// `class name`.
    Class(Node<'t>),
    /// Anything else: a loop target, `with ... as`, `except ... as`, `+=`, a pattern.
    Other,
}

/// How a method receives its first argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Instance,
    Class,
    Static,
    Property,
}

/// A function defined directly in a class body.
#[derive(Debug, Clone)]
pub struct Method<'t> {
    /// The class's qualified name.
    pub class: String,
    pub kind: MethodKind,
    /// `self` or `cls`, whatever it is called.
    pub first_parameter: Option<&'t str>,
}

/// The module a file is, as the project imports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleName {
    /// Dotted name: `accounts.models`.
    pub name: String,
    /// An `__init__.py`: relative imports start from the module itself.
    pub is_package: bool,
}

impl ModuleName {
    pub fn new(name: impl Into<String>, is_package: bool) -> Self {
        Self { name: name.into(), is_package }
    }

    /// `from ..x import y` seen from this module, as an absolute name.
    pub fn resolve_relative(&self, relative: &str) -> String {
        let dots = relative.len() - relative.trim_start_matches('.').len();
        let rest = &relative[dots..];
        let mut parts: Vec<&str> = self.name.split('.').filter(|part| !part.is_empty()).collect();
        if !self.is_package {
            parts.pop();
        }
        for _ in 1..dots {
            parts.pop();
        }
        if !rest.is_empty() {
            parts.push(rest);
        }
        parts.join(".")
    }
}

#[derive(Debug)]
pub struct Scope<'t> {
    pub kind: ScopeKind,
    pub parent: Option<ScopeId>,
    /// For a class scope: the class's qualified name.
    pub class_name: Option<String>,
    /// For a function scope directly in a class body.
    pub method: Option<Method<'t>>,
    /// The node that opened the scope (the module for scope 0).
    pub node: Option<Node<'t>>,
    pub bindings: FxHashMap<&'t str, Vec<Binding<'t>>>,
    /// The node each binding in `bindings` binds, at the same index: the
    /// name in the assignment, loop, parameter list, `def` or import.
    pub binders: FxHashMap<&'t str, Vec<Node<'t>>>,
    /// Names declared `global` or `nonlocal` here: not local to this scope.
    pub declared_outside: FxHashSet<&'t str>,
}

/// A top-level import statement, for the importer.
#[derive(Debug, Clone, Copy)]
pub struct TopLevelImport<'t> {
    pub node: Node<'t>,
}

pub struct SemanticModel<'t> {
    pub source: &'t str,
    pub tree: &'t Tree,
    /// The module the file is (`app.models`).
    pub module: ModuleName,
    pub scopes: Vec<Scope<'t>>,
    /// The scope each scope-creating node (def, lambda, class, comprehension) opens.
    scope_of_node: FxHashMap<usize, ScopeId>,
    /// Top-level imports in source order.
    pub top_level_imports: Vec<TopLevelImport<'t>>,
    /// Whether the module imports anything from `channels`.
    pub imports_channels: bool,
    /// Modules imported whole at module level: `from .models import *`.
    pub star_imports: Vec<String>,
    /// The bodies of `if`/`elif` tests that spell `isinstance`: only a name
    /// inside one can be narrowed, so the climb that looks for the test is
    /// done only there (a parent step costs a walk down from the root).
    pub narrowing_bodies: Vec<std::ops::Range<usize>>,
}

impl<'t> SemanticModel<'t> {
    pub fn build(source: &'t str, tree: &'t Tree, module: ModuleName) -> Self {
        builder::build(source, tree, module)
    }

    /// The ancestors of `node`, nearest first, from one walk down from the
    /// root. `Node::parent` walks down from the root on every call, so a
    /// climb through it costs a walk per step: quadratic in deeply nested
    /// code (20,000 `not`s took 40 s).
    pub fn ancestors(&self, node: Node<'t>) -> Vec<Node<'t>> {
        let mut path = Vec::new();
        let mut current = self.tree.root_node();
        while current.id() != node.id() {
            path.push(current);
            match current.child_with_descendant(node) {
                Some(next) => current = next,
                None => break,
            }
        }
        path.reverse();
        path
    }

    /// The nearest ancestor of `node` of this kind (`function_definition`).
    pub fn enclosing(&self, node: Node<'t>, kind: &str) -> Option<Node<'t>> {
        self.ancestors(node).into_iter().find(|ancestor| ancestor.kind() == kind)
    }

    /// The scope a def, lambda, class or comprehension node opens.
    pub fn scope_opened_by(&self, node: Node<'_>) -> Option<ScopeId> {
        self.scope_of_node.get(&node.id()).copied()
    }

    /// The scope code at `node` runs in: the innermost body of a def,
    /// lambda or class, or comprehension, around it (a def's defaults and
    /// annotations run in the scope around the def).
    pub fn scope_at(&self, node: Node<'_>) -> ScopeId {
        let mut child = node;
        let mut current = node.parent();
        while let Some(ancestor) = current {
            if let Some(&id) = self.scope_of_node.get(&ancestor.id()) {
                let inside = match ancestor.kind() {
                    "function_definition" | "lambda" | "class_definition" => {
                        ancestor.child_by_field_id(FIELD.body).is_some_and(|body| body.id() == child.id())
                    }
                    _ => true,
                };
                if inside {
                    return id;
                }
            }
            child = ancestor;
            current = ancestor.parent();
        }
        ScopeId::MODULE
    }

    pub fn scope(&self, id: ScopeId) -> &Scope<'t> {
        &self.scopes[id.0]
    }

    /// The scope that holds the binding `name` sees from `scope`, following
    /// Python's rules: class scopes are skipped from nested functions, and
    /// `global` jumps to the module.
    pub fn lookup(&self, name: &str, scope: ScopeId) -> Option<(ScopeId, &[Binding<'t>])> {
        let mut current = Some(scope);
        let mut first = true;
        while let Some(id) = current {
            let data = &self.scopes[id.0];
            if data.declared_outside.contains(name) {
                current = data.parent;
                first = false;
                continue;
            }
            let visible = first || data.kind != ScopeKind::Class;
            if visible && let Some(bindings) = data.bindings.get(name) {
                return Some((id, bindings));
            }
            current = data.parent;
            first = false;
        }
        None
    }

    pub fn text(&self, node: Node<'_>) -> &'t str {
        &self.source[node.byte_range()]
    }
}
