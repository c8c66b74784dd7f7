//! SA001 `sqlalchemy-lazy-load-in-async` and SA002
//! `sqlalchemy-expired-attribute-in-async`: `MissingGreenlet` in `SQLAlchemy`
//! asyncio code.
//!
//! Unlike the call-site rules this one follows one `async def` statement by
//! statement: which names hold objects loaded through an `AsyncSession`,
//! with which relationships eager-loaded, and whether a `commit()` or
//! `rollback()` expired them since. A read of a lazy relationship that is not
//! loaded (SA001), or of any attribute of an expired object (SA002), would
//! make `SQLAlchemy` run a query without `await`.
//!
//! The rewrite inserts statements, so the rule builds its own fixes, in the
//! style `--sqlalchemy-fix` chooses: an explicit query (`explicit`, the
//! seed's own fix), `.options(selectinload(...))` on the query that loaded
//! the object (`selectinload`), or `await session.refresh(obj, ...)`
//! (`refresh`).

mod fix;
mod walker;

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use crate::fix::importer::Importer;
use crate::fix::{Fix, NoFix, SqlAlchemyFix};
use crate::infer::Evaluator;
use crate::parse::FIELD;
use crate::recipe::RuleId;
use crate::source::Locator;
use fix::FixBuilder;
use walker::Walker;

/// Sessions are recognised by the end of their class's name (any import of
/// `AsyncSession`); the byte scans keep the modules that spell it.
pub const ASYNC_SESSION: &str = "AsyncSession";

/// One site with its fix, or why there is none.
pub struct SqlAlchemySite<'t> {
    pub rule: RuleId,
    pub node: Node<'t>,
    /// The read, for `{callee}`; the attribute, for `{method}`.
    pub callee: String,
    pub method: String,
    /// For `{via}`: the object whose query did not load the relationship
    /// (SA001), or the statement that expired it (SA002).
    pub via: String,
    pub fix: Result<Fix, NoFix>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Created here and not yet added to a session: nothing to load.
    Transient,
    /// Added, not flushed: reading a relationship loads nothing.
    Pending,
    Persistent,
    /// Expired by the commit or rollback statement at this offset.
    Expired {
        commit: usize,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Tracked<'t> {
    pub(super) model: String,
    pub(super) session: String,
    pub(super) eager: HashSet<String>,
    pub(super) state: State,
    /// The `select(...)` expression that loaded the object.
    pub(super) select: Option<Node<'t>>,
}

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) expire_on_commit: bool,
    /// The session is closed past this offset (the end of its `async with`).
    pub(super) open_until: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadKind {
    LazyRelationship,
    Expired,
}

pub(super) struct Read<'t> {
    pub(super) kind: ReadKind,
    pub(super) object: String,
    pub(super) attribute: String,
    pub(super) node: Node<'t>,
    pub(super) statement: Node<'t>,
    pub(super) tracked: Tracked<'t>,
    /// The commit statement that expired the object.
    pub(super) commit: Option<Node<'t>>,
    pub(super) session_open: bool,
    /// For relationships declared `raise` or `write_only`: report only.
    pub(super) blocked: Option<NoFix>,
}

/// Reads that share one fix: the object, the attribute (empty for expired reads) and the kind.
pub(super) type GroupKey = (String, String, ReadKind);

pub struct Rules {
    pub lazy_load: Option<RuleId>,
    pub expired: Option<RuleId>,
}

/// Every SA001 and SA002 site in one `async def`.
pub fn check_function<'t>(
    function: Node<'t>,
    evaluator: &Evaluator<'_, 't>,
    rules: &Rules,
    style: SqlAlchemyFix,
    importer: &Importer<'_, 't>,
    locator: &Locator<'t>,
) -> Vec<SqlAlchemySite<'t>> {
    let Some(index) = evaluator.index else { return Vec::new() };
    if rules.lazy_load.is_none() && rules.expired.is_none() {
        return Vec::new();
    }
    let Some(scope) = evaluator.model.scope_opened_by(function) else { return Vec::new() };
    let mut walker = Walker {
        evaluator,
        index,
        sessions: HashMap::new(),
        results: HashMap::new(),
        lists: HashMap::new(),
        objects: HashMap::new(),
        commits: HashMap::new(),
        reads: Vec::new(),
    };
    walker.parameters(function, scope);
    if walker.sessions.is_empty() && !mentions_session_factory(function, evaluator) {
        return Vec::new();
    }
    if let Some(body) = function.child_by_field_id(FIELD.body) {
        walker.block(body, scope);
    }
    let reads = std::mem::take(&mut walker.reads);
    let builder = FixBuilder { evaluator, index, importer, locator, function, scope, style };
    let mut sites = Vec::new();
    // Reads of one relationship on one object share one fix.
    let mut groups: Vec<(GroupKey, Vec<&Read<'t>>)> = Vec::new();
    for read in &reads {
        let key = (read.object.clone(), read.attribute.clone(), read.kind);
        let key = if read.kind == ReadKind::Expired { (read.object.clone(), String::new(), read.kind) } else { key };
        match groups.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, members)) => members.push(read),
            None => groups.push((key, vec![read])),
        }
    }
    for (_, members) in groups {
        let first = members[0];
        let Some(rule) = (match first.kind {
            ReadKind::LazyRelationship => rules.lazy_load,
            ReadKind::Expired => rules.expired,
        }) else {
            continue;
        };
        let fix = builder.fix(&members);
        for read in members {
            let via = match read.kind {
                ReadKind::LazyRelationship => read.object.clone(),
                ReadKind::Expired => {
                    read.commit.map_or("commit()", |commit| evaluator.model.text(commit).trim()).to_owned()
                }
            };
            sites.push(SqlAlchemySite {
                rule,
                node: read.node,
                callee: evaluator.model.text(read.node).to_owned(),
                method: read.attribute.clone(),
                via,
                fix: fix.clone(),
            });
        }
    }
    sites
}

/// Whether the function names a session factory at all (cheap pre-check).
fn mentions_session_factory(function: Node<'_>, evaluator: &Evaluator<'_, '_>) -> bool {
    let text = evaluator.model.text(function);
    text.contains("session") || text.contains("Session")
}
