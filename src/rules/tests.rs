//! Each kind of site on its own: a short source, the built-in recipes, and
//! a stub of the project's facts (`infer::stub`), through the one visitor.
//! The fixture suite shows whole files; these pin each rule's decision.

use crate::infer::stub::Stub;
use crate::parse;
use crate::recipe::RuleSet;
use crate::semantic::{ModuleName, SemanticModel};
use crate::settings::Settings;

use super::{FileInfo, check_model};

const HEADER: &str = "\
from app.models import User
from app.services import refresh_stats
from asgiref.sync import sync_to_async
from django.core.cache import cache
from rest_framework_simplejwt.tokens import RefreshToken
";

/// `(code, text of the site, fixable)` for every site in `body`, the body of
/// `async def f(request, raw)`.
fn sites(body: &str) -> Vec<(String, String, bool)> {
    let source = format!("{HEADER}\n\nasync def f(request, raw):\n{body}\n");
    let tree = parse::parse(&source).expect("parses");
    let model = SemanticModel::build(&source, &tree, ModuleName::new("app.views", false));
    let rules = RuleSet::load(&[]).expect("the built-in recipes load");
    let enabled = vec![true; rules.rules.len()];
    let settings = Settings {
        rules: rules.into(),
        enabled,
        unsafe_fixes: false,
        sqlalchemy_fix: None,
        full_parse: false,
        native: None,
        migrate: false,
        wrapper: None,
        report_unused_suppressions: false,
    };
    let stub = Stub::new();
    let file = FileInfo { module: &model.module, index: Some(&stub) };
    check_model(&model, file, &settings)
        .into_iter()
        .map(|diagnostic| {
            let code = settings.rules.rule(diagnostic.rule).code.clone();
            (code, source[diagnostic.range].to_owned(), diagnostic.fix.is_some())
        })
        .collect()
}

fn one(code: &str, text: &str) -> Vec<(String, String, bool)> {
    vec![(code.to_owned(), text.to_owned(), true)]
}

#[test]
fn orm_query_needs_an_evaluating_method() {
    assert_eq!(sites("    User.objects.filter(a=1).exists()"), one("DJ001", "User.objects.filter(a=1).exists()"));
    assert_eq!(sites("    qs = User.objects.filter(a=1)"), []);
    assert_eq!(sites("    await User.objects.filter(a=1).aexists()"), []);
}

#[test]
fn recipe_callables_and_their_tagged_values() {
    assert_eq!(sites("    cache.get('k')"), one("DJ003", "cache.get('k')"));
    assert_eq!(sites("    cache = {}\n    cache.get('k')"), []);
    assert_eq!(sites("    token = RefreshToken(raw)")[0].1, "RefreshToken(raw)");
    let found = sites("    token = await sync_to_async(RefreshToken)(raw)\n    token.blacklist()");
    assert_eq!(found, one("DJ002", "token.blacklist()"));
    assert_eq!(sites("    token = await sync_to_async(RefreshToken)(raw)\n    token.access_token"), []);
}

#[test]
fn model_instance_methods_need_a_model_instance() {
    assert_eq!(sites("    u = await User.objects.aget(pk=1)\n    u.save()"), one("DJ102", "u.save()"));
    assert_eq!(
        sites("    u = await User.objects.aget(pk=1)\n    u.groups.add(raw)"),
        one("DJ102", "u.groups.add(raw)")
    );
    assert_eq!(sites("    raw.save()"), []);
}

#[test]
fn lazy_relations_unless_selected() {
    assert_eq!(sites("    u = await User.objects.aget(pk=1)\n    u.profile"), one("DJ103", "u.profile"));
    let selected = "    u = await User.objects.select_related('profile').aget(pk=1)\n    u.profile";
    assert_eq!(sites(selected), []);
    assert_eq!(sites("    u = await User.objects.aget(pk=1)\n    u.email"), []);
}

#[test]
fn implicit_evaluation_of_querysets() {
    let found = sites("    for u in User.objects.all():\n        pass");
    assert_eq!(found, one("DJ104", "User.objects.all()"));
    assert_eq!(sites("    async for u in User.objects.all():\n        pass"), []);
    assert_eq!(sites("    len(User.objects.all())"), one("DJ104", "len(User.objects.all())"));
    // The value of `or` is the QuerySet itself: reported, not fixed.
    assert_eq!(
        sites("    found = User.objects.all() or []"),
        vec![("DJ104".to_owned(), "User.objects.all()".to_owned(), false)]
    );
}

#[test]
fn project_helpers_known_to_touch_the_database() {
    assert_eq!(sites("    refresh_stats()"), one("DJ101", "refresh_stats()"));
    assert_eq!(sites("    print(raw)"), []);
}

#[test]
fn nothing_runs_on_the_loop_outside_async_code() {
    assert_eq!(sites("    def inner():\n        return User.objects.get(pk=1)"), []);
    assert_eq!(sites("    await sync_to_async(lambda: User.objects.get(pk=1))()"), []);
    assert_eq!(sites("    helper = lambda: cache.get('k')"), []);
}
