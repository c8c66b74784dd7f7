//! Builds the [`SemanticModel`] in one iterative walk (deep expressions in
//! generated files would overflow a recursive one).

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::{Node, Tree};

use super::{Binding, Method, MethodKind, ModuleName, Scope, ScopeId, ScopeKind, SemanticModel, TopLevelImport};
use crate::parse::FIELD;

pub(super) fn build<'t>(source: &'t str, tree: &'t Tree, module: ModuleName) -> SemanticModel<'t> {
    let mut model = SemanticModel {
        source,
        tree,
        module,
        scopes: vec![Scope {
            kind: ScopeKind::Module,
            parent: None,
            class_name: None,
            method: None,
            node: Some(tree.root_node()),
            bindings: FxHashMap::default(),
            binders: FxHashMap::default(),
            declared_outside: FxHashSet::default(),
        }],
        scope_of_node: FxHashMap::default(),
        top_level_imports: Vec::new(),
        imports_channels: false,
        star_imports: Vec::new(),
        narrowing_bodies: Vec::new(),
    };
    let root = tree.root_node();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        if matches!(child.kind(), "import_statement" | "import_from_statement" | "future_import_statement") {
            model.top_level_imports.push(TopLevelImport { node: child });
        }
    }
    let mut builder = Builder { model };
    builder.walk(root);
    builder.model
}

struct Builder<'t> {
    model: SemanticModel<'t>,
}

impl<'t> Builder<'t> {
    fn text(&self, node: Node<'t>) -> &'t str {
        &self.model.source[node.byte_range()]
    }

    fn open(&mut self, node: Node<'t>, kind: ScopeKind, parent: ScopeId) -> ScopeId {
        let id = ScopeId(self.model.scopes.len());
        self.model.scopes.push(Scope {
            kind,
            parent: Some(parent),
            class_name: None,
            method: None,
            node: Some(node),
            bindings: FxHashMap::default(),
            binders: FxHashMap::default(),
            declared_outside: FxHashSet::default(),
        });
        self.model.scope_of_node.insert(node.id(), id);
        id
    }

    fn bind(&mut self, scope: ScopeId, name: Node<'t>, binding: Binding<'t>) {
        let text = self.text(name);
        let data = &mut self.model.scopes[scope.0];
        data.bindings.entry(text).or_default().push(binding);
        data.binders.entry(text).or_default().push(name);
    }

    /// Binds every plain name in an assignment target (tuples, lists, stars).
    fn bind_targets(&mut self, scope: ScopeId, target: Node<'t>, binding: &Binding<'t>) {
        let mut stack = vec![target];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "identifier" => self.bind(scope, node, binding.clone()),
                // `a.b = ...` and `a[0] = ...` bind nothing.
                "attribute" | "subscript" => {}
                _ => {
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor));
                }
            }
        }
    }

    fn walk(&mut self, root: Node<'t>) {
        let mut stack = vec![(root, ScopeId::MODULE)];
        while let Some((node, scope)) = stack.pop() {
            match node.kind() {
                "function_definition" => self.function(node, scope, &mut stack),
                "lambda" => {
                    let inner = self.open(node, ScopeKind::Lambda, scope);
                    if let Some(parameters) = node.child_by_field_id(FIELD.parameters) {
                        self.parameters(parameters, scope, inner, &mut stack);
                    }
                    if let Some(body) = node.child_by_field_id(FIELD.body) {
                        stack.push((body, inner));
                    }
                }
                "class_definition" => self.class(node, scope, &mut stack),
                "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
                    let inner = self.open(node, ScopeKind::Comprehension, scope);
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor) {
                        if child.kind() == "for_in_clause" {
                            self.loop_target(child, inner);
                        }
                        stack.push((child, inner));
                    }
                }
                "assignment" => {
                    self.assignment(node, scope);
                    push_children(node, scope, &mut stack);
                }
                "for_statement" => {
                    self.loop_target(node, scope);
                    push_children(node, scope, &mut stack);
                }
                "augmented_assignment" => {
                    // `x += 1` binds a name whose value we do not follow.
                    if let Some(left) = node.child_by_field_id(FIELD.left) {
                        self.bind_targets(scope, left, &Binding::Other);
                    }
                    push_children(node, scope, &mut stack);
                }
                "named_expression" => {
                    // `:=` binds in the nearest scope that is not a comprehension.
                    let mut target = scope;
                    while self.model.scopes[target.0].kind == ScopeKind::Comprehension {
                        target = self.model.scopes[target.0].parent.unwrap_or(ScopeId::MODULE);
                    }
                    if let (Some(name), Some(value)) =
                        (node.child_by_field_id(FIELD.name), node.child_by_field_id(FIELD.value))
                    {
                        self.bind(target, name, Binding::Assign(value));
                    }
                    push_children(node, scope, &mut stack);
                }
                "as_pattern" => {
                    if let Some(alias) = node.child_by_field_id(FIELD.alias) {
                        self.bind_targets(scope, alias, &Binding::Other);
                    }
                    push_children(node, scope, &mut stack);
                }
                "except_clause" => {
                    // `except E as name` (older grammars put the name after an `as` token).
                    let mut cursor = node.walk();
                    let mut after_as = false;
                    for child in node.children(&mut cursor) {
                        if after_as && child.kind() == "identifier" {
                            self.bind(scope, child, Binding::Other);
                        }
                        after_as = child.kind() == "as";
                    }
                    push_children(node, scope, &mut stack);
                }
                "if_statement" | "elif_clause" => {
                    if let (Some(condition), Some(body)) =
                        (node.child_by_field_id(FIELD.condition), node.child_by_field_id(FIELD.consequence))
                        && self.text(condition).contains("isinstance")
                    {
                        self.model.narrowing_bodies.push(body.byte_range());
                    }
                    push_children(node, scope, &mut stack);
                }
                "import_statement" => self.import(node, scope),
                "import_from_statement" => self.import_from(node, scope),
                "global_statement" | "nonlocal_statement" => {
                    let mut cursor = node.walk();
                    for child in node.named_children(&mut cursor) {
                        if child.kind() == "identifier" {
                            let name = self.text(child);
                            self.model.scopes[scope.0].declared_outside.insert(name);
                        }
                    }
                }
                _ => push_children(node, scope, &mut stack),
            }
        }
    }

    /// A `def`: binds its name, opens its scope, binds its parameters.
    fn function(&mut self, node: Node<'t>, scope: ScopeId, stack: &mut Vec<(Node<'t>, ScopeId)>) {
        if let Some(name) = node.child_by_field_id(FIELD.name) {
            self.bind(scope, name, Binding::Function);
        }
        let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
        let inner = self.open(node, ScopeKind::Function { is_async }, scope);
        self.model.scopes[inner.0].method = self.method(node, scope);
        if let Some(parameters) = node.child_by_field_id(FIELD.parameters) {
            self.parameters(parameters, scope, inner, stack);
        }
        if let Some(returns) = node.child_by_field_id(FIELD.return_type) {
            stack.push((returns, scope));
        }
        if let Some(body) = node.child_by_field_id(FIELD.body) {
            stack.push((body, inner));
        }
    }

    /// A `class`: binds its name and opens a scope named after it.
    fn class(&mut self, node: Node<'t>, scope: ScopeId, stack: &mut Vec<(Node<'t>, ScopeId)>) {
        if let Some(name) = node.child_by_field_id(FIELD.name) {
            self.bind(scope, name, Binding::Class(node));
        }
        let inner = self.open(node, ScopeKind::Class, scope);
        let name = node.child_by_field_id(FIELD.name).map_or("", |name| self.text(name));
        let outer = self.qualified_prefix(scope);
        self.model.scopes[inner.0].class_name = Some(format!("{outer}.{name}"));
        if let Some(bases) = node.child_by_field_id(FIELD.superclasses) {
            stack.push((bases, scope));
        }
        if let Some(body) = node.child_by_field_id(FIELD.body) {
            stack.push((body, inner));
        }
    }

    /// What names defined in `scope` are qualified with, as Python's
    /// `__qualname__` after the module: `app.views`, `app.views.Outer`,
    /// `app.views.test_consumer.<locals>` (a class defined in a function).
    fn qualified_prefix(&self, scope: ScopeId) -> String {
        let data = &self.model.scopes[scope.0];
        match data.kind {
            ScopeKind::Module => self.model.module.name.clone(),
            ScopeKind::Class => data.class_name.clone().unwrap_or_else(|| self.model.module.name.clone()),
            _ => {
                let parent =
                    data.parent.map_or_else(|| self.model.module.name.clone(), |parent| self.qualified_prefix(parent));
                match data
                    .node
                    .filter(|node| node.kind() == "function_definition")
                    .and_then(|node| node.child_by_field_id(FIELD.name))
                {
                    Some(name) => format!("{parent}.{}.<locals>", self.text(name)),
                    // A lambda or comprehension: Python names it `<lambda>`; no class is defined in one.
                    None => parent,
                }
            }
        }
    }

    /// For a def directly in a class body: the class and the method kind.
    fn method(&self, node: Node<'t>, scope: ScopeId) -> Option<Method<'t>> {
        let class = self.model.scopes[scope.0].class_name.clone()?;
        let mut kind = MethodKind::Instance;
        if let Some(decorated) = node.parent().filter(|parent| parent.kind() == "decorated_definition") {
            let mut cursor = decorated.walk();
            for decorator in decorated.named_children(&mut cursor).filter(|child| child.kind() == "decorator") {
                let text = decorator.named_child(0).map_or("", |expression| self.text(expression));
                match text.rsplit('.').next().unwrap_or(text) {
                    "classmethod" => kind = MethodKind::Class,
                    "staticmethod" => kind = MethodKind::Static,
                    "property" | "cached_property" => kind = MethodKind::Property,
                    _ => {}
                }
            }
        }
        let first_parameter = node.child_by_field_id(FIELD.parameters).and_then(|parameters| {
            let mut cursor = parameters.walk();
            let first = parameters.named_children(&mut cursor).next()?;
            let name = match first.kind() {
                "identifier" => Some(first),
                "typed_parameter" => first_identifier(first),
                "default_parameter" | "typed_default_parameter" => first.child_by_field_id(FIELD.name),
                _ => None,
            };
            name.map(|name| self.text(name))
        });
        let first_parameter = if kind == MethodKind::Static { None } else { first_parameter };
        Some(Method { class, kind, first_parameter })
    }

    /// `for x in iterable`: a plain name is bound to the iterable's items.
    fn loop_target(&mut self, node: Node<'t>, scope: ScopeId) {
        let (Some(left), right) = (node.child_by_field_id(FIELD.left), node.child_by_field_id(FIELD.right)) else {
            return;
        };
        match (left.kind(), right) {
            ("identifier", Some(iterable)) => self.bind(scope, left, Binding::Iterate(iterable)),
            _ => self.bind_targets(scope, left, &Binding::Other),
        }
    }

    fn assignment(&mut self, node: Node<'t>, scope: ScopeId) {
        let Some(left) = node.child_by_field_id(FIELD.left) else { return };
        // `a = b = value`: the innermost right-hand side is what both get.
        let mut right = node.child_by_field_id(FIELD.right);
        while let Some(value) = right.filter(|value| value.kind() == "assignment") {
            right = value.child_by_field_id(FIELD.right);
        }
        match (left.kind(), right) {
            ("identifier", Some(value)) => self.bind(scope, left, Binding::Assign(value)),
            ("identifier", None) => match node.child_by_field_id(FIELD.r#type) {
                Some(annotation) => self.bind(scope, left, Binding::Annotated(annotation)),
                None => self.bind(scope, left, Binding::Other),
            },
            ("pattern_list" | "tuple_pattern", Some(value)) if is_flat(left) => {
                let mut cursor = left.walk();
                let names: Vec<Node<'t>> = left.named_children(&mut cursor).collect();
                for (index, name) in names.into_iter().enumerate() {
                    self.bind(scope, name, Binding::Unpack { value, index });
                }
            }
            _ => self.bind_targets(scope, left, &Binding::Other),
        }
    }

    /// Binds parameters in `inner`; defaults and annotations are evaluated in `outer`.
    fn parameters(
        &mut self,
        parameters: Node<'t>,
        outer: ScopeId,
        inner: ScopeId,
        stack: &mut Vec<(Node<'t>, ScopeId)>,
    ) {
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            let annotation = parameter.child_by_field_id(FIELD.r#type);
            if let Some(annotation) = annotation {
                stack.push((annotation, outer));
            }
            if let Some(default) = parameter.child_by_field_id(FIELD.value) {
                stack.push((default, outer));
            }
            let name = match parameter.kind() {
                "identifier" => Some(parameter),
                "default_parameter" | "typed_default_parameter" => parameter.child_by_field_id(FIELD.name),
                _ => first_identifier(parameter),
            };
            if let Some(name) = name {
                self.bind(inner, name, Binding::Parameter { annotation });
            }
        }
    }

    fn import(&mut self, node: Node<'t>, scope: ScopeId) {
        let mut cursor = node.walk();
        for name in node.children_by_field_name("name", &mut cursor) {
            match name.kind() {
                "dotted_name" => {
                    // `import a.b.c` binds `a` to the package `a`.
                    let full = self.text(name);
                    let first = full.split('.').next().unwrap_or(full).trim();
                    if let Some(head) = name.named_child(0) {
                        self.bind(scope, head, Binding::Import(first.to_owned()));
                    }
                    self.note_channels(full);
                }
                "aliased_import" => {
                    if let (Some(dotted), Some(alias)) =
                        (name.child_by_field_id(FIELD.name), name.child_by_field_id(FIELD.alias))
                    {
                        let full = compact(self.text(dotted));
                        self.note_channels(&full);
                        self.bind(scope, alias, Binding::Import(full));
                    }
                }
                _ => {}
            }
        }
    }

    fn import_from(&mut self, node: Node<'t>, scope: ScopeId) {
        let Some(module) = node.child_by_field_id(FIELD.module_name) else { return };
        let mut module = compact(self.text(module));
        if module.starts_with('.') {
            module = self.model.module.resolve_relative(&module);
        }
        self.note_channels(&module);
        let join = |name: &str| if module.is_empty() { name.to_owned() } else { format!("{module}.{name}") };
        let mut cursor = node.walk();
        if scope == ScopeId::MODULE && node.named_children(&mut cursor).any(|child| child.kind() == "wildcard_import") {
            self.model.star_imports.push(module.clone());
        }
        let mut cursor = node.walk();
        for name in node.children_by_field_name("name", &mut cursor) {
            match name.kind() {
                "dotted_name" => {
                    let imported = compact(self.text(name));
                    self.bind(scope, name, Binding::Import(join(&imported)));
                }
                "aliased_import" => {
                    if let (Some(dotted), Some(alias)) =
                        (name.child_by_field_id(FIELD.name), name.child_by_field_id(FIELD.alias))
                    {
                        let imported = compact(self.text(dotted));
                        self.bind(scope, alias, Binding::Import(join(&imported)));
                    }
                }
                _ => {}
            }
        }
    }

    fn note_channels(&mut self, module: &str) {
        if module == "channels" || module.starts_with("channels.") {
            self.model.imports_channels = true;
        }
    }
}

fn push_children<'t>(node: Node<'t>, scope: ScopeId, stack: &mut Vec<(Node<'t>, ScopeId)>) {
    let mut cursor = node.walk();
    stack.extend(node.named_children(&mut cursor).map(|child| (child, scope)));
}

fn first_identifier(node: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = node.walk();

    node.named_children(&mut cursor).find(|child| child.kind() == "identifier")
}

/// A dotted name without the white space or line continuations it may hold.
fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '\\').collect()
}

/// `a, b` or `(a, b)`: plain names only (no star, no nesting, no attribute).
fn is_flat(pattern: Node<'_>) -> bool {
    let mut cursor = pattern.walk();
    pattern.named_children(&mut cursor).all(|child| child.kind() == "identifier")
}
