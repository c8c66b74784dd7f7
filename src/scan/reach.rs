//! Which modules can matter to the index, decided from their bytes alone.
//!
//! Everything the index learns comes, in the end, from a name the recipes
//! know (`django...`, `sqlalchemy...`) or from a spelling a rule matches
//! without resolving it (`X.objects`, `request.user`, a class ending in
//! `AbstractUser`). A module that holds neither, and cannot import (directly
//! or through other project modules) one that does, defines no model, no
//! function that touches the database, no session factory and no relation:
//! the index need not parse it. On code that never touches a database (the
//! standard library, a web framework's own async plumbing), this skips most
//! of what async code imports.
//!
//! The scan over-approximates on purpose: `import` and the spellings count
//! wherever they appear, strings and comments included, so a real import is
//! never missed; a false one only costs a parse. `--full-index` parses
//! everything, and the tests compare the two.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, Input, MatchKind};

use crate::infer::label_stand_in;
use crate::recipe::RuleSet;
use crate::semantic::ModuleName;

/// Top-level packages asyncfix itself knows, beyond the recipes' names.
const KNOWN_PACKAGES: [&str; 4] = ["django", "sqlalchemy", "channels", "asgiref"];

/// What the rules and the index match by spelling rather than by resolved
/// import, declared by the code that matches it (`crate::project::spellings`
/// gathers them): a module holding one is never skipped.
#[derive(Debug, Clone, Copy)]
pub struct Spellings<'a> {
    /// Matched anywhere (`AbstractUser` in `class U(AbstractUser)`), or, for
    /// `name.attribute`, as the word `name` read as `.attribute`
    /// (`request.user`, also across a line break before the dot).
    pub words: &'a [&'a str],
    /// What makes a module matter to every module of its root, imported or
    /// not: the user model's bases, session factories.
    pub project_wide: &'a [&'a str],
}

/// What the rules know, turned into byte patterns.
pub struct Vocabulary {
    /// Top-level packages of every qualified name the recipes use.
    packages: HashSet<String>,
    /// The packages the built-in recipes describe. A user recipe may name
    /// the project's own functions: its packages stay indexed.
    described: HashSet<String>,
    /// A recipe names a builtin: every module can reach it without an import.
    everything: bool,
    spellings: AhoCorasick,
    /// For each of the first patterns, the attributes it must be read as
    /// (`request` then `.user` or `.session`), or `None` where it counts
    /// anywhere; the patterns after them are the managers' names.
    attributes: Vec<Option<Vec<String>>>,
    project_wide: Vec<String>,
    /// The last part of each model loader's name (`get_model`): a call with
    /// a literal label names the module that defines the model.
    loaders: Vec<String>,
}

impl Vocabulary {
    pub fn new(rules: &RuleSet, spelled: &Spellings<'_>) -> Self {
        let packages = packages_named(rules);
        let described = match RuleSet::load(&[]) {
            Ok(builtin) => packages_named(&builtin),
            Err(_) => KNOWN_PACKAGES.iter().map(|&package| package.to_owned()).collect(),
        };
        let everything = packages.contains("builtins");
        // One pattern per name: the search reports one pattern at a
        // position, so `request` must carry `.user`, `.auser` and `.session`.
        let mut patterns: Vec<&str> = Vec::new();
        let mut attributes: Vec<Option<Vec<String>>> = Vec::new();
        for word in spelled.words {
            let (name, attribute) = match word.split_once('.') {
                Some((name, attribute)) => (name, Some(attribute)),
                None => (*word, None),
            };
            let at = patterns.iter().position(|&known| known == name).unwrap_or_else(|| {
                patterns.push(name);
                attributes.push(Some(Vec::new()));
                patterns.len() - 1
            });
            match (attribute, &mut attributes[at]) {
                (Some(attribute), Some(listed)) => listed.push(attribute.to_owned()),
                // Matched anywhere: the attributes no longer matter.
                (None, slot) => *slot = None,
                (Some(_), None) => {}
            }
        }
        let mut managers: Vec<&String> = rules.orm.managers.iter().collect();
        managers.sort();
        patterns.extend(managers.iter().map(|manager| manager.as_str()));
        // Leftmost-longest (not overlapping) search can use the SIMD prefilter;
        // `spells_a_rule_word` restarts right after a match it rejects.
        let spellings = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .expect("a few short literal patterns always build");
        let project_wide = spelled.project_wide.iter().map(|&word| word.to_owned()).collect();
        let mut loaders: Vec<String> =
            rules.orm.model_loaders.iter().map(|name| name.rsplit('.').next().unwrap_or(name).to_owned()).collect();
        loaders.sort();
        loaders.dedup();
        Self { packages, described, everything, spellings, attributes, project_wide, loaders }
    }
}

/// The top-level packages of every qualified name `rules` use, and the ones
/// asyncfix knows itself.
fn packages_named(rules: &RuleSet) -> HashSet<String> {
    let names = rules
        .callables
        .keys()
        .chain(&rules.orm.model_factories)
        .chain(&rules.orm.model_loaders)
        .chain(&rules.orm.model_bases)
        .chain(rules.orm.relation_fields.keys())
        .chain(rules.dispatch.keys().map(|(base, _)| base))
        .chain(&rules.wrappers);
    let mut packages: HashSet<String> = KNOWN_PACKAGES.iter().map(|&package| package.to_owned()).collect();
    for name in names {
        packages.insert(name.split(['.', '[']).next().unwrap_or(name).to_owned());
    }
    packages
}

impl Vocabulary {
    /// Whether `module` belongs to a package the built-in recipes describe. The index
    /// never reads those modules, in the tree or not: the recipes are what
    /// asyncfix knows of `django.*`, so a vendored Django gives the same
    /// results as an installed one.
    pub fn describes(&self, module: &str) -> bool {
        self.described.contains(module.split('.').next().unwrap_or(module))
    }
}

/// What the bytes of one module say.
#[derive(Debug, Clone, Default)]
pub struct ModuleScan {
    /// Absolute dotted names the module may import (modules, or names inside them).
    pub imports: Vec<String>,
    /// It imports a package the recipes name, or spells something a rule matches.
    pub direct: bool,
    /// It may define what every module's check depends on, import or not:
    /// the user model, or a `SQLAlchemy` session factory.
    pub project_wide: bool,
    /// The names this module's `def`s define ([`name_key`]s, sorted, once
    /// each): an unsafe method guess needs the name to be defined in one
    /// file only, parsed or not.
    pub defines: Vec<u64>,
    /// The last part of every base a `class` header names (`class T(base.Mixin, Base):`
    /// gives `Mixin` and `Base`): the index reads the subclasses of the
    /// classes whose async methods it checks, for what they set on `self`.
    pub subclasses_of: Vec<String>,
    /// The names of the classes whose `class` statement starts a line.
    pub classes: Vec<String>,
    /// The bases listed beside one that names a model (`Model`,
    /// `TimeStampedModel`, `AbstractUser`): mixins of models.
    pub model_mixins: Vec<String>,
}

/// The key a defined name is counted under across the run's files (a fixed
/// hash: two names sharing one only make a guess less likely).
pub fn name_key(name: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(name);
    hasher.finish()
}

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Whether only indentation (or, on the first line, a BOM) stands between
/// the start of its line and `at`: where a statement can start.
pub fn first_on_line(text: &[u8], at: usize) -> bool {
    let mut start = at;
    while start > 0 && matches!(text[start - 1], b' ' | b'\t' | b'\x0c') {
        start -= 1;
    }
    start == 0 || matches!(text[start - 1], b'\n' | b'\r') || (start == BOM.len() && text.starts_with(BOM))
}

/// The names after `def` where a statement starts (first on its line, or
/// after an `async` that is).
fn defined_names(text: &[u8]) -> Vec<u64> {
    let mut keys: Vec<u64> = memchr::memmem::find_iter(text, b"def")
        .filter(|&at| is_word(text, at, at + 3))
        .filter(|&at| {
            let before = skip_space_backward(text, at);
            let after_async = before < at
                && text[..before].ends_with(b"async")
                && is_word(text, before - "async".len(), before)
                && first_on_line(text, before - "async".len());
            first_on_line(text, at) || after_async
        })
        .filter_map(|at| {
            let name_start = skip_space(text, at + 3, false);
            let name_end = name_start + text[name_start..].iter().take_while(|&&byte| is_identifier_byte(byte)).count();
            (name_end > name_start && name_start > at + 3).then(|| name_key(&text[name_start..name_end]))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// What the `class` headers that start a line say.
#[derive(Default)]
struct ClassHeaders {
    /// The last part of each base.
    bases: Vec<String>,
    /// The names they define.
    names: Vec<String>,
    /// The bases listed beside one that names a model.
    model_mixins: Vec<String>,
}

/// Whether a base's last part reads as a model class: Django's `Model`, a
/// project's abstract `TimeStampedModel`, `AbstractUser`.
pub fn names_a_model(base: &str) -> bool {
    base.ends_with("Model") || (base.starts_with("Abstract") && base.ends_with("User"))
}

fn class_headers(text: &[u8]) -> ClassHeaders {
    let mut bases: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut model_mixins: Vec<String> = Vec::new();
    for at in memchr::memmem::find_iter(text, b"class") {
        if !is_word(text, at, at + 5) || !first_on_line(text, at) {
            continue;
        }
        let name_start = skip_space(text, at + 5, false);
        let name_end = name_start + text[name_start..].iter().take_while(|&&byte| is_identifier_byte(byte)).count();
        if name_end > name_start && name_start > at + 5 {
            names.push(String::from_utf8_lossy(&text[name_start..name_end]).into_owned());
        }
        let open = skip_space(text, name_end, false);
        if name_end == name_start || text.get(open) != Some(&b'(') {
            continue;
        }
        let Some(length) = text[open..].iter().position(|&byte| byte == b')' || byte == b':') else { continue };
        let list = String::from_utf8_lossy(&text[open + 1..open + length]);
        let header: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|base| !base.contains('=') && !base.is_empty())
            .map(|base| base.rsplit('.').next().unwrap_or(base))
            .filter(|last| last.bytes().all(is_identifier_byte))
            .collect();
        if header.iter().any(|base| names_a_model(base)) {
            model_mixins.extend(header.iter().filter(|base| !names_a_model(base)).map(|&base| base.to_owned()));
        }
        bases.extend(header.into_iter().map(str::to_owned));
    }
    for list in [&mut bases, &mut names, &mut model_mixins] {
        list.sort_unstable();
        list.dedup();
    }
    ClassHeaders { bases, names, model_mixins }
}

pub fn scan(text: &[u8], module: &ModuleName, vocabulary: &Vocabulary) -> ModuleScan {
    // A BOM's bytes would read as part of the first word (`\u{feff}from`).
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut imports = Vec::new();
    for position in memchr::memmem::find_iter(text, b"import") {
        if !is_word(text, position, position + "import".len()) {
            continue;
        }
        let names = imported_names(text, position + "import".len());
        match from_clause(text, position) {
            Some(base) => {
                let base = if base.starts_with('.') { module.resolve_relative(&base) } else { base };
                for name in &names {
                    if name != "*" && !base.is_empty() {
                        imports.push(format!("{base}.{name}"));
                    }
                }
                if !base.is_empty() {
                    imports.push(base);
                }
            }
            None => imports.extend(names),
        }
    }
    imports.extend(labels(text, vocabulary));
    let in_named_package = |name: &str| vocabulary.packages.contains(name.split('.').next().unwrap_or(name));
    // A module of a package the recipes name is described by them itself
    // (Django's own managers, a user recipe's project helpers).
    let direct = vocabulary.everything
        || in_named_package(&module.name)
        || imports.iter().any(|name| in_named_package(name))
        || spells_a_rule_word(text, vocabulary);
    let project_wide =
        vocabulary.project_wide.iter().any(|needle| memchr::memmem::find(text, needle.as_bytes()).is_some());
    let ClassHeaders { bases: subclasses_of, names: classes, model_mixins } = class_headers(text);
    ModuleScan { imports, direct, project_wide, defines: defined_names(text), subclasses_of, classes, model_mixins }
}

/// Whether every relation field the module declares points at a model of
/// its own (`"self"`, a class it defines, or a label naming one), as far as
/// its bytes tell. Such a module adds reverse accessors to its own models
/// only, which matter only to code holding one of them, and that code
/// imports the module (or follows a relation to it), so the index reads it
/// then. A target written any other way (a call, `to=` after another
/// keyword) counts as another module's. `scan` is the module's own
/// ([`scan`]): its class names.
pub fn relates_only_within(text: &[u8], fields: &[&str], module: &ModuleName, scan: &ModuleScan) -> bool {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let own = |name: &[u8]| scan.classes.binary_search_by(|class| class.as_bytes().cmp(name)).is_ok();
    // The app label of `shop.models` or `shop.models.books` is `shop`.
    let parts: Vec<&str> = module.name.split('.').collect();
    let app = parts.iter().position(|&part| part == "models").and_then(|at| at.checked_sub(1)).map(|at| parts[at]);
    let names_own_class = |target: &[u8]| match target.iter().rposition(|&byte| byte == b'.') {
        None => target == b"self" || own(target),
        // `"shop.Book"` in `shop.models`; a dotted name (`other.Book`) is another module's.
        Some(dot) => app.is_some_and(|app| app.as_bytes() == &target[..dot]) && own(&target[dot + 1..]),
    };
    fields.iter().all(|field| {
        memchr::memmem::find_iter(text, field.as_bytes()).filter(|&at| is_word(text, at, at + field.len())).all(|at| {
            let open = skip_space(text, at + field.len(), true);
            // `isinstance(f, ForeignKey)`, an import: not a declaration.
            if text.get(open) != Some(&b'(') {
                return true;
            }
            relation_target(text, open + 1).is_some_and(|(target, quoted)| {
                if quoted { names_own_class(target) } else { !target.contains(&b'.') && own(target) }
            })
        })
    })
}

/// The first argument of a relation field call (`to=` or positional), a
/// dotted name or the text of a string literal (`true`), when it is one of those.
fn relation_target(text: &[u8], mut at: usize) -> Option<(&[u8], bool)> {
    at = skip_space(text, at, true);
    if text[at..].starts_with(b"to") && !text.get(at + 2).copied().is_some_and(is_identifier_byte) {
        let equals = skip_space(text, at + 2, true);
        if text.get(equals) == Some(&b'=') && text.get(equals + 1) != Some(&b'=') {
            at = skip_space(text, equals + 1, true);
        }
    }
    let quote = *text.get(at)?;
    let (start, end, after, quoted) = if quote == b'"' || quote == b'\'' {
        let length = text[at + 1..].iter().position(|&byte| byte == quote || byte == b'\n')?;
        (at + 1, at + 1 + length, at + length + 2, true)
    } else {
        let length = text[at..].iter().take_while(|&&byte| is_identifier_byte(byte) || byte == b'.').count();
        (at, at + length, at + length, false)
    };
    let next = skip_space(text, after, true);
    (end > start && matches!(text.get(next), Some(b',' | b')'))).then(|| (&text[start..end], quoted))
}

/// `get_model("shop", "Book")`, `load_model("shop.Book")`: the label's
/// stand-in name, which the index follows to the modules that may define it.
fn labels(text: &[u8], vocabulary: &Vocabulary) -> Vec<String> {
    let mut found = Vec::new();
    for loader in &vocabulary.loaders {
        for position in memchr::memmem::find_iter(text, loader.as_bytes()) {
            let end = position + loader.len();
            if !is_word(text, position, end) {
                continue;
            }
            let open = skip_space(text, end, true);
            if text.get(open) != Some(&b'(') {
                continue;
            }
            let mut parts = Vec::new();
            let mut at = open + 1;
            while parts.len() < 2 {
                at = skip_space(text, at, true);
                let Some(&quote) = text.get(at).filter(|&&c| c == b'"' || c == b'\'') else { break };
                let Some(length) = text[at + 1..].iter().position(|&c| c == quote || c == b'\n') else { break };
                let value = &text[at + 1..at + 1 + length];
                if text[at + 1 + length] != quote
                    || !value.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                {
                    break;
                }
                parts.push(String::from_utf8_lossy(value).into_owned());
                at = skip_space(text, at + length + 2, true);
                if text.get(at) != Some(&b',') {
                    break;
                }
                at += 1;
            }
            let label = match parts.as_slice() {
                [app, model] => format!("{app}.{model}"),
                [label] if label.matches('.').count() == 1 => label.clone(),
                _ => continue,
            };
            found.push(label_stand_in(&label));
        }
    }
    found
}

/// `a.b.c`, `a.b` and `a`: an import of `a.b.c` runs all three.
pub fn prefixes(name: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(name), |current| current.rfind('.').map(|dot| &current[..dot]))
}

fn spells_a_rule_word(text: &[u8], vocabulary: &Vocabulary) -> bool {
    let mut from = 0;
    while let Some(found) = vocabulary.spellings.find(Input::new(text).range(from..)) {
        if spelled_at(text, vocabulary, &found) {
            return true;
        }
        from = found.start() + 1;
    }
    false
}

/// Whether a match of the vocabulary's patterns is a use a rule matches.
fn spelled_at(text: &[u8], vocabulary: &Vocabulary, found: &aho_corasick::Match) -> bool {
    let (start, end) = (found.start(), found.end());
    let pattern = found.pattern().as_usize();
    let attribute = vocabulary.attributes.get(pattern);
    if let Some(None) = attribute {
        return true;
    }
    if !is_word(text, start, end) {
        return false;
    }
    if let Some(Some(attributes)) = attribute {
        // `request.user`; a chain may break the line before the dot.
        let after = skip_space(text, end, true);
        return text.get(after) == Some(&b'.') && {
            let at = skip_space(text, after + 1, false);
            attributes.iter().any(|attribute| {
                text[at..].starts_with(attribute.as_bytes()) && is_word(text, at, at + attribute.len())
            })
        };
    }
    // A manager is read as an attribute: `X.objects`, or `X\n    .objects`
    // in a chain; a line break right after the dot is too rare to count,
    // and counting it would match prose ("... of the opener.\n\nobjects").
    // `self.objects` is never a manager: `self` is an instance, and
    // managers are read from classes.
    let Some(dot) = skip_space_backward(text, start).checked_sub(1).filter(|&dot| text[dot] == b'.') else {
        return false;
    };
    let receiver_end = skip_space_backward(text, dot);
    !(text[..receiver_end].ends_with(b"self") && is_word(text, receiver_end - "self".len(), receiver_end))
}

/// The dotted names after `import`: `a.b as c, d` or `(a as b, c)`; stops at
/// anything else.
fn imported_names(text: &[u8], mut at: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_parens = false;
    loop {
        at = skip_space(text, at, in_parens);
        if !in_parens && text.get(at) == Some(&b'(') {
            in_parens = true;
            at += 1;
            continue;
        }
        if text.get(at) == Some(&b'*') {
            names.push("*".to_owned());
            return names;
        }
        let (name, after) = dotted_name(text, at, in_parens);
        if name.is_empty() {
            return names;
        }
        names.push(name);
        at = skip_space(text, after, in_parens);
        if text[at..].starts_with(b"as") && is_word(text, at, at + 2) {
            let (_, after_alias) = dotted_name(text, skip_space(text, at + 2, in_parens), in_parens);
            at = skip_space(text, after_alias, in_parens);
        }
        if text.get(at) != Some(&b',') {
            return names;
        }
        at += 1;
    }
}

/// `a . b.c` from `at`, spaces around the dots dropped.
fn dotted_name(text: &[u8], mut at: usize, in_parens: bool) -> (String, usize) {
    let mut name = String::new();
    loop {
        let start = at;
        while at < text.len() && is_identifier_byte(text[at]) {
            at += 1;
        }
        if at == start {
            return (name, start);
        }
        name.push_str(&String::from_utf8_lossy(&text[start..at]));
        let after = skip_space(text, at, in_parens);
        if text.get(after) != Some(&b'.') {
            return (name, at);
        }
        name.push('.');
        at = skip_space(text, after + 1, in_parens);
    }
}

/// The module of `from X import` ending just before `import` at `position`:
/// `X` with its leading dots, or `None` for a plain `import`.
fn from_clause(text: &[u8], position: usize) -> Option<String> {
    // Back over the module name and the white space (and line continuations)
    // around it, to the start of the clause.
    let mut start = position;
    while start > 0 {
        let byte = text[start - 1];
        if is_identifier_byte(byte) || matches!(byte, b'.' | b' ' | b'\t' | b'\x0c') {
            start -= 1;
        } else if byte == b'\n' && start >= 2 && text[start - 2] == b'\\' {
            start -= 2;
        } else if byte == b'\n' && start >= 3 && text[start - 2] == b'\r' && text[start - 3] == b'\\' {
            start -= 3;
        } else {
            break;
        }
    }
    let clause: String = String::from_utf8_lossy(&text[start..position]).replace('\\', " ");
    let mut words = clause.split_whitespace();
    // The last `from` word, then everything after it, white space removed.
    let mut module: Option<String> = None;
    while let Some(word) = words.next() {
        if word == "from" {
            module = Some(words.clone().collect::<String>());
        }
    }
    module.filter(|module| !module.is_empty())
}

/// Past spaces, tabs and line continuations; with `newlines`, past line
/// breaks and comments too (inside brackets).
fn skip_space(text: &[u8], mut at: usize, newlines: bool) -> usize {
    while at < text.len() {
        match text[at] {
            b' ' | b'\t' | b'\x0c' => at += 1,
            b'\\' if text[at + 1..].starts_with(b"\n") => at += 2,
            b'\\' if text[at + 1..].starts_with(b"\r\n") => at += 3,
            b'\r' | b'\n' if newlines => at += 1,
            b'#' if newlines => {
                while at < text.len() && text[at] != b'\n' {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

/// Back over spaces, tabs and line continuations (not bare line breaks).
fn skip_space_backward(text: &[u8], mut at: usize) -> usize {
    while at > 0 {
        match text[at - 1] {
            b' ' | b'\t' | b'\x0c' => at -= 1,
            b'\n' if at >= 2 && text[at - 2] == b'\\' => at -= 2,
            b'\n' if at >= 3 && text[at - 2] == b'\r' && text[at - 3] == b'\\' => at -= 3,
            _ => break,
        }
    }
    at
}

/// Non-ASCII bytes count: Python identifiers may be Unicode.
/// Whether any identifier in `text` (strings and comments included) is one
/// of `words`.
pub fn spells_any<S: std::hash::BuildHasher>(text: &[u8], words: &HashSet<&[u8], S>) -> bool {
    text.split(|&byte| !is_identifier_byte(byte)).any(|word| !word.is_empty() && words.contains(word))
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

fn is_word(text: &[u8], start: usize, end: usize) -> bool {
    (start == 0 || !is_identifier_byte(text[start - 1])) && text.get(end).is_none_or(|&byte| !is_identifier_byte(byte))
}

#[cfg(test)]
#[path = "reach_tests.rs"]
mod tests;
