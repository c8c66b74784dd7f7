//! What an expression evaluates to, as far as asyncfix cares: a qualified
//! name, a model class, a manager or `QuerySet`, or a value a recipe callable
//! produced. Flow-insensitive: a local name has a value only when every
//! assignment to it in its scope agrees.

use tree_sitter::Node;

use super::{Binding, ScopeId, ScopeKind, SemanticModel};
use crate::recipe::{RuleSet, TagId};

/// How sure we are that a receiver is what it looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// Resolved through imports, a model factory or a `QuerySet` built from one.
    Certain,
    /// Only the spelling suggests it (`self.model.objects`, a capitalised local).
    Guess,
}

impl Certainty {
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        if self == Self::Certain && other == Self::Certain { Self::Certain } else { Self::Guess }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Unknown,
    /// An imported or module-level object: `django.core.cache.cache`.
    Qualified(String),
    /// Certainly a Django model class (`get_user_model()`).
    ModelClass,
    Manager(Certainty),
    QuerySet(Certainty),
    /// A value returned by a recipe callable with `returns = "tag"`.
    Tagged(TagId),
}

/// Deepest chain of names followed before giving up (`a = b`, `b = c`, ...).
const MAX_DEPTH: usize = 12;

pub struct Evaluator<'a, 't> {
    pub model: &'a SemanticModel<'t>,
    pub rules: &'a RuleSet,
}

impl<'t> Evaluator<'_, 't> {
    pub fn eval(&self, node: Node<'t>, scope: ScopeId) -> Value {
        self.eval_at(node, scope, 0)
    }

    /// The value a call of `callee` returns.
    pub fn call_result(&self, callee: Node<'t>, scope: ScopeId) -> Value {
        self.call_result_at(callee, scope, 0)
    }

    /// Whether `callee` is a wrapper whose arguments run in a thread.
    pub fn is_wrapper(&self, callee: Node<'t>, scope: ScopeId) -> bool {
        matches!(self.eval(callee, scope), Value::Qualified(name) if self.rules.wrappers.contains(&name))
    }

    fn eval_at(&self, node: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        match node.kind() {
            "identifier" => self.name(self.model.text(node), scope, depth),
            "attribute" => {
                let (Some(object), Some(attribute)) =
                    (node.child_by_field_name("object"), node.child_by_field_name("attribute"))
                else {
                    return Value::Unknown;
                };
                let attribute = self.model.text(attribute);
                let object_value = self.eval_at(object, scope, depth + 1);
                let is_manager = self.rules.orm.managers.contains(attribute);
                match object_value {
                    Value::ModelClass if is_manager => Value::Manager(Certainty::Certain),
                    Value::Qualified(name) if is_manager && looks_like_class(&name) => {
                        Value::Manager(Certainty::Certain)
                    }
                    Value::Qualified(name) => Value::Qualified(format!("{name}.{attribute}")),
                    Value::Unknown if is_manager && looks_like_model(self.model.text(object)) => {
                        Value::Manager(Certainty::Guess)
                    }
                    _ => Value::Unknown,
                }
            }
            "subscript" => match node.child_by_field_name("value").map(|value| self.eval_at(value, scope, depth + 1)) {
                Some(Value::Qualified(name)) => Value::Qualified(format!("{name}[]")),
                _ => Value::Unknown,
            },
            "call" => match node.child_by_field_name("function") {
                Some(callee) => self.call_result_at(callee, scope, depth + 1),
                None => Value::Unknown,
            },
            "await" => {
                // `await wrapper(f)(args)` evaluates to what `f(args)` returns.
                let Some(inner) = node.named_child(0) else { return Value::Unknown };
                let Some(wrapped) = wrapped_callee(inner) else { return Value::Unknown };
                if let Some(wrapper_call) = inner.child_by_field_name("function") {
                    let wrapper_name = wrapper_call.child_by_field_name("function");
                    if wrapper_name.is_some_and(|wrapper_name| self.is_wrapper(wrapper_name, scope)) {
                        return self.call_result_at(wrapped, scope, depth + 1);
                    }
                }
                Value::Unknown
            }
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) => self.eval_at(inner, scope, depth + 1),
                None => Value::Unknown,
            },
            _ => Value::Unknown,
        }
    }

    fn call_result_at(&self, callee: Node<'t>, scope: ScopeId, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        if callee.kind() == "attribute"
            && let (Some(object), Some(method)) =
                (callee.child_by_field_name("object"), callee.child_by_field_name("attribute"))
        {
            let method = self.model.text(method);
            match self.eval_at(object, scope, depth + 1) {
                Value::Manager(certainty) | Value::QuerySet(certainty) if self.rules.orm.lazy.contains(method) => {
                    return Value::QuerySet(certainty);
                }
                Value::Manager(_) | Value::QuerySet(_) => return Value::Unknown,
                _ => {}
            }
        }
        match self.eval_at(callee, scope, depth + 1) {
            Value::Qualified(name) => {
                if self.rules.orm.model_factories.contains(&name) {
                    return Value::ModelClass;
                }
                match self.rules.callables.get(&name).and_then(|callable| callable.returns) {
                    Some(tag) => Value::Tagged(tag),
                    None => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }

    fn name(&self, name: &str, scope: ScopeId, depth: usize) -> Value {
        let Some((found_in, bindings)) = self.model.lookup(name, scope) else {
            return Value::Unknown;
        };
        let module_level = self.model.scope(found_in).kind == ScopeKind::Module;
        let mut agreed: Option<Value> = None;
        for binding in bindings {
            let value = match binding {
                Binding::Import(qualified) => Value::Qualified(qualified.clone()),
                Binding::Class(_) | Binding::Function if module_level => {
                    Value::Qualified(format!("{}.{name}", self.model.module_name))
                }
                Binding::Assign(value) => self.eval_at(*value, found_in, depth + 1),
                _ => Value::Unknown,
            };
            if value == Value::Unknown {
                return Value::Unknown;
            }
            match &agreed {
                Some(previous) if *previous != value => return Value::Unknown,
                _ => agreed = Some(value),
            }
        }
        agreed.unwrap_or(Value::Unknown)
    }
}

/// For `wrapper(f)(args)`, the node `f`.
pub fn wrapped_callee(call: Node<'_>) -> Option<Node<'_>> {
    if call.kind() != "call" {
        return None;
    }
    let inner = call.child_by_field_name("function")?;
    if inner.kind() != "call" {
        return None;
    }
    let arguments = inner.child_by_field_name("arguments")?;
    arguments.named_child(0)
}

/// `app.models.User` names a class when its last part is capitalised.
fn looks_like_class(qualified: &str) -> bool {
    qualified.rsplit('.').next().is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// The text of an unresolved receiver that is probably a model class.
fn looks_like_model(text: &str) -> bool {
    let last = text.rsplit('.').next().unwrap_or(text);
    last.starts_with(|c: char| c.is_ascii_uppercase()) || last == "model"
}
