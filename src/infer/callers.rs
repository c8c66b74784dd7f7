//! What an unannotated parameter is, from what the calls of its function in
//! this module pass (positionally or by keyword, awaited or not; a default
//! where a call leaves it out): the meet of the arguments, when every call
//! passes a value of the same kind.
//!
//! Only a nested function is private enough for that to be certain: its
//! name is seen only by its enclosing function, so when every use of the
//! name there is a direct call, those are all its callers. Any other
//! function or method may be called from other modules, by a library or
//! dynamically, so its meet is a guess; a guess is kept only where a value
//! records it (a `QuerySet` or manager: the site's fix is then unsafe), and
//! an instance or class guessed so stays unknown.
//!
//! Computed on demand (only for a parameter a use depends on), once per
//! parameter, over at most [`MAX_CALLS`] calls; a use of the name other
//! than a direct call, a call with `*args` or `**kwargs`, a recursive call
//! or a decorator other than a thread wrapper, `@staticmethod` or
//! `@classmethod` gives nothing.

use tree_sitter::Node;

use super::names::meet;
use super::{Certainty, Evaluator, Value, decorator_callees};
use crate::parse::FIELD;
use crate::semantic::arguments::{Passed, Slot, passed_for, slot};
use crate::semantic::{Binding, Method, MethodKind, ScopeId, ScopeKind};

/// Most calls of one function read for the meet; more give nothing.
const MAX_CALLS: usize = 16;

impl<'t> Evaluator<'_, 't> {
    /// What the calls of the function `function` opens pass for its parameter `name`.
    pub(super) fn passed(&self, name: &str, function: ScopeId, depth: usize) -> Value {
        let key = (function, name.to_owned());
        if let Some(known) = self.passed.borrow().get(&key) {
            return known.clone();
        }
        // A recursive call reads the entry in progress: nothing.
        self.passed.borrow_mut().insert(key.clone(), Value::Unknown);
        let value = self.passed_uncached(name, function, depth);
        self.passed.borrow_mut().insert(key, value.clone());
        value
    }

    fn passed_uncached(&self, name: &str, function: ScopeId, depth: usize) -> Value {
        let scope = self.model.scope(function);
        let Some(definition) = scope.node.filter(|node| node.kind() == "function_definition") else {
            return Value::Unknown;
        };
        let decorated = definition.parent().filter(|parent| parent.kind() == "decorated_definition");
        if decorated.is_some_and(|decorated| !self.only_wrappers(decorated, scope.parent.unwrap_or(function))) {
            return Value::Unknown;
        }
        let skip_first = scope.method.as_ref().is_some_and(|method| method.kind != MethodKind::Static);
        let Some(slot) = slot(definition, name, skip_first, |node| self.model.text(node)).filter(|slot| !slot.star)
        else {
            return Value::Unknown;
        };
        let (calls, private) = match &scope.method {
            Some(method) if method.kind == MethodKind::Property => (None, false),
            Some(method) => (self.method_calls(definition, method), false),
            None => self.function_calls(definition, scope.parent.unwrap_or(ScopeId::MODULE)),
        };
        let Some(calls) = calls.filter(|calls| !calls.is_empty() && calls.len() <= MAX_CALLS) else {
            return Value::Unknown;
        };
        let mut agreed: Option<Value> = None;
        for call in calls {
            let Some(argument) = argument(call, name, &slot, |node| self.model.text(node)) else {
                return Value::Unknown;
            };
            if argument.kind() == "none" {
                continue;
            }
            let value = self.eval_at(argument, self.model.scope_at(argument), depth + 1);
            agreed = match agreed {
                None => Some(value),
                Some(previous) => meet(previous, value),
            };
            if matches!(agreed, None | Some(Value::Unknown)) {
                return Value::Unknown;
            }
        }
        match agreed {
            Some(value) if private => value,
            Some(Value::QuerySet { model, preloaded, classes, .. }) => {
                Value::QuerySet { model, certainty: Certainty::Guess, preloaded, classes }
            }
            Some(Value::Manager { model, classes, preloaded, .. }) => {
                Value::Manager { model, certainty: Certainty::Guess, classes, preloaded }
            }
            _ => Value::Unknown,
        }
    }

    /// Whether every decorator of a definition passes the arguments on
    /// unchanged: a thread wrapper (`@sync_to_async`), `@staticmethod` or
    /// `@classmethod`.
    fn only_wrappers(&self, decorated: Node<'t>, scope: ScopeId) -> bool {
        decorator_callees(decorated).into_iter().all(|callee| {
            let builtin = self.model.text(callee);
            matches!(builtin, "staticmethod" | "classmethod") && self.model.lookup(builtin, scope).is_none()
                || self.is_wrapper(callee, scope)
        })
    }

    /// The calls of a plain function bound in `outer`, and whether they are
    /// all its callers (a nested function); `None` when its name is bound
    /// more than once there, or used other than as a direct call.
    fn function_calls(&self, definition: Node<'t>, outer: ScopeId) -> (Option<Vec<Node<'t>>>, bool) {
        let Some(name_node) = definition.child_by_field_id(FIELD.name) else { return (None, false) };
        let name = self.model.text(name_node);
        let outer_scope = self.model.scope(outer);
        let private = matches!(outer_scope.kind, ScopeKind::Function { .. });
        if !matches!(outer_scope.bindings.get(name).map(Vec::as_slice), Some([Binding::Function])) {
            return (None, private);
        }
        let Some(region) = outer_scope.node else { return (None, private) };
        let mut calls = Vec::new();
        let inside = |node: Node<'_>| region.start_byte() <= node.start_byte() && node.end_byte() <= region.end_byte();
        for reference in self.identifiers(name).into_iter().filter(|node| inside(*node)) {
            if reference.id() == name_node.id() || !is_name_use(reference) {
                continue;
            }
            let scope = self.model.scope_at(reference);
            if self.model.lookup(name, scope).map(|(found, _)| found) != Some(outer) {
                continue;
            }
            match reference.parent().filter(|parent| {
                parent.kind() == "call"
                    && parent.child_by_field_id(FIELD.function).is_some_and(|f| f.id() == reference.id())
            }) {
                Some(call) => calls.push(call),
                None => return (None, private),
            }
        }
        (Some(calls), private)
    }

    /// The calls `self.method(...)` in the methods of its class in this
    /// module (and, for a static or class method, `cls.method(...)` and
    /// `Class.method(...)` anywhere in it); `None` when `.method` is read
    /// any other way in the module.
    fn method_calls(&self, definition: Node<'t>, method: &Method<'_>) -> Option<Vec<Node<'t>>> {
        let class = method.class.as_str();
        let on_class = method.kind != MethodKind::Instance;
        let name = self.model.text(definition.child_by_field_id(FIELD.name)?);
        let mut calls = Vec::new();
        for reference in self.identifiers(name) {
            let Some(attribute) = reference.parent().filter(|parent| {
                parent.kind() == "attribute"
                    && parent.child_by_field_id(FIELD.attribute).is_some_and(|field| field.id() == reference.id())
            }) else {
                continue;
            };
            let call = attribute.parent().filter(|parent| {
                parent.kind() == "call"
                    && parent.child_by_field_id(FIELD.function).is_some_and(|callee| callee.id() == attribute.id())
            })?;
            let receiver = attribute.child_by_field_id(FIELD.object)?;
            let caller = self.model.scope(self.model.scope_at(call));
            let on_self = caller.method.as_ref().is_some_and(|method| {
                method.class == class && method.first_parameter == Some(self.model.text(receiver))
            });
            let on_class = on_class
                && receiver.kind() == "identifier"
                && matches!(self.eval(receiver, self.model.scope_at(call)), Value::Qualified(named) if named == class);
            if receiver.kind() != "identifier" || !(on_self || on_class) {
                return None;
            }
            calls.push(call);
        }
        Some(calls)
    }

    /// Every identifier in the module spelled `name`, from an index built
    /// on the first question (one walk of the tree per module).
    fn identifiers(&self, name: &str) -> Vec<Node<'t>> {
        // The spelling's occurrences in the text, whole words only, then the
        // identifier node at each: cheaper than walking the tree, as most
        // names occur a few times in a module.
        let (root, source) = (self.model.tree.root_node(), self.model.source.as_bytes());
        let is_word = |byte: u8| byte == b'_' || byte.is_ascii_alphanumeric() || byte >= 0x80;
        memchr::memmem::find_iter(source, name.as_bytes())
            .filter(|&start| {
                let end = start + name.len();
                (start == 0 || !is_word(source[start - 1])) && source.get(end).is_none_or(|&next| !is_word(next))
            })
            .filter_map(|start| root.descendant_for_byte_range(start, start + name.len()))
            .filter(|node| node.kind() == "identifier")
            .collect()
    }
}

/// Whether an identifier reads a name (not a keyword argument's name,
/// an attribute's name or a parameter).
fn is_name_use(identifier: Node<'_>) -> bool {
    let Some(parent) = identifier.parent() else { return true };
    let named_field = |field| parent.child_by_field_id(field).is_some_and(|node| node.id() == identifier.id());
    match parent.kind() {
        "keyword_argument" => !named_field(FIELD.name),
        "attribute" => !named_field(FIELD.attribute),
        _ => true,
    }
}

/// What a call passes for the parameter: its positional argument, its
/// keyword argument, or the default; `None` when the call spreads
/// `*args`/`**kwargs` or passes nothing for it.
fn argument<'t>(call: Node<'t>, name: &str, slot: &Slot<'t>, text: impl Fn(Node<'t>) -> &'t str) -> Option<Node<'t>> {
    match passed_for(call.child_by_field_id(FIELD.arguments)?, name, slot.position, text) {
        Passed::Argument(argument) => Some(argument),
        Passed::Nothing => slot.default,
        Passed::Unknown => None,
    }
}
