//! What the recipes and the Django conventions say a value is: a recipe
//! callable's tagged result, an instance of a class the recipes tag, what a
//! library method returns from its receiver's attributes (`get_object()`),
//! a Channels scope's session, and the model an app label names.

use tree_sitter::Node;

use super::facts::{OrmClass, ProjectFacts};
use super::{Certainty, DJANGO_MODEL, EVERY_RELATION, Evaluator, USER_TAG, Value, label_stand_in};
use crate::parse::FIELD;
use crate::recipe::{ReturnedFrom, TagId};
use crate::semantic::ScopeId;
use crate::semantic::arguments::{Passed, passed_for};

impl<'t> Evaluator<'_, 't> {
    /// A recipe callable by qualified name, directly or inherited by a project class.
    pub fn recipe_callable(&self, name: &str) -> Option<crate::recipe::Callable> {
        if let Some(callable) = self.rules.callables.get(name) {
            return Some(*callable);
        }
        self.index.and_then(|index| index.inherited_callable(name, self.rules))
    }

    /// An instance of `class`, as an annotation names it: what the recipes
    /// tag its instances with (`-> Client`, `serializer: BookSerializer`),
    /// else the instance.
    pub fn instance_of(&self, class: String) -> Value {
        match self.recipe_callable(&class) {
            Some(callable) if !callable.site && callable.returns.is_some() => {
                let tag = callable.returns.expect("checked");
                if self.rules.tags[tag.0] == USER_TAG {
                    Value::Instance { class: self.user_model(), preloaded: Vec::new() }
                } else {
                    let class = self.index.is_some_and(|index| index.is_class(&class)).then_some(class);
                    Value::Tagged { tag, class }
                }
            }
            // `-> QuerySet`, `qs: QuerySet`: a lazy QuerySet of some model.
            _ if self.rules.orm.queryset_classes.contains(&class)
                || self.index.and_then(|index| index.orm_class(&class, self.rules)) == Some(OrmClass::QuerySet) =>
            {
                Value::QuerySet {
                    model: None,
                    certainty: Certainty::Certain,
                    preloaded: Vec::new(),
                    classes: self.queryset_classes(vec![class]),
                }
            }
            _ => Value::Instance { class, preloaded: Vec::new() },
        }
    }

    /// A library method that returns what its receiver's attribute says:
    /// `self.get_object()` an instance of `queryset`'s model,
    /// `self.get_serializer()` an instance of `serializer_class`.
    pub(super) fn returned_from_attribute(&self, index: &dyn ProjectFacts, class: &str, method: &str) -> Value {
        let Some(from) =
            index.inherited_method(class, method, false, self.rules).and_then(|callable| callable.returns_from)
        else {
            return Value::Unknown;
        };
        match &self.rules.returned_from[from] {
            ReturnedFrom::InstanceOf { attribute, getter } => {
                let held = |attribute: &str| match index.instance_attribute(class, attribute) {
                    Some(Value::Qualified(held)) => self.instance_of(held),
                    _ => Value::Unknown,
                };
                // The project's `get_serializer_class()`: every class it
                // returns must give the same value.
                match getter.as_deref().and_then(|getter| index.method_returns_classes(class, getter)) {
                    None => held(attribute),
                    Some(None) => Value::Unknown,
                    Some(Some(classes)) => {
                        let mut values = classes.into_iter().map(|returned| match returned.as_str() {
                            "super" => held(attribute),
                            _ => match returned.strip_prefix("self.") {
                                Some(other) => held(other),
                                None => self.instance_of(returned),
                            },
                        });
                        let first = values.next().unwrap_or(Value::Unknown);
                        values.fold(first, Value::either)
                    }
                }
            }
            // A method of a receiver does not take its model from an argument.
            ReturnedFrom::ModelOfArgument { .. } => Value::Unknown,
            ReturnedFrom::ModelOf(attribute) => match index.instance_attribute(class, attribute) {
                // What the view's QuerySet loads comes with the object.
                Some(
                    Value::QuerySet { model: Some(model), preloaded, .. }
                    | Value::Manager { model: Some(model), preloaded, .. },
                ) => Value::Instance { class: model, preloaded },
                Some(Value::Qualified(model)) if index.is_model(&model, self.rules) => {
                    Value::Instance { class: model, preloaded: Vec::new() }
                }
                _ => Value::Unknown,
            },
            // Django sets each relation it was given on the object it builds.
            ReturnedFrom::SavedModelOf(attribute) => match index.instance_attribute(class, attribute) {
                Some(Value::Qualified(model)) if index.is_model(&model, self.rules) => {
                    Value::Instance { class: model, preloaded: vec![EVERY_RELATION.to_owned()] }
                }
                _ => Value::Unknown,
            },
        }
    }

    /// A recipe function that returns what its argument names:
    /// `get_object_or_404(Book.objects.select_related("shelf"), pk=1)` is a
    /// `Book` with its shelf loaded, `get_list_or_404(Book)` a list of books.
    /// The function accepts nothing but a model, a manager or a `QuerySet`,
    /// so an argument of unknown model still gives a model instance.
    pub(super) fn returned_from_argument(
        &self,
        name: &str,
        arguments: Option<Node<'t>>,
        scope: ScopeId,
        depth: usize,
    ) -> Option<Value> {
        let from = self.recipe_callable(name)?.returns_from?;
        let ReturnedFrom::ModelOfArgument { position, many } = self.rules.returned_from[from] else { return None };
        let argument = match passed_for(arguments?, "", Some(position), |node| self.model.text(node)) {
            Passed::Argument(argument) => Some(argument),
            Passed::Nothing | Passed::Unknown => None,
        };
        let (class, preloaded) = match argument.map(|argument| self.eval_at(argument, scope, depth + 1)) {
            Some(Value::Qualified(class)) if self.is_model_class(&class) => (class, Vec::new()),
            Some(
                Value::Manager { model: Some(class), preloaded, .. }
                | Value::QuerySet { model: Some(class), preloaded, .. },
            ) => (class, preloaded),
            _ => (DJANGO_MODEL.to_owned(), Vec::new()),
        };
        Some(if many {
            Value::InstanceList { class: Some(class), preloaded }
        } else {
            Value::Instance { class, preloaded }
        })
    }

    /// The value a recipe tag stands for, when a loaded recipe uses it.
    pub(super) fn tag_value(&self, tag: &str) -> Value {
        self.rules.tags.iter().position(|name| name == tag).map_or(Value::Unknown, |id| Value::tagged(TagId(id)))
    }

    /// The key of a Channels scope a subscript reads: `"session"` of
    /// `scope["session"]` or `self.scope['session']`.
    pub(super) fn scope_key(&self, node: Node<'t>) -> Option<&'t str> {
        let (value, key) = match node.kind() {
            "subscript" => (node.child_by_field_id(FIELD.value)?, node.child_by_field_id(FIELD.subscript)?),
            // `scope.get("user")`
            "call" => {
                let callee = node.child_by_field_id(FIELD.function).filter(|callee| callee.kind() == "attribute")?;
                if self.model.text(callee.child_by_field_id(FIELD.attribute)?) != "get" {
                    return None;
                }
                (callee.child_by_field_id(FIELD.object)?, node.child_by_field_id(FIELD.arguments)?.named_child(0)?)
            }
            _ => return None,
        };
        if self.model.text(value).rsplit('.').next() != Some("scope") || key.kind() != "string" {
            return None;
        }
        let key = self.model.text(key);
        let unquoted = key.strip_prefix('"').and_then(|key| key.strip_suffix('"'));
        unquoted.or_else(|| key.strip_prefix('\'').and_then(|key| key.strip_suffix('\'')))
    }

    /// `get_model("shop", "Book")` or `get_model("shop.Book")`: the model
    /// class, or its stand-in while the index is built.
    pub(super) fn model_by_label(&self, arguments: Option<Node<'t>>) -> Value {
        let Some(arguments) = arguments else { return Value::Unknown };
        let mut cursor = arguments.walk();
        let parts: Vec<&str> = arguments
            .named_children(&mut cursor)
            .take(2)
            .map_while(|argument| {
                let text = self.model.text(argument);
                (argument.kind() == "string" && !text.contains('{'))
                    .then(|| text.trim_matches(|c| c == '"' || c == '\''))
            })
            .collect();
        let label = match parts.as_slice() {
            [app, model] => format!("{app}.{model}"),
            [label] if label.contains('.') => (*label).to_owned(),
            _ => return Value::Unknown,
        };
        if label.split('.').any(str::is_empty) || label.matches('.').count() != 1 {
            return Value::Unknown;
        }
        match self.index {
            // A label the project does not define still names a model, of an installed app.
            Some(index) => Value::Qualified(index.model_by_app_label(&label).unwrap_or_else(|| label_stand_in(&label))),
            None => Value::Qualified(label_stand_in(&label)),
        }
    }
}
