//! The byte scans on the shapes real modules write.
use proptest::strategy::Strategy;

use super::*;

/// Spellings of the shapes these tests scan (the real list is gathered
/// by `crate::project::spellings`).
const TEST_SPELLINGS: Spellings<'static> =
    Spellings { words: &["request.user", "AbstractUser"], project_wide: &["AbstractUser"] };

fn imports(source: &str, module: &str, is_package: bool) -> Vec<String> {
    let rules = RuleSet::load(&[]).expect("the built-in recipes load");
    let mut found =
        scan(source.as_bytes(), &ModuleName::new(module, is_package), &Vocabulary::new(&rules, &TEST_SPELLINGS))
            .imports;
    found.sort();
    found
}

#[test]
fn an_import_right_after_a_bom_counts() {
    assert_eq!(
        imports("\u{feff}from django.core.cache import cache\n", "m", false),
        ["django.core.cache", "django.core.cache.cache"]
    );
    assert_eq!(imports("\u{feff}import shop.models\n", "m", false), ["shop.models"]);
    assert!(direct("\u{feff}from django.db import models\n"));
}

#[test]
fn literal_model_labels_are_followed() {
    let source = "A = apps.get_model('shop', 'Book')\nB = load_model(\n    \"shop.Shelf\",\n)\n\
                  C = get_model(app, 'Book')\nD = get_model('shop')\nE = my_get_model('x', 'Y')\n";
    let labels: Vec<String> =
        imports(source, "m", false).into_iter().filter(|name| crate::infer::split_stand_in(name).is_some()).collect();
    assert_eq!(labels, [crate::infer::label_stand_in("shop.Book"), crate::infer::label_stand_in("shop.Shelf")]);
}

fn direct(source: &str) -> bool {
    let rules = RuleSet::load(&[]).expect("the built-in recipes load");
    scan(source.as_bytes(), &ModuleName::new("m", false), &Vocabulary::new(&rules, &TEST_SPELLINGS)).direct
}

#[test]
fn defined_names_are_the_names_after_def_where_a_statement_starts() {
    let text = b"class A:\n    def f(self): ...\n    async  def g(self): ...\nx = 'def h'; undef = 1\n\
                 def\\\n  k(): pass\n";
    let mut expected: Vec<u64> = ["f", "g", "k"].iter().map(|name| name_key(name.as_bytes())).collect();
    expected.sort_unstable();
    assert_eq!(defined_names(text), expected);
}

#[test]
fn import_shapes() {
    let cases: [(&str, &[&str]); 10] = [
        ("import a.b as c, d\n", &["a.b", "d"]),
        ("from a.b import (c,\n  d as e,  # why\n  f)\n", &["a.b", "a.b.c", "a.b.d", "a.b.f"]),
        ("from . import x\n", &["pkg", "pkg.x"]),
        ("from ..up import *\n", &["up"]),
        ("from .sib import y\n", &["pkg.sib", "pkg.sib.y"]),
        ("x = 1; import os\n", &["os"]),
        ("if t: from a import b\n", &["a", "a.b"]),
        ("from a \\\n    import b\n", &["a", "a.b"]),
        ("import a . b\n", &["a.b"]),
        ("reimport = importlib.import_module('x')\n", &[]),
    ];
    for (source, expected) in cases {
        assert_eq!(imports(source, "pkg.mod", false), expected, "{source:?}");
    }
    assert_eq!(imports("from . import x\n", "pkg", true), ["pkg", "pkg.x"]);
}

proptest::proptest! {
    /// Any bytes, import-like or not, cut UTF-8 and a lone `\\` at the
    /// end included: no panic, and no import name starts with a dot.
    #[test]
    fn scanning_never_panics(pieces in proptest::collection::vec(proptest::prop_oneof![
        proptest::sample::select(vec![
            "import", "from", "as", ".", "..", ",", "(", ")", "\\", "\\\r\n", "\n", "\r", " ", "\t", "#",
            "*", "request", "user", "objects", "self", "AbstractUser", "é", "pkg",
        ]).prop_map(|piece| piece.as_bytes().to_vec()),
        proptest::num::u8::ANY.prop_map(|byte| vec![byte]),
    ], 0..80)) {
        let text: Vec<u8> = pieces.concat();
        let rules = RuleSet::load(&[]).expect("the built-in recipes load");
        let scan = scan(&text, &ModuleName::new("pkg.mod", false), &Vocabulary::new(&rules, &TEST_SPELLINGS));
        for name in scan.imports {
            proptest::prop_assert!(!name.is_empty() && !name.starts_with('.'), "{name:?}");
        }
    }
}

#[test]
fn prefixes_run_from_the_name_to_its_top_package() {
    assert_eq!(prefixes("a.b.c").collect::<Vec<_>>(), ["a.b.c", "a.b", "a"]);
    assert_eq!(prefixes("a").collect::<Vec<_>>(), ["a"]);
}

#[test]
fn what_counts_by_itself() {
    assert!(direct("from django.db import models\n"));
    assert!(direct("import sqlalchemy as sa\n"));
    assert!(direct("def f(Model):\n    return Model.objects.get(pk=1)\n"));
    assert!(direct("def f(request):\n    return request . user\n"));
    assert!(direct("class U(AbstractUser): pass\n"));
    assert!(!direct("import asyncio\nfrom urllib.request import urlopen\n"));
    assert!(!direct("class C:\n    def f(self):\n        return self.objects\n"));
    assert!(direct("class C:\n    @classmethod\n    def f(cls):\n        return cls.objects.all()\n"));
    assert!(!direct("def f(gc):\n    return gc.get_objects(), 'list of objects'\n"));
    assert!(!direct("user = request_user\n"));
    assert!(direct("qs = (User\n    .objects\n    .all())\n"));
    assert!(!direct("\"\"\"Open the opener.\n\nobjects of interest: none\"\"\"\n"));
}

#[test]
fn every_attribute_of_one_name_counts() {
    // The evaluator's spellings name `request` three times, sorted `.auser`,
    // `.session`, `.user`, as the project's full list does.
    let mut words = crate::infer::SPELLINGS.to_vec();
    words.sort_unstable();
    let spellings = Spellings { words: &words, project_wide: &[] };
    let rules = RuleSet::load(&[]).expect("the built-in recipes load");
    let vocabulary = Vocabulary::new(&rules, &spellings);
    let direct = |source: &str| scan(source.as_bytes(), &ModuleName::new("m", false), &vocabulary).direct;
    for attribute in ["user", "auser", "session"] {
        assert!(direct(&format!("async def f(request):\n    return request.{attribute}.pk\n")), "{attribute}");
    }
    assert!(!direct("async def f(request):\n    return request.method\n"));
    assert!(direct("async def f(scope):\n    return scope['user'].profile\n"));
}

#[test]
fn relations_among_a_modules_own_models() {
    let fields = ["ForeignKey", "OneToOneField", "ManyToManyField"];
    let rules = RuleSet::load(&[]).expect("the built-in recipes load");
    let vocabulary = Vocabulary::new(&rules, &TEST_SPELLINGS);
    let module = ModuleName::new("shop.models", false);
    let within = |source: &str| {
        relates_only_within(source.as_bytes(), &fields, &module, &scan(source.as_bytes(), &module, &vocabulary))
    };
    let header = "class Shelf(Model):\n    pass\nclass Book(Model):\n";
    assert!(within(&format!("{header}    shelf = ForeignKey(Shelf, on_delete=CASCADE)\n")));
    assert!(within(&format!("{header}    sequel = OneToOneField('self', null=True)\n")));
    assert!(within(&format!("{header}    also = ManyToManyField(\n        # why\n        to=\"shop.Book\",\n    )\n")));
    assert!(within(&format!("{header}    kinds = (ForeignKey, OneToOneField)\n")));
    assert!(within("from django.db.models import ForeignKey\n"));
    // Another app's label, another module's class, a dotted name, a call, `to=` after another keyword.
    assert!(!within(&format!("{header}    member = ForeignKey('library.Shelf')\n")));
    assert!(!within(&format!("{header}    user = ForeignKey(User)\n")));
    assert!(!within(&format!("{header}    shelf = ForeignKey(models.Shelf)\n")));
    assert!(!within(&format!("{header}    shelf = ForeignKey(get_model('Shelf'))\n")));
    assert!(!within(&format!("{header}    shelf = ForeignKey(null=True, to=Shelf)\n")));
}
