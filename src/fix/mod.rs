//! Fixes: byte-range edits, the importer that adds the wrapper's import, the
//! rewrite styles (wrappers in `rewrite`, `SQLAlchemy` loads in `reload`),
//! and the loop that applies fixes to a fixed point.

pub mod apply;
pub mod importer;
pub mod native;
mod no_fix;
pub mod reload;
pub mod rewrite;
pub mod unused_imports;

use std::ops::Range;
use std::rc::Rc;

pub use no_fix::NoFix;
pub use reload::{Reload, SqlAlchemyFix};

/// Whether `fix` may apply a fix without `--unsafe-fixes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Applicability {
    /// Rests on a guess: applied only with `--unsafe-fixes`.
    Unsafe,
    /// The evidence is certain and the rewrite keeps the meaning.
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Unsafe => "unsafe",
        }
    }
}

/// A name to import, and the module it comes from: a wrapper
/// (`asgiref.sync.sync_to_async`), or `sqlalchemy.select`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Wrapper {
    pub module: String,
    pub name: String,
}

impl Wrapper {
    pub fn new(module: &str, name: &str) -> Self {
        Self { module: module.to_owned(), name: name.to_owned() }
    }

    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// How a site is rewritten: one enum for every style.
#[derive(Debug, Clone)]
pub enum Style<'t> {
    /// Wrapped in the rule's wrapper: `await w(callee)(args)`, a lambda, a builtin.
    Wrap(rewrite::WrapStyle),
    /// Loaded before it is read (`SQLAlchemy`), by a plan the reads of one
    /// object share.
    Reload(Rc<Reload<'t>>),
    /// An awaited wrapper replaced by the native twin of what it wraps.
    Unwrap(native::Unwrap<'t>),
    /// A sync driver of a coroutine function replaced by awaiting it:
    /// `async_to_sync(f)(args)` -> `await f(args)`.
    Await,
}

/// Replace `range` of the original text with `content`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Edit {
    pub range: Range<usize>,
    pub content: String,
}

impl Edit {
    pub fn insert(at: usize, content: impl Into<String>) -> Self {
        Self { range: at..at, content: content.into() }
    }
}

/// The edits that fix one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Edits at the site itself; they lie inside `span`.
    pub edits: Vec<Edit>,
    /// Edits several fixes may need alike (an import, a refresh after a
    /// commit); identical ones are applied once.
    pub shared: Vec<Edit>,
    /// The region this fix owns: another fix that overlaps it waits for the next round.
    pub span: Range<usize>,
    pub applicability: Applicability,
}
