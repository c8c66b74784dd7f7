//! Native async rewrites, for a target Django that has them: a call becomes
//! its awaited async twin (`qs.get(...)` -> `await qs.aget(...)`,
//! `authenticate(...)` -> `await aauthenticate(...)` with its import), and a
//! `QuerySet` iterated in the async function's own body becomes async
//! iteration (`for x in qs:` -> `async for x in qs:`, `[f(x) for x in qs]`
//! -> `[f(x) async for x in qs]`, `list(qs)` -> `[obj async for obj in qs]`).
//! Each is a few byte edits; everything else stays as written.

use tree_sitter::Node;

use super::importer::Importer;
use super::rewrite::needs_parentheses;
use super::{Applicability, Edit, Fix, Wrapper};
use crate::parse::FIELD;
use crate::semantic::ScopeId;

/// Twins that return an async iterator, used with `async for`: never
/// awaited in place of their sync call.
pub const ASYNC_ITERATORS: [&str; 1] = ["aiterator"];

/// What an awaited wrapper holds: the call inside its lambda
/// (`w(lambda: qs.exists())()`), or the callee it wraps (`w(qs.exists)()`).
#[derive(Debug, Clone, Copy)]
pub struct Unwrap<'t> {
    pub inner: Node<'t>,
    pub lambda: bool,
}

/// `w(callee)(args)` -> `callee'(args)` and `w(lambda: call)()` -> `call'`,
/// the callee renamed to its twin; the `await` before them stays.
pub fn unwrap(
    outer: Node<'_>,
    unwrap: Unwrap<'_>,
    twin: &str,
    import_from: Option<&str>,
    scope: ScopeId,
    importer: &Importer<'_, '_>,
) -> Option<Fix> {
    let callee = if unwrap.lambda { unwrap.inner.child_by_field_id(FIELD.function)? } else { unwrap.inner };
    let (renamed, shared) = renamed(callee, twin, import_from, scope, importer)?;
    let tail = if unwrap.lambda {
        unwrap.inner.end_byte()..outer.end_byte()
    } else {
        unwrap.inner.end_byte()..outer.child_by_field_id(FIELD.arguments)?.start_byte()
    };
    let edits = vec![
        Edit { range: outer.start_byte()..unwrap.inner.start_byte(), content: String::new() },
        renamed,
        Edit { range: tail, content: String::new() },
    ];
    Some(Fix { edits, shared, span: outer.byte_range(), applicability: Applicability::Safe })
}

/// The edit renaming a callee to `twin`: the attribute of `x.method`, or a
/// bare name, with the twin's import.
fn renamed(
    callee: Node<'_>,
    twin: &str,
    import_from: Option<&str>,
    scope: ScopeId,
    importer: &Importer<'_, '_>,
) -> Option<(Edit, Vec<Edit>)> {
    match callee.kind() {
        "attribute" => Some((
            Edit { range: callee.child_by_field_id(FIELD.attribute)?.byte_range(), content: twin.to_owned() },
            Vec::new(),
        )),
        "identifier" => {
            let plan = importer.import(&Wrapper::new(import_from?, twin), scope).ok()?;
            Some((Edit { range: callee.byte_range(), content: plan.expression }, plan.edit.into_iter().collect()))
        }
        _ => None,
    }
}

/// `await receiver.twin(args)`, or for a bare name `await twin(args)` with
/// `twin` imported from `import_from`.
pub fn twin_call(
    call: Node<'_>,
    twin: &str,
    import_from: Option<&str>,
    scope: ScopeId,
    importer: &Importer<'_, '_>,
) -> Option<Fix> {
    let callee = call.child_by_field_id(FIELD.function)?;
    let (renamed, shared) = renamed(callee, twin, import_from, scope, importer)?;
    let mut edits = vec![Edit::insert(call.start_byte(), awaited_open(call)), renamed];
    if needs_parentheses(call) {
        edits.push(Edit::insert(call.end_byte(), ")"));
    }
    Some(Fix { edits, shared, span: call.byte_range(), applicability: Applicability::Safe })
}

/// `self.client.get(args)` -> `await self.async_client.get(args)`: the
/// receiver's attribute and the method renamed, the call awaited.
pub fn sibling_call(call: Node<'_>, receiver: &str, twin: &str) -> Option<Fix> {
    let callee = call.child_by_field_id(FIELD.function)?;
    let owner = callee.child_by_field_id(FIELD.object).filter(|owner| owner.kind() == "attribute")?;
    let mut edits = vec![
        Edit::insert(call.start_byte(), awaited_open(call)),
        Edit { range: owner.child_by_field_id(FIELD.attribute)?.byte_range(), content: receiver.to_owned() },
        Edit { range: callee.child_by_field_id(FIELD.attribute)?.byte_range(), content: twin.to_owned() },
    ];
    if needs_parentheses(call) {
        edits.push(Edit::insert(call.end_byte(), ")"));
    }
    Some(Fix { edits, shared: Vec::new(), span: call.byte_range(), applicability: Applicability::Safe })
}

/// `request.user.X` -> `(await request.auser()).X`: the object's attribute
/// becomes its awaited loader.
pub fn loaded_first(attribute: Node<'_>, twin: &str) -> Option<Fix> {
    let object = attribute.child_by_field_id(FIELD.object).filter(|object| object.kind() == "attribute")?;
    let edits = vec![
        Edit::insert(object.start_byte(), "(await "),
        Edit { range: object.child_by_field_id(FIELD.attribute)?.byte_range(), content: format!("{twin}()") },
        Edit::insert(object.end_byte(), ")"),
    ];
    Some(Fix { edits, shared: Vec::new(), span: attribute.byte_range(), applicability: Applicability::Safe })
}

/// `client.get(args)` -> `await client.get(args)`, with the constructor that
/// built `client` (`Client()` at `constructor`) switched to its twin
/// (`AsyncClient`, imported): a shared edit, the same from every call.
pub fn constructed_call(
    call: Node<'_>,
    twin: &str,
    constructor: std::ops::Range<usize>,
    class: &Wrapper,
    scope: ScopeId,
    importer: &Importer<'_, '_>,
) -> Option<Fix> {
    let callee = call.child_by_field_id(FIELD.function)?;
    let plan = importer.import(class, scope).ok()?;
    let mut edits = vec![
        Edit::insert(call.start_byte(), awaited_open(call)),
        Edit { range: callee.child_by_field_id(FIELD.attribute)?.byte_range(), content: twin.to_owned() },
    ];
    if needs_parentheses(call) {
        edits.push(Edit::insert(call.end_byte(), ")"));
    }
    let mut shared = vec![Edit { range: constructor, content: plan.expression }];
    shared.extend(plan.edit);
    Some(Fix { edits, shared, span: call.byte_range(), applicability: Applicability::Safe })
}

/// Whether `node` is inside the definition of `twin` itself (`async def
/// acreate(self, **kw): return await sync_to_async(self.create)(**kw)`,
/// Django's own and many projects' `asave`): the twin there would call
/// itself forever.
pub fn inside_definition_of(node: Node<'_>, twin: &str, source: &str) -> bool {
    let mut current = node.parent();
    while let Some(ancestor) = current {
        if ancestor.kind() == "function_definition" {
            return ancestor.child_by_field_id(FIELD.name).is_some_and(|name| &source[name.byte_range()] == twin);
        }
        current = ancestor.parent();
    }
    false
}

fn awaited_open(node: Node<'_>) -> &'static str {
    if needs_parentheses(node) { "(await " } else { "await " }
}

/// `qs` tested for truth -> `await qs.aexists()`.
pub fn method_of(value: Node<'_>, method: &str) -> Option<Fix> {
    let (open, close) = receiver_parentheses(value);
    let outer = needs_parentheses(value);
    let edits = vec![
        Edit::insert(value.start_byte(), format!("{}await {open}", if outer { "(" } else { "" })),
        Edit::insert(value.end_byte(), format!("{close}.{method}(){}", if outer { ")" } else { "" })),
    ];
    Some(Fix { edits, shared: Vec::new(), span: value.byte_range(), applicability: Applicability::Safe })
}

/// `len(qs)` -> `await qs.acount()`.
pub fn counted(call: Node<'_>, method: &str) -> Option<Fix> {
    let argument = only_argument(call)?;
    let (open, close) = receiver_parentheses(argument);
    let outer = needs_parentheses(call);
    let edits = vec![
        Edit {
            range: call.start_byte()..argument.start_byte(),
            content: format!("{}await {open}", if outer { "(" } else { "" }),
        },
        Edit {
            range: argument.end_byte()..call.end_byte(),
            content: format!("{close}.{method}(){}", if outer { ")" } else { "" }),
        },
    ];
    Some(Fix { edits, shared: Vec::new(), span: call.byte_range(), applicability: Applicability::Safe })
}

/// A call's one positional argument, with no trailing comma after it (its
/// text then moves as it is).
fn only_argument(call: Node<'_>) -> Option<Node<'_>> {
    let arguments = call.child_by_field_id(FIELD.arguments)?;
    let argument = arguments.named_child(0).filter(|argument| argument.kind() != "keyword_argument")?;
    let closing = arguments.child(arguments.child_count().checked_sub(1)?)?;
    (arguments.named_child_count() == 1 && argument.next_sibling().map(|next| next.id()) == Some(closing.id()))
        .then_some(argument)
}

/// Parentheses a value needs to take a method call (`(a or b).aexists()`).
fn receiver_parentheses(value: Node<'_>) -> (&'static str, &'static str) {
    match value.kind() {
        "identifier" | "attribute" | "call" | "subscript" | "parenthesized_expression" => ("", ""),
        _ => ("(", ")"),
    }
}

/// `iterable` iterated by a `for` statement or a list, set or dict
/// comprehension in the async function's own body: `async` before its `for`.
pub fn async_iteration(iterable: Node<'_>) -> Option<Fix> {
    let parent = iterable.parent()?;
    let is_iterable = parent.child_by_field_id(FIELD.right).is_some_and(|right| right.id() == iterable.id());
    match parent.kind() {
        "for_statement" if is_iterable => {}
        "for_in_clause" if is_iterable && makes_async_comprehension(parent.parent()?) => {}
        _ => return None,
    }
    let keyword = parent.child(0).filter(|keyword| keyword.kind() == "for")?;
    Some(Fix {
        edits: vec![Edit::insert(keyword.start_byte(), "async ")],
        shared: Vec::new(),
        span: parent.start_byte()..iterable.end_byte(),
        applicability: Applicability::Safe,
    })
}

/// `list(qs)` -> `[obj async for obj in qs]`, where a comprehension can be
/// async. The comprehension's first iterable is evaluated in the enclosing
/// scope, so `obj` cannot capture a name `qs` uses.
pub fn listed(call: Node<'_>) -> Option<Fix> {
    let argument = only_argument(call)?;
    if !can_hold_async_comprehension(call) {
        return None;
    }
    Some(Fix {
        edits: vec![
            Edit { range: call.start_byte()..argument.start_byte(), content: "[obj async for obj in ".to_owned() },
            Edit { range: argument.end_byte()..call.end_byte(), content: "]".to_owned() },
        ],
        shared: Vec::new(),
        span: call.byte_range(),
        applicability: Applicability::Safe,
    })
}

/// A list, set or dict comprehension that may become async where it stands.
fn makes_async_comprehension(comprehension: Node<'_>) -> bool {
    matches!(comprehension.kind(), "list_comprehension" | "set_comprehension" | "dictionary_comprehension")
        && can_hold_async_comprehension(comprehension)
}

/// Whether an async comprehension may stand at `node` (itself one, or what
/// becomes one): above it, up to the nearest function, there is no lambda,
/// comprehension or generator expression (their scopes are not the async
/// function's; Python before 3.11 rejects an async comprehension inside
/// another), and that function is an `async def`.
fn can_hold_async_comprehension(node: Node<'_>) -> bool {
    let mut current = Some(node);
    while let Some(ancestor) = current {
        match ancestor.kind() {
            "lambda"
            | "generator_expression"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
                if ancestor.id() != node.id() =>
            {
                return false;
            }
            "function_definition" => return ancestor.child(0).is_some_and(|first| first.kind() == "async"),
            _ => {}
        }
        current = ancestor.parent();
    }
    false
}
