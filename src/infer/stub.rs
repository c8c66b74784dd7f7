//! A stub of the project's facts for unit tests: the evaluator and the
//! rules tested without building an index.

use std::collections::HashMap;

use super::Value;
use super::facts::{
    CallTarget, Effect, OrmClass, OrmMethod, ProjectFacts, Relation, Returned, SqlAlchemyRelationship, Touch,
};
use crate::recipe::{Callable, RuleSet};

/// A project with the models `app.models.User` (user model) and
/// `app.models.Profile`, related one to one by `User.profile` /
/// `Profile.user`.
#[derive(Default)]
pub struct Stub {
    relations: HashMap<(String, String), Relation>,
}

pub const USER: &str = "app.models.User";
pub const PROFILE: &str = "app.models.Profile";

impl Stub {
    pub fn new() -> Self {
        let mut relations = HashMap::new();
        relations.insert(
            (USER.to_owned(), "profile".to_owned()),
            Relation { target: PROFILE.to_owned(), many: false, back: Some("user".to_owned()) },
        );
        relations.insert(
            (PROFILE.to_owned(), "user".to_owned()),
            Relation { target: USER.to_owned(), many: false, back: Some("profile".to_owned()) },
        );
        relations.insert(
            (USER.to_owned(), "groups".to_owned()),
            Relation { target: "auth.Group".to_owned(), many: true, back: None },
        );
        Self { relations }
    }
}

impl ProjectFacts for Stub {
    fn user_model(&self) -> Option<&str> {
        Some(USER)
    }
    fn resolve_value(&self, _: &str) -> Option<Value> {
        None
    }
    fn is_class(&self, name: &str) -> bool {
        name == USER || name == PROFILE
    }
    fn is_model(&self, class: &str, _: &RuleSet) -> bool {
        self.is_class(class)
    }
    fn model_by_app_label(&self, _: &str) -> Option<String> {
        None
    }
    fn instance_attribute(&self, _: &str, _: &str) -> Option<Value> {
        None
    }
    fn property_returns(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn relation(&self, class: &str, attribute: &str) -> Option<&Relation> {
        self.relations.get(&(class.to_owned(), attribute.to_owned()))
    }
    fn orm_class(&self, _: &str, _: &RuleSet) -> Option<OrmClass> {
        None
    }
    fn declared_manager(&self, _: &str, _: &str, _: &RuleSet) -> Option<Vec<String>> {
        None
    }
    fn orm_method(&self, _: &[String], _: &str) -> Option<OrmMethod> {
        None
    }
    fn method_returns(&self, _: &str, _: &str) -> Option<Returned> {
        None
    }
    fn method_returns_classes(&self, _: &str, _: &str) -> Option<Option<Vec<String>>> {
        None
    }
    fn function_returns(&self, name: &str) -> Option<Returned> {
        (name == "app.services.current_user").then(|| Returned { class: USER.to_owned(), loaded: Vec::new() })
    }
    fn inherited_callable(&self, _: &str, _: &RuleSet) -> Option<Callable> {
        None
    }
    fn inherited_method(&self, _: &str, _: &str, _: bool, _: &RuleSet) -> Option<Callable> {
        None
    }
    /// `app.services.refresh_stats` touches the database.
    fn touching_call(&self, target: &CallTarget, _: &RuleSet) -> Option<(String, Touch)> {
        match target {
            CallTarget::Name(name) if name == "app.services.refresh_stats" => Some((
                name.clone(),
                Touch {
                    reason: "`Stats.objects.update(...)`".to_owned(),
                    effect: Effect::Database,
                    generator: false,
                    only_when: Vec::new(),
                },
            )),
            _ => None,
        }
    }
    fn touching_method_named(&self, _: &str) -> Option<(String, Touch)> {
        None
    }
    fn is_sqlalchemy_model(&self, _: &str) -> bool {
        false
    }
    fn maps_sqlalchemy(&self) -> bool {
        false
    }
    fn primary_key(&self, _: &str) -> String {
        "id".to_owned()
    }
    fn sqlalchemy_relationship(&self, _: &str, _: &str) -> Option<SqlAlchemyRelationship> {
        None
    }
    fn sqlalchemy_relationships(&self, _: &str) -> Vec<(String, SqlAlchemyRelationship)> {
        Vec::new()
    }
    fn sqlalchemy_loads(&self, _: &CallTarget) -> Option<(crate::infer::facts::Loads, Option<String>)> {
        None
    }
    fn same_class(&self, first: &str, second: &str) -> bool {
        first == second
    }
    fn session_factory(&self, _: &str) -> Option<bool> {
        None
    }
    fn sessions_never_expire(&self) -> bool {
        false
    }

    fn ancestors(&self, class: &str) -> Vec<String> {
        vec![class.to_owned()]
    }
    fn subclasses(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}
