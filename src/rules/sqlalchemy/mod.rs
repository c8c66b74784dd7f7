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
//! Each site carries a [`Reload`] plan, shared by the reads of one object,
//! that `fix/reload.rs` turns into statements in the style `--sqlalchemy-fix`
//! or the recipe chooses: an explicit query (`explicit`, the seed's own fix),
//! `.options(selectinload(...))` on the query that loaded the object
//! (`selectinload`), or `await session.refresh(obj, ...)` (`refresh`).

mod walker;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use tree_sitter::Node;

use super::Site;
use crate::fix::NoFix;
use crate::fix::reload::{Related, Reload, Reloaded, Shape};
use crate::infer::Evaluator;
use crate::infer::facts::{Direction, ProjectFacts};
use crate::parse::FIELD;
use crate::recipe::RuleId;
use crate::semantic::ScopeId;
use walker::Walker;

/// Sessions are recognised by the end of their class's name (any import of
/// `AsyncSession`); the byte scans keep the modules that spell it.
pub const ASYNC_SESSION: &str = "AsyncSession";

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
pub fn check_function<'t>(function: Node<'t>, evaluator: &Evaluator<'_, 't>, rules: &Rules) -> Vec<Site<'t>> {
    let Some(index) = evaluator.index else { return Vec::new() };
    if rules.lazy_load.is_none() && rules.expired.is_none() {
        return Vec::new();
    }
    let Some(scope) = evaluator.model.scope_opened_by(function) else { return Vec::new() };
    let mut walker = Walker {
        evaluator,
        index,
        scope,
        sessions: HashMap::new(),
        held: HashMap::new(),
        commits: HashMap::new(),
        depth: std::cell::Cell::new(0),
        reads: Vec::new(),
    };
    if let Some(body) = function.child_by_field_id(FIELD.body) {
        walker.block(body);
    }
    let reads = std::mem::take(&mut walker.reads);
    let mut sites = Vec::new();
    // Reads of one relationship on one object share one fix.
    let mut groups: Vec<(GroupKey, Vec<&Read<'t>>)> = Vec::new();
    for read in &reads {
        let attribute = if read.kind == ReadKind::Expired { String::new() } else { read.attribute.clone() };
        let key = (read.object.clone(), attribute, read.kind);
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
        let plan = Rc::new(reload_plan(function, scope, &members, index));
        for read in members {
            let via = match read.kind {
                ReadKind::LazyRelationship => read.object.clone(),
                ReadKind::Expired => {
                    read.commit.map_or("commit()", |commit| evaluator.model.text(commit).trim()).to_owned()
                }
            };
            sites.push(
                Site::new(rule, read.node, read.attribute.clone(), evaluator)
                    .callee(evaluator.model.text(read.node))
                    .via(via)
                    .reload(Rc::clone(&plan)),
            );
        }
    }
    sites
}

/// What the reads of one group need loaded, for `fix/reload.rs`.
fn reload_plan<'t>(function: Node<'t>, scope: ScopeId, reads: &[&Read<'t>], index: &dyn ProjectFacts) -> Reload<'t> {
    let first = reads[0];
    let what = match first.kind {
        ReadKind::Expired => Reloaded::Expired,
        ReadKind::LazyRelationship => Reloaded::Relationship {
            attribute: first.attribute.clone(),
            class: first.tracked.model.clone(),
            select: first.tracked.select,
            related: index.sqlalchemy_relationship(&first.tracked.model, &first.attribute).map(|relationship| {
                Related {
                    target: relationship.target,
                    dynamic: relationship.lazy.as_deref() == Some("dynamic"),
                    shape: match relationship.direction {
                        Direction::OneToMany { column, collection } => {
                            Shape::OneToMany { column, collection, key: index.primary_key(&first.tracked.model) }
                        }
                        Direction::ManyToOne { column } => Shape::ManyToOne { column },
                        Direction::ManyToMany | Direction::Complex => Shape::Other,
                    },
                }
            }),
        },
    };
    Reload {
        function,
        scope,
        session: first.tracked.session.clone(),
        object: first.object.clone(),
        statement: first.statement,
        reads: reads.iter().map(|read| read.node).collect(),
        commit: first.commit,
        session_open: first.session_open,
        blocked: first.blocked.clone(),
        what,
    }
}
