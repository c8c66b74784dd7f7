//! The evaluator on its own: a small source, the built-in recipes, and a
//! stub of the project's facts instead of an index.

use super::stub::{PROFILE, Stub, USER};
use super::{Evaluator, Value};
use crate::parse;
use crate::recipe::RuleSet;
use crate::semantic::{ModuleName, SemanticModel};

const HEADER: &str = "\
from app.models import User
from app.services import current_user
from django.core.cache import cache
from rest_framework_simplejwt.tokens import RefreshToken
";

/// What the last line of `body` (the body of `async def f(request, raw)`)
/// evaluates to.
fn value_of(body: &str) -> Value {
    let source = format!("{HEADER}\n\nasync def f(request, raw):\n{body}\n");
    let tree = parse::parse(&source).expect("parses");
    let model = SemanticModel::build(&source, &tree, ModuleName::new("app.views", false));
    let rules = RuleSet::load(&[]).expect("the built-in recipes load");
    let stub = Stub::new();
    let evaluator = Evaluator::new(&model, &rules, Some(&stub));
    let function = crate::parse::last_named_child(tree.root_node()).expect("the function");
    let body_node = function.child_by_field_name("body").expect("a body");
    let last = crate::parse::last_named_child(body_node).expect("a last statement");
    let expression = last.named_child(0).expect("an expression statement");
    let scope = model.scope_opened_by(function).expect("the function's scope");
    evaluator.eval(expression, scope)
}

fn instance(class: &str) -> Value {
    Value::Instance { class: class.to_owned(), preloaded: Vec::new() }
}

#[test]
fn managers_and_querysets_come_from_model_classes() {
    assert!(matches!(value_of("    User.objects"), Value::Manager { model: Some(model), .. } if model == USER));
    assert!(
        matches!(value_of("    User.objects.filter(a=1).exclude(b=2)"), Value::QuerySet { model: Some(model), .. } if model == USER)
    );
    // An evaluating method is a value of its own, not a QuerySet.
    assert_eq!(value_of("    User.objects.filter(a=1).get()"), instance(USER));
}

#[test]
fn instances_come_from_fetches_wrapped_or_native() {
    assert_eq!(value_of("    u = await User.objects.aget(pk=1)\n    u"), instance(USER));
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    u"), instance(USER));
    assert_eq!(value_of("    u = current_user()\n    u"), instance(USER));
    assert_eq!(value_of("    request.user"), instance(USER));
}

#[test]
fn relations_follow_the_project_facts() {
    // Reading a one-to-one sets the other side on what it loads.
    let loaded =
        |class: &str, relation: &str| Value::Instance { class: class.to_owned(), preloaded: vec![relation.to_owned()] };
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    u.profile"), loaded(PROFILE, "user"));
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    u.profile.user"), loaded(USER, "profile"));
    assert!(
        matches!(value_of("    u = User.objects.get(pk=1)\n    u.groups"), Value::Manager { model: Some(model), .. } if model == "auth.Group")
    );
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    u.email"), Value::Unknown);
}

#[test]
fn select_related_is_remembered() {
    let value = value_of("    u = User.objects.select_related('profile__user').get(pk=1)\n    u");
    assert_eq!(value, Value::Instance { class: USER.to_owned(), preloaded: vec!["profile__user".to_owned()] });
    // Following the path keeps what lies beyond it.
    let value = value_of("    u = User.objects.select_related('profile__user').get(pk=1)\n    u.profile");
    assert_eq!(value, Value::Instance { class: PROFILE.to_owned(), preloaded: vec!["user".to_owned()] });
}

#[test]
fn names_resolve_through_imports_and_shadowing_wins() {
    assert_eq!(value_of("    cache"), Value::Qualified("django.core.cache.cache".to_owned()));
    assert_eq!(value_of("    cache = {}\n    cache"), Value::Unknown);
    assert!(matches!(value_of("    RefreshToken(raw)"), Value::Tagged { .. }));
}

#[test]
fn disagreeing_assignments_give_nothing() {
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    u = raw.strip()\n    u"), Value::Unknown);
    assert_eq!(value_of("    u = raw.strip()\n    u"), Value::Unknown);
}

#[test]
fn none_only_clears_a_name() {
    assert_eq!(value_of("    u = None\n    if raw:\n        u = User.objects.get(pk=1)\n    u"), instance(USER));
    assert_eq!(value_of("    u = None\n    u"), Value::Unknown);
    // The last binding is the one that reaches: `u` is `None` there.
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    u = None\n    u"), Value::Unknown);
}

#[test]
fn the_last_binding_reaches() {
    assert_eq!(value_of("    u = raw.strip()\n    u = User.objects.get(pk=1)\n    u"), instance(USER));
    assert_eq!(value_of("    u = User.objects.get(pk=1)\n    if raw:\n        u = raw.strip()\n    u"), Value::Unknown);
}

#[test]
fn label_stand_ins_split_into_label_and_rest() {
    use super::{label_stand_in, split_stand_in};
    assert_eq!(split_stand_in(&label_stand_in("shop.Book")), Some(("shop.Book", None)));
    let chained = format!("{}.objects.filter", label_stand_in("shop.Book"));
    assert_eq!(split_stand_in(&chained), Some(("shop.Book", Some("objects.filter"))));
    assert_eq!(split_stand_in("shop.models.Book"), None);
}
