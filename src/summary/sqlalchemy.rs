//! The `SQLAlchemy` part of a module's summary: session factories and
//! their `expire_on_commit`, mapped columns and relationships.

use tree_sitter::Node;

use super::{ColumnSummary, FOREIGN_KEY, RelationshipSummary, string_value};
use crate::infer::{Evaluator, Value};
use crate::parse::FIELD;
use crate::semantic::{ScopeId, SemanticModel};

/// The base every `declarative_base()` class stands for.
pub const DECLARATIVE_BASE: &str = "sqlalchemy.orm.DeclarativeBase";

/// `async_sessionmaker(engine, expire_on_commit=False)` and friends:
/// `Some(expire_on_commit)`. `declarative_base()` is recorded as a value.
pub(super) fn session_factory(value: Node<'_>, evaluator: &Evaluator<'_, '_>) -> Option<bool> {
    if value.kind() != "call" {
        return None;
    }
    let model = evaluator.model;
    let Value::Qualified(name) = evaluator.eval(value.child_by_field_id(FIELD.function)?, ScopeId::MODULE) else {
        return None;
    };
    let arguments = value.child_by_field_id(FIELD.arguments)?;
    let text = model.text(arguments);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let is_factory = match name.as_str() {
        "sqlalchemy.ext.asyncio.async_sessionmaker"
        | "sqlalchemy.ext.asyncio.AsyncSession"
        | "sqlalchemy.ext.asyncio.session.AsyncSession"
        | "sqlalchemy.ext.asyncio.session.async_sessionmaker"
        | "sqlmodel.ext.asyncio.session.AsyncSession" => true,
        "sqlalchemy.orm.sessionmaker" => compact.contains("class_=AsyncSession"),
        _ => false,
    };
    is_factory.then(|| !compact.contains("expire_on_commit=False"))
}

/// Every session or session factory the module makes, wherever it makes it
/// (a `FastAPI` dependency, a fixture, a class's `__init__`): whether each
/// expires objects on commit.
pub(super) fn session_constructions(evaluator: &Evaluator<'_, '_>) -> Vec<bool> {
    let model = evaluator.model;
    if !model.source.contains("Session") && !model.source.contains("sessionmaker") {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut stack = vec![model.tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "call"
            && let Some(expire) = session_factory(node, evaluator)
        {
            found.push(expire);
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    found
}

pub(super) enum SqlAlchemyAttribute {
    Column(ColumnSummary),
    Relationship(RelationshipSummary),
}

/// `mapped_column(...)`, `Column(...)` or `relationship(...)` in a class body.
pub(super) fn sqlalchemy_attribute(
    call: Node<'_>,
    annotation: Option<Node<'_>>,
    evaluator: &Evaluator<'_, '_>,
) -> Option<SqlAlchemyAttribute> {
    let model = evaluator.model;
    let callee = call.child_by_field_id(FIELD.function)?;
    let Value::Qualified(name) = evaluator.eval(callee, ScopeId::MODULE) else { return None };
    let short = name.rsplit('.').next().unwrap_or(&name);
    if !name.starts_with("sqlalchemy") && !name.starts_with("sqlmodel") {
        return None;
    }
    let arguments = call.child_by_field_id(FIELD.arguments)?;
    let mut cursor = arguments.walk();
    let arguments: Vec<Node<'_>> = arguments.named_children(&mut cursor).collect();
    let keyword = |key: &str| keyword_value(&arguments, key, model);
    if name.starts_with("sqlmodel") {
        return sqlmodel_attribute(short, &arguments, annotation, model);
    }
    match short {
        "mapped_column" | "Column" => {
            let mut column = ColumnSummary {
                primary_key: keyword("primary_key").is_some_and(|value| model.text(value) == "True"),
                ..ColumnSummary::default()
            };
            for argument in &arguments {
                if argument.kind() != "call" {
                    continue;
                }
                let is_foreign_key = argument.child_by_field_id(FIELD.function).is_some_and(|function| {
                    matches!(evaluator.eval(function, ScopeId::MODULE), Value::Qualified(name) if name.ends_with(FOREIGN_KEY))
                });
                let target = argument.child_by_field_id(FIELD.arguments).and_then(|arguments| arguments.named_child(0));
                if let (true, Some(target)) = (is_foreign_key, target) {
                    column.foreign_key = Some(string_value(model.text(target)));
                }
            }
            Some(SqlAlchemyAttribute::Column(column))
        }
        "relationship" | "relation" => {
            let mut relationship = RelationshipSummary {
                lazy: keyword("lazy").map(|value| string_value(model.text(value))),
                secondary: keyword("secondary").is_some(),
                custom_join: keyword("primaryjoin").is_some(),
                collection: keyword("uselist").map(|value| model.text(value) == "True"),
                shaped: keyword("order_by").is_some() || keyword("collection_class").is_some(),
                ..RelationshipSummary::default()
            };
            if let Some(keys) = keyword("foreign_keys") {
                relationship.foreign_keys = model
                    .text(keys)
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                    .filter_map(|part| part.rsplit('.').next())
                    .filter(|part| !part.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            let positional = arguments.iter().find(|argument| argument.kind() != "keyword_argument");
            relationship.target = match positional {
                Some(target) if target.kind() == "string" => Some(string_value(model.text(*target))),
                Some(target) => match evaluator.eval(*target, ScopeId::MODULE) {
                    Value::Qualified(name) => Some(name),
                    _ => None,
                },
                None => None,
            };
            Some(SqlAlchemyAttribute::Relationship(with_annotation(relationship, annotation, model)))
        }
        _ => None,
    }
}

/// `SQLModel`: `Field(foreign_key="teams.id")` is a column, `Relationship(...)`
/// a relationship whose options sit in `sa_relationship_kwargs`.
fn sqlmodel_attribute(
    short: &str,
    arguments: &[Node<'_>],
    annotation: Option<Node<'_>>,
    model: &SemanticModel<'_>,
) -> Option<SqlAlchemyAttribute> {
    let keyword = |key: &str| keyword_value(arguments, key, model);
    match short {
        "Field" => {
            let foreign_key = keyword("foreign_key").filter(|key| key.kind() == "string");
            let primary_key = keyword("primary_key").is_some_and(|value| model.text(value) == "True");
            (foreign_key.is_some() || primary_key).then(|| {
                SqlAlchemyAttribute::Column(ColumnSummary {
                    foreign_key: foreign_key.map(|key| string_value(model.text(key))),
                    primary_key,
                })
            })
        }
        "Relationship" => {
            let options = keyword("sa_relationship_kwargs").filter(|options| options.kind() == "dictionary");
            let option = |key: &str| {
                let options = options?;
                let mut cursor = options.walk();
                let pairs: Vec<Node<'_>> = options.named_children(&mut cursor).collect();
                pairs.into_iter().find_map(|pair| {
                    let name = pair.child_by_field_id(FIELD.key).filter(|name| name.kind() == "string")?;
                    (string_value(model.text(name)) == key).then(|| pair.child_by_field_id(FIELD.value)).flatten()
                })
            };
            let relationship = RelationshipSummary {
                lazy: option("lazy").map(|value| string_value(model.text(value))),
                secondary: keyword("link_model").is_some() || option("secondary").is_some(),
                custom_join: option("primaryjoin").is_some(),
                collection: option("uselist").map(|value| model.text(value) == "True"),
                shaped: option("order_by").is_some() || option("collection_class").is_some(),
                ..RelationshipSummary::default()
            };
            Some(SqlAlchemyAttribute::Relationship(with_annotation(relationship, annotation, model)))
        }
        _ => None,
    }
}

/// The value of `key=` among a call's arguments.
fn keyword_value<'t>(arguments: &[Node<'t>], key: &str, model: &SemanticModel<'_>) -> Option<Node<'t>> {
    arguments.iter().find_map(|argument| {
        (argument.kind() == "keyword_argument"
            && argument.child_by_field_id(FIELD.name).is_some_and(|name| model.text(name) == key))
        .then(|| argument.child_by_field_id(FIELD.value))
        .flatten()
    })
}

/// `Mapped[list["Target"]]` (or `SQLModel`'s `list["Target"]`, `Optional[Target]`)
/// says both the target and whether it is a collection.
fn with_annotation(
    mut relationship: RelationshipSummary,
    annotation: Option<Node<'_>>,
    model: &SemanticModel<'_>,
) -> RelationshipSummary {
    {
        if let Some(annotation) = annotation {
            let text: String = model.text(annotation).chars().filter(|c| !c.is_whitespace()).collect();
            let inner = text.trim_start_matches("Mapped[").trim_end_matches(']');
            let is_collection = ["list[", "List[", "set[", "Set["].iter().any(|prefix| inner.starts_with(prefix));
            relationship.collection = relationship.collection.or(Some(is_collection));
            if relationship.target.is_none() {
                let name = inner
                    .rsplit('[')
                    .next()
                    .unwrap_or("")
                    .split(['|', ']', ','])
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c| c == '"' || c == '\'');
                if !name.is_empty() && name != "None" {
                    relationship.target = Some(name.to_owned());
                }
            }
        }
    }
    relationship
}
