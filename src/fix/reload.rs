//! The `SQLAlchemy` rewrite styles: load what an `async def` reads before
//! it reads it. A lazy relationship becomes an explicit query (`explicit`),
//! `.options(selectinload(...))` on the query that loaded the object
//! (`selectinload`) or `await session.refresh(obj, attribute_names=[...])`
//! (`refresh`); an attribute expired by a commit is refreshed after the
//! commit. Unlike a wrapper these insert statements, so the plan names the
//! statement, the commit and the query as nodes.

use tree_sitter::Node;

use super::importer::Importer;
use super::{Applicability, Edit, Fix, NoFix, Wrapper};
use crate::semantic::{ScopeId, SemanticModel};
use crate::source::{Locator, line_ending};

/// How SA001 sites are rewritten (`--sqlalchemy-fix`, or the recipe's `rewrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SqlAlchemyFix {
    /// Query the related rows and read the result instead.
    #[default]
    Explicit,
    /// Eager-load the relationship in the query that loaded the object.
    Selectinload,
    /// `await session.refresh(obj, attribute_names=["rel"])` before the read.
    Refresh,
}

/// What the reads of one object need loaded: the plan several sites share.
#[derive(Debug)]
pub struct Reload<'t> {
    /// The `async def` holding the reads, where fresh names must not clash.
    pub function: Node<'t>,
    pub scope: ScopeId,
    pub session: String,
    /// The name holding the object.
    pub object: String,
    /// The statement of the first read: loads go before it.
    pub statement: Node<'t>,
    /// Every read the plan fixes.
    pub reads: Vec<Node<'t>>,
    /// The commit or rollback that expired the object, in this function.
    pub commit: Option<Node<'t>>,
    pub session_open: bool,
    /// Why the reads are reported without a fix (a `raise` relationship).
    pub blocked: Option<NoFix>,
    /// Why loads inserted before the first read would not cover every read
    /// (a guard, reads in several branches): only an option on the query fits.
    pub insertion: Option<NoFix>,
    /// Why an explicit query in place of the relationship would lose meaning.
    pub explicit: Option<NoFix>,
    pub what: Reloaded<'t>,
}

impl Reload<'_> {
    /// Whether the reads raise `InvalidRequestError` rather than load: the
    /// relationship is declared `lazy="raise"` or `"raise_on_sql"`.
    pub fn raises(&self) -> bool {
        matches!(&self.blocked, Some(NoFix::LoadedOnlyExplicitly(lazy)) if lazy.starts_with("raise"))
    }
}

#[derive(Debug)]
pub enum Reloaded<'t> {
    /// Attributes expired by `commit`.
    Expired,
    /// A relationship of the object's class; `None` when the index does not know it.
    Relationship { attribute: String, class: String, loader: Option<Box<Loader<'t>>>, related: Option<Related> },
}

/// Where a loader option for an object goes: the query that loaded it.
#[derive(Debug, Clone)]
pub enum Loader<'t> {
    /// The `select(...)` expression: `.options(...)` goes after it.
    Select(Node<'t>),
    /// A call of a project function whose query applies the loader options
    /// of its parameter `parameter` (`.options(*options)`): the option goes
    /// into the list or tuple the call passes for it (`passed`), or in a new
    /// keyword argument.
    Argument { call: Node<'t>, parameter: String, passed: Option<Node<'t>> },
}

impl Loader<'_> {
    /// Whether two paths loaded the object through the same query.
    pub fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Select(first), Self::Select(second)) => first.id() == second.id(),
            (Self::Argument { call, parameter, .. }, Self::Argument { call: other, parameter: name, .. }) => {
                call.id() == other.id() && parameter == name
            }
            _ => false,
        }
    }
}

/// How to query a relationship's rows, as the index describes it.
#[derive(Debug)]
pub struct Related {
    /// The target class, qualified; `None` when not known.
    pub target: Option<String>,
    /// `lazy="dynamic"`: only a refresh loads it.
    pub dynamic: bool,
    pub shape: Shape,
}

#[derive(Debug)]
pub enum Shape {
    /// The target has a foreign key `column` to the object's `key`.
    OneToMany { column: String, collection: bool, key: String },
    /// The object has a foreign key `column` to the target.
    ManyToOne { column: String },
    /// Many-to-many, or a join the explicit style cannot write: refreshed.
    Other,
}

/// What building a reload needs from the file.
pub struct ReloadContext<'a, 't> {
    pub model: &'a SemanticModel<'t>,
    pub importer: &'a Importer<'a, 't>,
    pub locator: &'a Locator<'t>,
}

/// The fix for `plan` in `style`.
pub fn build(plan: &Reload<'_>, style: SqlAlchemyFix, context: &ReloadContext<'_, '_>) -> Result<Fix, NoFix> {
    if let Some(reason) = &plan.blocked {
        return Err(reason.clone());
    }
    // An option on the call of a project function loads in that function's
    // own query, whatever session it holds.
    let by_argument = matches!(&plan.what, Reloaded::Relationship { loader: Some(loader), .. } if matches!(**loader, Loader::Argument { .. }));
    if plan.session.is_empty() && !by_argument {
        return Err(NoFix::SessionUnknown);
    }
    if !plan.session_open {
        return Err(NoFix::SessionClosed(plan.session.clone()));
    }
    let builder = Builder { plan, context };
    match &plan.what {
        Reloaded::Expired => {
            let commit = plan.commit.ok_or(NoFix::CommitElsewhere)?;
            let refresh =
                builder.after_statement(commit, &format!("await {}.refresh({})", plan.session, plan.object))?;
            Ok(Fix {
                edits: Vec::new(),
                shared: vec![refresh.clone()],
                span: refresh.range.clone(),
                applicability: Applicability::Safe,
            })
        }
        Reloaded::Relationship { attribute, class, loader, related } => {
            let related = related.as_ref().ok_or(NoFix::UnknownRelationship)?;
            builder.relationship(attribute, class, loader.as_deref(), related, style)
        }
    }
}

struct Builder<'a, 't> {
    plan: &'a Reload<'t>,
    context: &'a ReloadContext<'a, 't>,
}

impl<'t> Builder<'_, 't> {
    fn source(&self) -> &'t str {
        self.context.model.source
    }

    fn relationship(
        &self,
        attribute: &str,
        class: &str,
        loader: Option<&Loader<'t>>,
        related: &Related,
        style: SqlAlchemyFix,
    ) -> Result<Fix, NoFix> {
        let plan = self.plan;
        // Without the session, only the loading function's own query can load.
        let has_session = !plan.session.is_empty();
        let mut shared = Vec::new();
        // A key read after a commit would itself reload: refresh the object first.
        if let Some(commit) = plan.commit {
            shared.push(self.after_statement(commit, &format!("await {}.refresh({})", plan.session, plan.object))?);
        }
        // The style asked for where it keeps the code's meaning; otherwise an
        // option on the query that loaded the object (it loads before any
        // read, in any branch, once for a whole loop), or a refresh.
        let can_select = loader.is_some() && plan.commit.is_none() && !related.dynamic;
        let can_explicit = has_session
            && !related.dynamic
            && !matches!(related.shape, Shape::Other)
            && plan.explicit.is_none()
            && plan.insertion.is_none();
        let can_refresh = has_session && plan.insertion.is_none();
        let preference = match style {
            SqlAlchemyFix::Explicit => [SqlAlchemyFix::Explicit, SqlAlchemyFix::Selectinload, SqlAlchemyFix::Refresh],
            SqlAlchemyFix::Selectinload => {
                [SqlAlchemyFix::Selectinload, SqlAlchemyFix::Refresh, SqlAlchemyFix::Refresh]
            }
            SqlAlchemyFix::Refresh => {
                [SqlAlchemyFix::Refresh, SqlAlchemyFix::Selectinload, SqlAlchemyFix::Selectinload]
            }
        };
        let style = preference
            .into_iter()
            .find(|style| match style {
                SqlAlchemyFix::Explicit => can_explicit,
                SqlAlchemyFix::Selectinload => can_select,
                SqlAlchemyFix::Refresh => can_refresh,
            })
            .ok_or_else(|| match &plan.insertion {
                Some(reason) => reason.clone(),
                None if !has_session => NoFix::SessionUnknown,
                None => NoFix::NotLoadedByQuery,
            })?;
        let (session, object) = (&plan.session, &plan.object);
        let mut edits = Vec::new();
        match style {
            SqlAlchemyFix::Explicit => {
                let target = related.target.clone().ok_or(NoFix::UnknownTarget)?;
                let target_name = self.import(&target, &mut shared)?;
                let (lines, value) = match &related.shape {
                    Shape::OneToMany { column, collection, key } => {
                        let select = self.import("sqlalchemy.select", &mut shared)?;
                        let result = self.fresh_name(&format!("{attribute}_result"));
                        let value = self.fresh_name(&format!("{attribute}_list"));
                        let take = if *collection { "scalars().all()" } else { "scalar_one_or_none()" };
                        let query = format!(
                            "{result} = await {session}.execute({select}({target_name}).where({target_name}.{column} == {object}.{key}))"
                        );
                        (vec![query, format!("{value} = {result}.{take}")], value)
                    }
                    Shape::ManyToOne { column } => {
                        let value = self.fresh_name(attribute);
                        (vec![format!("{value} = await {session}.get({target_name}, {object}.{column})")], value)
                    }
                    Shape::Other => unreachable!("refreshed above"),
                };
                edits.push(self.before_statement(plan.statement, &lines)?);
                edits.extend(plan.reads.iter().map(|read| Edit { range: read.byte_range(), content: value.clone() }));
            }
            SqlAlchemyFix::Selectinload => {
                let loader = loader.ok_or(NoFix::NotLoadedByQuery)?;
                let owner = self.import(class, &mut shared)?;
                let function = self.import("sqlalchemy.orm.selectinload", &mut shared)?;
                let option = format!("{function}({owner}.{attribute})");
                edits.push(match loader {
                    Loader::Select(select) => Edit::insert(select.end_byte(), format!(".options({option})")),
                    Loader::Argument { call, parameter, passed } => {
                        option_argument(*call, parameter, *passed, &option)?
                    }
                });
            }
            SqlAlchemyFix::Refresh => {
                edits.push(self.before_statement(
                    plan.statement,
                    &[format!("await {session}.refresh({object}, attribute_names=[\"{attribute}\"])")],
                )?);
            }
        }
        let first = plan.reads.first().map_or(plan.statement, |read| *read);
        let start = edits.iter().map(|edit| edit.range.start).min().unwrap_or(first.start_byte());
        let end = edits.iter().map(|edit| edit.range.end).max().unwrap_or(first.end_byte());
        Ok(Fix { edits, shared, span: start..end.max(start + 1), applicability: Applicability::Safe })
    }

    /// How the file refers to `qualified` (importing it when needed).
    fn import(&self, qualified: &str, shared: &mut Vec<Edit>) -> Result<String, NoFix> {
        let (module, name) = qualified.rsplit_once('.').ok_or(NoFix::NoModule)?;
        let plan = self.context.importer.import(&Wrapper::new(module, name), self.plan.scope)?;
        shared.extend(plan.edit);
        Ok(plan.expression)
    }

    /// A name not used anywhere in the function or bound in the module.
    fn fresh_name(&self, base: &str) -> String {
        let model = self.context.model;
        let text = model.text(self.plan.function);
        let taken = |name: &str| {
            model.lookup(name, self.plan.scope).is_some()
                || text.match_indices(name).any(|(at, _)| {
                    let before = text[..at].chars().next_back();
                    let after = text[at + name.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
        };
        if !taken(base) {
            return base.to_owned();
        }
        (2..10_000).map(|n| format!("{base}_{n}")).find(|name| !taken(name)).unwrap_or_else(|| base.to_owned())
    }

    /// Lines inserted before `statement`, at its indentation. The statement
    /// must start its line.
    fn before_statement(&self, statement: Node<'t>, lines: &[String]) -> Result<Edit, NoFix> {
        let line_start = self.context.locator.line_start(statement.start_byte());
        let indentation = &self.source()[line_start..statement.start_byte()];
        if !indentation.chars().all(|c| c == ' ' || c == '\t') {
            return Err(NoFix::StatementNotAtLineStart);
        }
        let eol = line_ending(self.source());
        let mut text = String::new();
        for line in lines {
            text.push_str(indentation);
            text.push_str(line);
            text.push_str(eol);
        }
        Ok(Edit::insert(line_start, text))
    }

    /// A line inserted after `statement`, at its indentation.
    fn after_statement(&self, statement: Node<'t>, line: &str) -> Result<Edit, NoFix> {
        let locator = self.context.locator;
        let line_start = locator.line_start(statement.start_byte());
        let indentation = &self.source()[line_start..statement.start_byte()];
        if !indentation.chars().all(|c| c == ' ' || c == '\t') {
            return Err(NoFix::CommitNotAtLineStart);
        }
        let end = locator.full_line_end(statement.end_byte().saturating_sub(1).max(statement.start_byte()));
        let rest = &self.source()[statement.end_byte()..end];
        if !rest.trim().is_empty() && !rest.trim_start().starts_with('#') {
            return Err(NoFix::CommitSharesLine);
        }
        let eol = line_ending(self.source());
        let prefix = if end == self.source().len() && !self.source().ends_with('\n') { eol } else { "" };
        Ok(Edit::insert(end, format!("{prefix}{indentation}{line}{eol}")))
    }
}

/// `option` added to the loader options a call passes for `parameter`: at
/// the end of the list or tuple literal it passes, or as a new keyword
/// argument when it passes none.
fn option_argument(call: Node<'_>, parameter: &str, passed: Option<Node<'_>>, option: &str) -> Result<Edit, NoFix> {
    fn last_child(node: Node<'_>) -> Option<Node<'_>> {
        let mut cursor = node.walk();
        node.named_children(&mut cursor).filter(|child| child.kind() != "comment").last()
    }
    let Some(list) = passed else {
        let arguments = call.child_by_field_id(crate::parse::FIELD.arguments).ok_or(NoFix::NotLoadedByQuery)?;
        return Ok(match last_child(arguments) {
            Some(last) => Edit::insert(last.end_byte(), format!(", {parameter}=[{option}]")),
            None => Edit::insert(arguments.start_byte() + 1, format!("{parameter}=[{option}]")),
        });
    };
    match (list.kind(), last_child(list)) {
        ("list" | "tuple", Some(last)) => Ok(Edit::insert(last.end_byte(), format!(", {option}"))),
        ("list", None) => Ok(Edit::insert(list.start_byte() + 1, option.to_owned())),
        ("tuple", None) => Ok(Edit::insert(list.start_byte() + 1, format!("{option},"))),
        _ => Err(NoFix::NotLoadedByQuery),
    }
}
