//! What a name is bound to: through imports, assignments (when every
//! binding in its scope agrees), loops, parameters and their annotations,
//! `self` and `cls`.

use tree_sitter::Node;

use super::facts::{OrmClass, ReturnedElement};
use super::{Certainty, DJANGO_MODEL, Evaluator, USER_MODEL_TAG, USER_TAG, Value};

use crate::parse::FIELD;
use crate::semantic::{Binding, MethodKind, ScopeId, ScopeKind};

impl<'t> Evaluator<'_, 't> {
    /// A name unpacked from `value` at `index`: `obj, created =
    /// Model.objects.get_or_create(...)` (or awaited `aget_or_create`) makes
    /// `obj` an instance of the model.
    pub(super) fn unpacked(&self, value: Node<'t>, index: usize, scope: ScopeId, depth: usize) -> Value {
        if depth > super::MAX_DEPTH {
            return Value::Unknown;
        }
        // `pair = await load(pk)` then `member, created = pair`.
        if value.kind() == "identifier"
            && let Some((found, [Binding::Assign(bound)])) = self.model.lookup(self.model.text(value), scope)
        {
            return self.unpacked(*bound, index, found, depth + 1);
        }
        let awaited = value.kind() == "await";
        let Some(call) = (if awaited { value.named_child(0) } else { Some(value) }) else { return Value::Unknown };
        let Some(mut callee) = call.child_by_field_id(FIELD.function) else { return Value::Unknown };
        let mut awaited = awaited;
        // `await wrapper(f)(...)` unpacks what `f(...)` returns; `await
        // wrapper(lambda: e)()` what `e` is.
        if awaited
            && callee.kind() == "call"
            && callee.child_by_field_id(FIELD.function).is_some_and(|wrapper| self.is_wrapper(wrapper, scope))
        {
            let Some(wrapped) =
                callee.child_by_field_id(FIELD.arguments).and_then(|arguments| arguments.named_child(0))
            else {
                return Value::Unknown;
            };
            if wrapped.kind() == "lambda" {
                let lambda_scope = self.model.scope_opened_by(wrapped).unwrap_or(scope);
                return wrapped
                    .child_by_field_id(FIELD.body)
                    .map_or(Value::Unknown, |body| self.unpacked(body, index, lambda_scope, depth + 1));
            }
            (callee, awaited) = (wrapped, false);
        }
        // `trade, members = load(pk)` of a `def load` nested here.
        if let Some((definition, awaitable)) = self.nested_function(callee, scope) {
            return if awaitable == awaited {
                self.nested_returns(definition, Some(index), depth)
            } else {
                Value::Unknown
            };
        }
        // `trade, members = await load(pk)` of a project function.
        if let Some(index_facts) = self.index
            && let Some(target) = super::facts::callee_target(callee, scope, self, None)
            && let Some((element, awaitable)) = index_facts.returned_element(&target, index, self.rules)
        {
            if awaitable != awaited {
                return Value::Unknown;
            }
            return match element {
                ReturnedElement::Instance(class) => match self.instance_of(class) {
                    instance @ Value::Instance { .. } => instance,
                    _ => Value::Unknown,
                },
                ReturnedElement::List(class) => Value::InstanceList { class: Some(class), preloaded: Vec::new() },
            };
        }
        if callee.kind() != "attribute" {
            return Value::Unknown;
        }
        let (Some(object), Some(method)) =
            (callee.child_by_field_id(FIELD.object), callee.child_by_field_id(FIELD.attribute))
        else {
            return Value::Unknown;
        };
        let method = self.model.text(method);
        let sync_name =
            if awaited { self.rules.orm.async_twins.get(method).map_or("", |twin| twin.sync.as_str()) } else { method };
        if index != 0 || !self.rules.orm.fetching_pairs.contains(sync_name) {
            return Value::Unknown;
        }
        match self.eval_at(object, scope, depth + 1) {
            Value::Manager { model, certainty, preloaded, .. }
            | Value::QuerySet { model, certainty, preloaded, .. } => super::fetched(model, certainty, preloaded),
            _ => Value::Unknown,
        }
    }

    /// What `name` is where `use_node` reads it (see [`Evaluator::reaching`]),
    /// or anywhere in its scope without a use.
    pub(super) fn name(&self, name: &str, use_node: Option<Node<'t>>, scope: ScopeId, depth: usize) -> Value {
        let Some((found_in, _)) = self.model.lookup(name, scope) else {
            return self.star_imported(name);
        };
        let reaching = use_node.and_then(|use_node| self.reaching(use_node, name, found_in));
        let key = (found_in, name.to_owned(), reaching);
        if let Some(known) = self.names.borrow().get(&key) {
            return known.clone();
        }
        self.names.borrow_mut().insert(key.clone(), Value::Unknown);
        let value = self.name_uncached(name, key.2.as_deref(), scope, depth);
        self.names.borrow_mut().insert(key, value.clone());
        value
    }

    /// A name no statement binds, taken from a `from app.models import *`:
    /// the first such module that defines it, once the index knows them
    /// (while it is built, a class-like name of the only such module).
    fn star_imported(&self, name: &str) -> Value {
        let stars = &self.model.star_imports;
        match self.index {
            Some(index) => {
                stars.iter().find_map(|star| index.resolve_value(&format!("{star}.{name}"))).unwrap_or(Value::Unknown)
            }
            None => match stars.as_slice() {
                [star] if name.starts_with(|c: char| c.is_ascii_uppercase()) => {
                    Value::Qualified(format!("{star}.{name}"))
                }
                _ => Value::Unknown,
            },
        }
    }

    /// The bindings of the name `use_node` reads that may reach it (every
    /// binding of its scope where the flow is not followed).
    pub fn reaching_bindings(&self, use_node: Node<'t>, scope: ScopeId) -> Vec<Binding<'t>> {
        let name = self.model.text(use_node);
        let Some((found_in, bindings)) = self.model.lookup(name, scope) else { return Vec::new() };
        match self.reaching(use_node, name, found_in) {
            Some(reaching) => reaching.into_iter().filter_map(|index| bindings.get(index).cloned()).collect(),
            None => bindings.to_vec(),
        }
    }

    /// The meet of the bindings of `name` (those in `reaching` when given).
    fn name_uncached(&self, name: &str, reaching: Option<&[usize]>, scope: ScopeId, depth: usize) -> Value {
        let Some((found_in, bindings)) = self.model.lookup(name, scope) else {
            return Value::Unknown;
        };
        let found_scope = self.model.scope(found_in);
        let module_level = found_scope.kind == ScopeKind::Module;
        let mut agreed: Option<Value> = None;
        // `m: Member` types `m` where nothing else does, and never erases what does.
        let mut annotated = None;
        for (index, binding) in bindings.iter().enumerate() {
            if let Binding::Annotated(annotation) = binding {
                annotated = Some(*annotation);
                continue;
            }
            if reaching.is_some_and(|reaching| !reaching.contains(&index)) {
                continue;
            }
            // `x = None` only clears the name: a placeholder before the real
            // value, or the fallback of a failed lookup.
            if let Binding::Assign(value) = binding
                && value.kind() == "none"
            {
                continue;
            }
            let value = match binding {
                Binding::Import(qualified) => self.resolve(qualified.clone()),
                Binding::Class(_) | Binding::Function if module_level => {
                    Value::Qualified(format!("{}.{name}", self.model.module.name))
                }
                // A class defined in a function: by its `__qualname__`
                // (`module.handler.<locals>.Query`), as the index keeps it.
                Binding::Class(definition) => self
                    .model
                    .scope_opened_by(*definition)
                    .and_then(|inner| self.model.scope(inner).class_name.clone())
                    .map_or(Value::Unknown, Value::Qualified),
                // `stream: Stream = make()`: the annotation where the value says nothing.
                Binding::Assign(value) => match self.eval_at(*value, found_in, depth + 1) {
                    Value::Unknown => value
                        .parent()
                        .filter(|assignment| assignment.kind() == "assignment")
                        .and_then(|assignment| assignment.child_by_field_id(FIELD.r#type))
                        .map_or(Value::Unknown, |annotation| self.annotation_value(annotation, found_in, depth)),
                    known => known,
                },
                Binding::Unpack { value, index } => self.unpacked(*value, *index, found_in, depth + 1),
                Binding::Iterate(iterable) if matches!(iterable.kind(), "tuple" | "list" | "set") => {
                    self.model_class_among(*iterable, found_in, depth)
                }
                Binding::Iterate(iterable) => match self.eval_at(*iterable, found_in, depth + 1) {
                    Value::QuerySet { model: Some(class), preloaded, .. } => Value::Instance { class, preloaded },
                    Value::InstanceList { class: Some(class), preloaded } => Value::Instance { class, preloaded },
                    // `for conn in connections.all()`: the recipe names the items.
                    _ => self.recipe_items(*iterable, found_in, depth),
                },
                Binding::Parameter { annotation } => self.parameter(name, found_scope, *annotation, found_in, depth),
                _ => Value::Unknown,
            };
            if value == Value::Unknown {
                return Value::Unknown;
            }
            agreed = match agreed {
                None => Some(value),
                Some(previous) => match meet(previous, value) {
                    Some(both) => Some(both),
                    None => return Value::Unknown,
                },
            };
        }
        match (agreed, annotated) {
            (Some(value), _) => value,
            (None, Some(annotation)) => self.annotation_value(annotation, found_in, depth),
            (None, None) => Value::Unknown,
        }
    }

    /// `for model in (Book, Shelf)`: a model class, whichever it is. The same
    /// class throughout is that class; different ones are "a model",
    /// Django's `Model`, which has a manager and instances but no relations.
    fn model_class_among(&self, literal: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        let mut cursor = literal.walk();
        let mut classes: Vec<String> = Vec::new();
        for element in literal.named_children(&mut cursor) {
            match self.eval_at(element, scope, depth + 1) {
                Value::Qualified(class) if self.is_model_class(&class) => classes.push(class),
                _ => return Value::Unknown,
            }
        }
        classes.dedup();
        match classes.as_slice() {
            [] => Value::Unknown,
            [one] => Value::Qualified(one.clone()),
            _ => Value::Qualified(DJANGO_MODEL.to_owned()),
        }
    }

    /// What `isinstance(name, Model)` says of `name` at `node`: inside the
    /// body of an `if` or `elif` whose condition is that call (alone, or one
    /// side of an `and`), an instance of the model.
    pub(super) fn narrowed(&self, node: Node<'t>, name: &str, scope: ScopeId, depth: usize) -> Option<Value> {
        let at = node.start_byte();
        if !self.model.narrowing_bodies.iter().any(|body| body.contains(&at)) {
            return None;
        }
        let mut child = node;
        for ancestor in self.model.ancestors(node) {
            match ancestor.kind() {
                "function_definition" | "lambda" | "class_definition" => return None,
                "if_statement" | "elif_clause"
                    if ancestor.child_by_field_id(FIELD.consequence).is_some_and(|body| body.id() == child.id()) =>
                {
                    let condition = ancestor.child_by_field_id(FIELD.condition)?;
                    if let Some(class) = self.isinstance_model(condition, name, scope, depth) {
                        return Some(Value::Instance { class, preloaded: Vec::new() });
                    }
                }
                _ => {}
            }
            child = ancestor;
        }
        None
    }

    /// The model `condition` tests `name` for: `isinstance(name, Book)`,
    /// within `and`s and parentheses.
    fn isinstance_model(&self, condition: Node<'t>, name: &str, scope: ScopeId, depth: usize) -> Option<String> {
        match condition.kind() {
            "parenthesized_expression" => self.isinstance_model(condition.named_child(0)?, name, scope, depth),
            "boolean_operator" => {
                let operator = condition.child_by_field_id(FIELD.operator)?;
                if self.model.text(operator) != "and" {
                    return None;
                }
                let left = condition.child_by_field_id(FIELD.left)?;
                let right = condition.child_by_field_id(FIELD.right)?;
                self.isinstance_model(left, name, scope, depth)
                    .or_else(|| self.isinstance_model(right, name, scope, depth))
            }
            "call" => {
                let callee = condition.child_by_field_id(FIELD.function)?;
                let builtin =
                    self.model.text(callee) == "isinstance" && self.model.lookup("isinstance", scope).is_none();
                let arguments = condition.child_by_field_id(FIELD.arguments)?;
                let (subject, class) = (arguments.named_child(0)?, arguments.named_child(1)?);
                if !builtin || arguments.named_child_count() != 2 || self.model.text(subject) != name {
                    return None;
                }
                match self.eval_at(class, scope, depth + 1) {
                    Value::Qualified(class) if self.is_model_class(&class) => Some(class),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `self` and `cls` in a method; a parameter annotated with a class.
    pub(super) fn parameter(
        &self,
        name: &str,
        scope: &crate::semantic::Scope<'t>,
        annotation: Option<Node<'t>>,
        scope_id: ScopeId,
        depth: usize,
    ) -> Value {
        if let Some(method) = &scope.method
            && method.first_parameter == Some(name)
        {
            let class_node = scope.parent.and_then(|parent| self.model.scope(parent).node);
            return match method.kind {
                MethodKind::Class => Value::Qualified(method.class.clone()),
                MethodKind::Instance | MethodKind::Property => match self.orm_class(&method.class, class_node, depth) {
                    // `self` in a method of a custom `QuerySet` or manager.
                    Some(OrmClass::QuerySet) => Value::QuerySet {
                        model: None,
                        certainty: Certainty::Certain,
                        preloaded: Vec::new(),
                        classes: vec![method.class.clone()],
                    },
                    Some(OrmClass::Manager) => Value::Manager {
                        model: None,
                        certainty: Certainty::Certain,
                        classes: vec![method.class.clone()],
                        preloaded: Vec::new(),
                    },
                    None => Value::Instance { class: method.class.clone(), preloaded: Vec::new() },
                },
                MethodKind::Static => Value::Unknown,
            };
        }
        let Some(annotation) = annotation else {
            return match self.fixture(name, scope) {
                Value::Unknown => self.passed(name, scope_id, depth),
                fixture => fixture,
            };
        };
        self.annotation_value(annotation, scope.parent.unwrap_or(scope_id), depth)
    }

    /// What a value annotated `annotation` is: an instance of a model
    /// (`User`, `Optional[User]`, `"User"`, a type variable bound to one),
    /// the class itself (`type[User]`), or a tagged library value.
    fn annotation_value(&self, annotation: Node<'t>, parent: ScopeId, depth: usize) -> Value {
        // `items: list[Item]`: iterating it gives instances of `Item`.
        if let Some(element) = container_element(annotation, |node| self.model.text(node)) {
            return match self.annotation_value(element, parent, depth + 1) {
                Value::Instance { class, .. } => Value::InstanceList { class: Some(class), preloaded: Vec::new() },
                _ => Value::Unknown,
            };
        }
        let Some((class_node, of_class)) = annotated_class(annotation, |node| self.model.text(node)) else {
            return Value::Unknown;
        };
        let class = self.annotated(class_node, parent, depth);
        match class {
            // `model: type[Book]` holds the class itself.
            Value::Qualified(class) if of_class => {
                if self.is_model_class(&class) {
                    Value::Qualified(class)
                } else {
                    Value::Unknown
                }
            }
            Value::Qualified(class) if self.is_model_class(&class) => Value::Instance { class, preloaded: Vec::new() },
            // A class the recipes tag (`client: Client`, `serializer: BookSerializer`),
            // or a `QuerySet` (`qs: QuerySet`): a guess, since code annotated so
            // often takes a list too (`except AttributeError: len(qs)`).
            Value::Qualified(class) => match self.instance_of(class) {
                tagged @ Value::Tagged { .. } => tagged,
                Value::QuerySet { model, preloaded, classes, .. } => {
                    Value::QuerySet { model, certainty: Certainty::Guess, preloaded, classes }
                }
                // A project class (`exporter: Exporter`): its methods, or
                // its subclasses' overrides of an abstract one, run.
                instance @ Value::Instance { .. }
                    if self.index.is_some_and(
                        |index| matches!(&instance, Value::Instance { class, .. } if index.is_class(class)),
                    ) =>
                {
                    instance
                }
                _ => Value::Unknown,
            },
            _ => Value::Unknown,
        }
    }

    /// The class whose instances an annotation says a value holds: `User`,
    /// `Optional[User]`, `User | None`, `"User"` (not `type[User]`).
    pub fn annotated_instance_class(&self, annotation: Node<'t>, scope: ScopeId) -> Option<String> {
        // `A | B | None`: either class, so neither is known.
        let text = self.model.text(annotation);
        if text.split('|').filter(|part| !matches!(part.trim().trim_matches(['"', '\'']), "None" | "")).count() > 1 {
            return None;
        }
        let (class_node, of_class) = annotated_class(annotation, |node| self.model.text(node))?;
        match self.annotated(class_node, scope, 0) {
            Value::Qualified(class) if !of_class => Some(class),
            _ => None,
        }
    }

    /// The class an annotation names: a name, a dotted name or a string.
    pub(super) fn annotated(&self, class_node: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        if class_node.kind() == "string" {
            let text = self.model.text(class_node).trim_matches(|c| c == '"' || c == '\'');
            // `"Member | None"`: the class beside `None`.
            let text = text.split('|').map(str::trim).find(|part| *part != "None").unwrap_or(text);
            self.name(text, None, scope, depth + 1)
        } else {
            self.eval_at(class_node, scope, depth + 1)
        }
    }

    /// A pytest fixture the recipes describe, as the parameter of a test
    /// function (`test_*` in a test module) or of another fixture.
    fn fixture(&self, name: &str, scope: &crate::semantic::Scope<'t>) -> Value {
        let Some(&tag) = self.rules.fixtures.get(name) else { return Value::Unknown };
        let Some(function) = scope.node.filter(|node| node.kind() == "function_definition") else {
            return Value::Unknown;
        };
        // A test module, or any module of a `tests` package.
        let test_module = self.model.module.name.split('.').any(|part| {
            matches!(part, "tests" | "test" | "conftest") || part.starts_with("test_") || part.ends_with("_test")
        });
        let is_test =
            function.child_by_field_id(FIELD.name).is_some_and(|name| self.model.text(name).starts_with("test"));
        let is_fixture =
            function.parent().filter(|parent| parent.kind() == "decorated_definition").is_some_and(|decorated| {
                let mut cursor = decorated.walk();
                decorated
                    .named_children(&mut cursor)
                    .any(|child| child.kind() == "decorator" && self.model.text(child).contains("fixture"))
            });
        if !(is_fixture || test_module && is_test) {
            return Value::Unknown;
        }
        match self.rules.tags[tag.0].as_str() {
            USER_TAG => Value::Instance { class: self.user_model(), preloaded: Vec::new() },
            USER_MODEL_TAG => Value::Qualified(self.user_model()),
            _ => Value::tagged(tag),
        }
    }

    /// The qualified name a name or attribute chain refers to, without
    /// evaluating assignments: `Session` bound by `Session = sessionmaker(...)`
    /// at module level is `module.Session`.
    pub fn qualified_name(&self, node: Node<'t>, scope: ScopeId) -> Option<String> {
        match node.kind() {
            "identifier" => {
                let name = self.model.text(node);
                let (found, bindings) = self.model.lookup(name, scope)?;
                match bindings {
                    [Binding::Import(qualified)] => Some(qualified.clone()),
                    [_] if found == ScopeId::MODULE => Some(format!("{}.{name}", self.model.module.name)),
                    _ => None,
                }
            }
            "attribute" => {
                let object = self.qualified_name(node.child_by_field_id(FIELD.object)?, scope)?;
                Some(format!("{object}.{}", self.model.text(node.child_by_field_id(FIELD.attribute)?)))
            }
            _ => None,
        }
    }
}

/// What two values a name may hold agree on: the same value, or instances
/// of one class with what both loaded; `None` when they disagree.
pub(super) fn meet(previous: Value, value: Value) -> Option<Value> {
    Some(previous.either(value)).filter(|both| *both != Value::Unknown)
}

/// Generics whose first type argument is what the value is (or, for
/// `type`, the class it holds).
const WRAPPING_GENERICS: [&str; 8] =
    ["Optional", "Union", "type", "Type", "Annotated", "ClassVar", "Final", "Required"];

/// Generics that hold elements of their one type argument.
const CONTAINER_GENERICS: [&str; 16] = [
    "list",
    "List",
    "set",
    "Set",
    "frozenset",
    "FrozenSet",
    "AbstractSet",
    "MutableSet",
    "Sequence",
    "MutableSequence",
    "Collection",
    "Iterable",
    "Iterator",
    "tuple",
    "Tuple",
    "Generator",
];

/// `list[Item]`, `Optional[Sequence[Item]]`, `tuple[Item, ...]`: the
/// annotation of each element. A tuple of several types (`tuple[Item,
/// Shelf]`) has no one element type.
fn container_element<'t>(annotation: Node<'t>, text: impl Fn(Node<'t>) -> &'t str) -> Option<Node<'t>> {
    let mut node = annotation;
    loop {
        match node.kind() {
            "type" => node = node.named_child(0)?,
            "generic_type" | "subscript" => {
                let generic = node.named_child(0)?;
                let short = text(generic).rsplit('.').next()?;
                let arguments = node.named_child(1)?;
                let first = if arguments.kind() == "type_parameter" { arguments.named_child(0)? } else { arguments };
                if matches!(short, "Optional" | "Annotated" | "Final" | "ClassVar") {
                    node = first;
                    continue;
                }
                if !CONTAINER_GENERICS.contains(&short) {
                    return None;
                }
                if matches!(short, "tuple" | "Tuple") {
                    // Only `tuple[Item, ...]`.
                    let count = if arguments.kind() == "type_parameter" { arguments.named_child_count() } else { 1 };
                    let rest = (arguments.kind() == "type_parameter").then(|| arguments.named_child(1)).flatten();
                    if count != 2 || rest.is_none_or(|rest| text(rest).trim() != "...") {
                        return None;
                    }
                }
                return Some(first);
            }
            // `list[Item] | None`.
            "binary_operator" => node = node.child_by_field_id(FIELD.left)?,
            _ => return None,
        }
    }
}

/// `User`, `Optional[User]`, `User | None`, `"User"`: the class node, and
/// whether the annotation holds the class itself (`type[User]`). Another
/// generic names its own class: `QuerySet[Book]` is a `QuerySet`,
/// `list[Book]` a list.
fn annotated_class<'t>(annotation: Node<'t>, text: impl Fn(Node<'t>) -> &'t str) -> Option<(Node<'t>, bool)> {
    let mut node = annotation;
    let mut of_class = false;
    loop {
        match node.kind() {
            "type" => node = node.named_child(0)?,
            "generic_type" | "subscript" => {
                let generic = node.named_child(0)?;
                let short = text(generic).rsplit('.').next();
                if !short.is_some_and(|short| WRAPPING_GENERICS.contains(&short)) {
                    return matches!(generic.kind(), "identifier" | "attribute").then_some((generic, of_class));
                }
                of_class |= matches!(short, Some("type" | "Type"));
                // `Optional[X]`: the first type argument.
                let arguments = node.named_child(1)?;
                node = if arguments.kind() == "type_parameter" { arguments.named_child(0)? } else { arguments };
            }
            "binary_operator" => node = node.child_by_field_id(FIELD.left)?,
            "identifier" | "attribute" | "string" => return Some((node, of_class)),
            _ => return None,
        }
    }
}

impl<'t> Evaluator<'_, 't> {
    /// The items of a recipe callable's result that the recipe names
    /// (`items`): iterating `connections.all()` gives `connections[]`.
    fn recipe_items(&self, iterable: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        if iterable.kind() != "call" {
            return Value::Unknown;
        }
        let Some(callee) = iterable.child_by_field_id(FIELD.function) else { return Value::Unknown };
        match self.eval_at(callee, scope, depth + 1) {
            Value::Qualified(name) => {
                self.rules.callable_items.get(&name).map_or(Value::Unknown, |items| Value::Qualified(items.clone()))
            }
            _ => Value::Unknown,
        }
    }
}
