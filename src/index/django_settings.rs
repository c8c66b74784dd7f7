//! The project's Django settings, as far as literals say: which apps are
//! installed, which context processors every template render runs, and
//! whether a project middleware replaces the lazy `request.user`.
//!
//! Read from every settings module of an import root (`settings.py`,
//! `config/settings/base.py`, `local_settings.py`...), unioned: a fact
//! holds in one of the project's environments, so it is kept. A value that
//! is not a literal (`INSTALLED_APPS = env.list(...)`) makes the fact
//! unknown, and the rules that read it behave as if it held.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::IndexedFile;
use crate::infer::facts::DjangoSettings;
use crate::parse::{self, FIELD};

/// Whether a module name looks like a settings module: `settings`,
/// `config.settings.base`, `local_settings`, `settings_dev`.
fn is_settings_module(name: &str) -> bool {
    name.split('.').any(|part| part == "settings" || part.ends_with("_settings") || part.starts_with("settings_"))
}

/// Reads the settings modules among `ids`; `None` when there is none
/// (a library, or a part of a project checked without its settings).
pub fn read(files: &[IndexedFile], ids: &[usize]) -> Option<DjangoSettings> {
    let mut found: Option<Module> = None;
    for &id in ids {
        let file = &files[id];
        if !is_settings_module(&file.module.name) {
            continue;
        }
        let text = match &file.source {
            Some(text) => text.clone(),
            None => match std::fs::read_to_string(&file.path) {
                Ok(text) => text,
                Err(_) => continue,
            },
        };
        // Cheap test first: most modules named settings of a big tree (a
        // pydantic `settings.py`) configure no Django.
        if !["INSTALLED_APPS", "TEMPLATES", "MIDDLEWARE"].iter().any(|name| text.contains(name)) {
            continue;
        }
        let Some(tree) = crate::parse::parse(&text) else { continue };
        let module = read_module(tree.root_node(), &text);
        if matches!((&module.apps, &module.processors, &module.middleware), (Fact::Absent, Fact::Absent, Fact::Absent))
        {
            continue;
        }
        let settings = found.get_or_insert_with(Module::default);
        settings.apps.merge(module.apps);
        settings.processors.merge(module.processors);
        settings.middleware.merge(module.middleware);
    }
    let module = found?;
    let eager_request_user = match &module.middleware {
        Fact::Known(middleware) => replaces_lazy_user(middleware, files, ids),
        Fact::Absent | Fact::Unknown => false,
    };
    Some(DjangoSettings {
        installed_apps: module.apps.into_set(),
        context_processors: module.processors.into_set(),
        eager_request_user,
    })
}

/// Whether the last middleware to set `request.user` is a project one that
/// sets it to a loaded user (a token middleware's `request.user =
/// User.objects.get(...)`), with only Django's own middleware after it: a
/// library's may wrap it in a lazy object again.
fn replaces_lazy_user(middleware: &[String], files: &[IndexedFile], ids: &[usize]) -> bool {
    let mut eager = false;
    for path in middleware {
        let Some((module, class)) = path.rsplit_once('.') else { continue };
        let file = ids.iter().map(|&id| &files[id]).find(|file| file.module.name == module);
        match file.and_then(|file| sets_request_user(file, class)) {
            Some(sets_eagerly) => eager = sets_eagerly,
            // Django's own middleware set nothing after authentication,
            // save its own lazy user.
            None if path.starts_with("django.") => {
                if class.ends_with("AuthenticationMiddleware") {
                    eager = false;
                }
            }
            None if file.is_some() => {}
            None => eager = false,
        }
    }
    eager
}

/// How the middleware class `class` of `file` sets `request.user` before
/// the view: `Some(true)` to a loaded object at the top of `__call__`,
/// `__acall__`, `process_request` or `process_view`, `Some(false)` to a lazy
/// one (or it derives from Django's `AuthenticationMiddleware`), `None` when
/// it does not.
fn sets_request_user(file: &IndexedFile, class: &str) -> Option<bool> {
    let text = match &file.source {
        Some(text) => text.clone(),
        None => std::fs::read_to_string(&file.path).ok()?,
    };
    if !text.contains(".user") {
        return None;
    }
    let tree = crate::parse::parse(&text)?;
    let root = tree.root_node();
    let mut cursor = root.walk();
    let definition = root.named_children(&mut cursor).find_map(|statement| {
        let definition = match statement.kind() {
            "decorated_definition" => statement.child_by_field_id(FIELD.definition)?,
            _ => statement,
        };
        (definition.kind() == "class_definition"
            && definition.child_by_field_id(FIELD.name).is_some_and(|name| parse::text(name, &text) == class))
        .then_some(definition)
    })?;
    if definition
        .child_by_field_id(FIELD.superclasses)
        .is_some_and(|bases| parse::text(bases, &text).contains("AuthenticationMiddleware"))
    {
        return Some(false);
    }
    let body = definition.child_by_field_id(FIELD.body)?;
    let mut cursor = body.walk();
    let methods: Vec<Node<'_>> = body
        .named_children(&mut cursor)
        .filter_map(|statement| match statement.kind() {
            "decorated_definition" => statement.child_by_field_id(FIELD.definition),
            _ => Some(statement),
        })
        .filter(|method| {
            method.kind() == "function_definition"
                && method.child_by_field_id(FIELD.name).is_some_and(|name| {
                    matches!(parse::text(name, &text), "__call__" | "__acall__" | "process_request" | "process_view")
                })
        })
        .collect();
    let mut found = None;
    for method in methods {
        let Some(block) = method.child_by_field_id(FIELD.body) else { continue };
        let mut cursor = block.walk();
        for statement in block.named_children(&mut cursor) {
            let Some(assignment) = statement.named_child(0).filter(|node| node.kind() == "assignment") else {
                continue;
            };
            let (Some(left), Some(right)) =
                (assignment.child_by_field_id(FIELD.left), assignment.child_by_field_id(FIELD.right))
            else {
                continue;
            };
            let assigns_user = left.kind() == "attribute"
                && left.child_by_field_id(FIELD.attribute).is_some_and(|name| parse::text(name, &text) == "user");
            if assigns_user {
                let callee = (right.kind() == "call")
                    .then(|| right.child_by_field_id(FIELD.function))
                    .flatten()
                    .map(|callee| parse::text(callee, &text));
                let lazy = callee.is_some_and(|callee| {
                    let name = callee.rsplit('.').next().unwrap_or(callee);
                    name.contains("Lazy") || name == "lazy"
                });
                found = Some(!lazy);
            }
        }
    }
    found
}

/// What the settings say of one list.
#[derive(Debug, Default, PartialEq, Eq)]
enum Fact {
    /// Never assigned.
    #[default]
    Absent,
    Known(Vec<String>),
    /// Assigned a value that is not a literal.
    Unknown,
}

impl Fact {
    fn add(&mut self, found: Option<Vec<String>>) {
        match (&mut *self, found) {
            (Self::Unknown, _) => {}
            (_, None) => *self = Self::Unknown,
            (Self::Absent, Some(found)) => *self = Self::Known(found),
            (Self::Known(list), Some(found)) => list.extend(found),
        }
    }

    fn merge(&mut self, other: Self) {
        match other {
            Self::Absent => {}
            Self::Known(found) => self.add(Some(found)),
            Self::Unknown => self.add(None),
        }
    }

    fn into_set(self) -> Option<BTreeSet<String>> {
        match self {
            Self::Known(list) => Some(list.into_iter().collect()),
            Self::Absent | Self::Unknown => None,
        }
    }
}

/// One module's lists.
#[derive(Debug, Default)]
struct Module {
    apps: Fact,
    processors: Fact,
    middleware: Fact,
}

fn read_module(root: Node<'_>, text: &str) -> Module {
    let mut module = Module::default();
    for statement in module_statements(root) {
        let Some(expression) = statement.named_child(0) else { continue };
        match expression.kind() {
            "assignment" | "augmented_assignment" => {
                let (Some(left), Some(right)) =
                    (expression.child_by_field_id(FIELD.left), expression.child_by_field_id(FIELD.right))
                else {
                    continue;
                };
                let target = parse::text(left, text);
                if left.kind() == "identifier" && is_apps_list(target) {
                    module.apps.add(strings(right, text, &|name| is_apps_list(name)));
                } else if left.kind() == "identifier" && matches!(target, "MIDDLEWARE" | "MIDDLEWARE_CLASSES") {
                    module.middleware.add(strings(right, text, &|_| false));
                } else if target == "TEMPLATES" {
                    module.processors.add(processors(right, text));
                } else if left.kind() == "subscript" && target.contains("context_processors") {
                    module.processors.add(strings(right, text, &|_| false));
                }
            }
            // `INSTALLED_APPS.append("debug_toolbar")`, `.extend([...])`, `.insert(0, ...)`.
            "call" => {
                let Some(callee) = expression.child_by_field_id(FIELD.function).filter(|f| f.kind() == "attribute")
                else {
                    continue;
                };
                let (Some(object), Some(arguments)) =
                    (callee.child_by_field_id(FIELD.object), expression.child_by_field_id(FIELD.arguments))
                else {
                    continue;
                };
                let object = parse::text(object, text);
                let list = if is_apps_list(object) {
                    &mut module.apps
                } else if object.contains("context_processors") {
                    &mut module.processors
                } else if matches!(object, "MIDDLEWARE" | "MIDDLEWARE_CLASSES") {
                    // Order matters here: an insert puts it anywhere.
                    if callee.child_by_field_id(FIELD.attribute).is_some_and(|name| parse::text(name, text) == "insert")
                    {
                        module.middleware.add(None);
                        continue;
                    }
                    &mut module.middleware
                } else {
                    continue;
                };
                let mut cursor = arguments.walk();
                for argument in arguments.named_children(&mut cursor) {
                    if argument.kind() != "integer" {
                        list.add(strings(argument, text, &|name| is_apps_list(name)));
                    }
                }
            }
            _ => {}
        }
    }
    module
}

/// The expression statements run at import: at the top level and in its
/// `if`, `try` and `with` blocks (`if DEBUG: INSTALLED_APPS += [...]`), in
/// source order.
fn module_statements(root: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        for child in children.into_iter().rev() {
            match child.kind() {
                "expression_statement" => found.push(child),
                "if_statement" | "elif_clause" | "else_clause" | "try_statement" | "except_clause"
                | "finally_clause" | "with_statement" | "block" => stack.push(child),
                _ => {}
            }
        }
    }
    found.sort_by_key(Node::start_byte);
    found
}

/// `INSTALLED_APPS` and the lists projects build it from (`DJANGO_APPS`,
/// `THIRD_PARTY_APPS`, `SHARED_APPS`).
fn is_apps_list(name: &str) -> bool {
    name == "INSTALLED_APPS" || (name.ends_with("_APPS") && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
}

/// The strings of a literal list, tuple or sum of them; names `known`
/// accepts (another apps list) add nothing. `None` for anything else.
fn strings(node: Node<'_>, text: &str, known: &dyn Fn(&str) -> bool) -> Option<Vec<String>> {
    match node.kind() {
        "string" => crate::parse::string_literal(node, text).map(|value| vec![value]),
        "list" | "tuple" | "set" | "parenthesized_expression" | "expression_list" => {
            let mut found = Vec::new();
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor).filter(|child| child.kind() != "comment") {
                found.extend(strings(child, text, known)?);
            }
            Some(found)
        }
        "list_splat" | "parenthesized_list_splat" => strings(node.named_child(0)?, text, known),
        "binary_operator" => {
            let mut found = strings(node.child_by_field_id(FIELD.left)?, text, known)?;
            found.extend(strings(node.child_by_field_id(FIELD.right)?, text, known)?);
            Some(found)
        }
        // `["debug_toolbar"] if DEBUG else []`: either may hold.
        "conditional_expression" => {
            let mut found = Vec::new();
            let mut cursor = node.walk();
            let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
            for (position, child) in children.into_iter().enumerate() {
                if position != 1 {
                    found.extend(strings(child, text, known)?);
                }
            }
            Some(found)
        }
        "identifier" if known(parse::text(node, text)) => Some(Vec::new()),
        _ => None,
    }
}

/// The context processors of a `TEMPLATES` literal: every
/// `"context_processors": [...]` pair in it.
fn processors(node: Node<'_>, text: &str) -> Option<Vec<String>> {
    let mut found = Vec::new();
    let mut stack = vec![node];
    let mut literal = matches!(node.kind(), "list" | "tuple");
    while let Some(node) = stack.pop() {
        if node.kind() == "pair"
            && let Some(key) = node.child_by_field_id(FIELD.key)
            && crate::parse::string_literal(key, text).as_deref() == Some("context_processors")
        {
            found.extend(strings(node.child_by_field_id(FIELD.value)?, text, &|_| false)?);
            continue;
        }
        if node.kind() == "dictionary" {
            literal = true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    literal.then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(source: &str) -> Module {
        let tree = crate::parse::parse(source).expect("parsing is never cancelled");
        read_module(tree.root_node(), source)
    }

    #[test]
    fn apps_built_from_lists() {
        let found = module(
            "DJANGO_APPS = ['django.contrib.auth']\nTHIRD_PARTY_APPS = (\"rest_framework\",)\n\
             INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + ['shop']\nINSTALLED_APPS += ['x'] if DEBUG else []\n\
             INSTALLED_APPS.append('debug_toolbar')\n",
        );
        let expected = ["django.contrib.auth", "rest_framework", "shop", "x", "debug_toolbar"].map(String::from);
        assert_eq!(found.apps, Fact::Known(expected.to_vec()));
    }

    #[test]
    fn apps_not_literal_are_unknown() {
        assert_eq!(module("INSTALLED_APPS = env.list('APPS')\n").apps, Fact::Unknown);
        assert_eq!(module("INSTALLED_APPS = [f'{X}.app']\n").apps, Fact::Unknown);
    }

    #[test]
    fn context_processors_of_every_backend() {
        let found = module(
            "TEMPLATES = [{'BACKEND': 'b', 'OPTIONS': {'context_processors': [\n  # comment\n  'a.b',\n  \"c.d\",\n]}}]\n\
             TEMPLATES[0]['OPTIONS']['context_processors'] += ['e.f']\n",
        );
        assert_eq!(found.processors, Fact::Known(["a.b", "c.d", "e.f"].map(String::from).to_vec()));
        assert_eq!(found.apps, Fact::Absent);
    }

    #[test]
    fn settings_module_names() {
        assert!(is_settings_module("config.settings.base"));
        assert!(is_settings_module("settings"));
        assert!(is_settings_module("proj.local_settings"));
        assert!(!is_settings_module("shop.views"));
        assert!(!is_settings_module("settingsmenu"));
    }
}
