//! The SA001 and SA002 rewrites: an explicit query, `selectinload` on the
//! query that loaded the object, or `await session.refresh(...)`.

use tree_sitter::Node;

use super::{Read, ReadKind};
use crate::fix::importer::Importer;
use crate::fix::{Applicability, Edit, Fix, NoFix, SqlAlchemyFix, Wrapper};
use crate::infer::Evaluator;
use crate::infer::facts::{Direction, ProjectFacts};
use crate::semantic::ScopeId;
use crate::source::{Locator, line_ending};

pub(super) struct FixBuilder<'a, 't> {
    pub(super) evaluator: &'a Evaluator<'a, 't>,
    pub(super) index: &'a dyn ProjectFacts,
    pub(super) importer: &'a Importer<'a, 't>,
    pub(super) locator: &'a Locator<'t>,
    pub(super) function: Node<'t>,
    pub(super) scope: ScopeId,
    pub(super) style: SqlAlchemyFix,
}

impl<'t> FixBuilder<'_, 't> {
    pub(super) fn source(&self) -> &'t str {
        self.evaluator.model.source
    }

    pub(super) fn fix(&self, reads: &[&Read<'t>]) -> Result<Fix, NoFix> {
        let first = reads[0];
        if let Some(reason) = &first.blocked {
            return Err(reason.clone());
        }
        if !first.session_open {
            return Err(NoFix::SessionClosed(first.tracked.session.clone()));
        }
        match first.kind {
            ReadKind::Expired => {
                let commit = first.commit.ok_or(NoFix::CommitElsewhere)?;
                let refresh = self
                    .after_statement(commit, &format!("await {}.refresh({})", first.tracked.session, first.object))?;
                Ok(Fix {
                    edits: Vec::new(),
                    shared: vec![refresh.clone()],
                    span: refresh.range.clone(),
                    applicability: Applicability::Safe,
                })
            }
            ReadKind::LazyRelationship => self.relationship_fix(reads),
        }
    }

    pub(super) fn relationship_fix(&self, reads: &[&Read<'t>]) -> Result<Fix, NoFix> {
        let first = reads[0];
        let relationship = self
            .index
            .sqlalchemy_relationship(&first.tracked.model, &first.attribute)
            .ok_or(NoFix::UnknownRelationship)?;
        let mut shared = Vec::new();
        // A key read after a commit would itself reload: refresh the object first.
        if let Some(commit) = first.commit {
            shared.push(
                self.after_statement(commit, &format!("await {}.refresh({})", first.tracked.session, first.object))?,
            );
        }
        let style = match (self.style, &relationship.direction, &relationship.lazy) {
            (_, _, Some(lazy)) if lazy == "dynamic" => SqlAlchemyFix::Refresh,
            (SqlAlchemyFix::Explicit, Direction::ManyToMany | Direction::Complex, _) => SqlAlchemyFix::Refresh,
            (SqlAlchemyFix::Selectinload, _, _) if first.tracked.select.is_none() || first.commit.is_some() => {
                SqlAlchemyFix::Refresh
            }
            (style, _, _) => style,
        };
        let session = &first.tracked.session;
        let object = &first.object;
        let attribute = &first.attribute;
        let mut edits = Vec::new();
        match style {
            SqlAlchemyFix::Explicit => {
                let target = relationship.target.clone().ok_or(NoFix::UnknownTarget)?;
                let target_name = self.import(&target, &mut shared)?;
                match &relationship.direction {
                    Direction::OneToMany { column, collection } => {
                        let select = self.import("sqlalchemy.select", &mut shared)?;
                        let result = self.fresh_name(&format!("{attribute}_result"));
                        let value = self.fresh_name(&format!("{attribute}_list"));
                        let key = self.index.primary_key(&first.tracked.model);
                        let take = if *collection { "scalars().all()" } else { "scalar_one_or_none()" };
                        edits.push(self.before_statement(
                            first.statement,
                            &[
                                format!("{result} = await {session}.execute({select}({target_name}).where({target_name}.{column} == {object}.{key}))"),
                                format!("{value} = {result}.{take}"),
                            ],
                        )?);
                        edits.extend(
                            reads.iter().map(|read| Edit { range: read.node.byte_range(), content: value.clone() }),
                        );
                    }
                    Direction::ManyToOne { column } => {
                        let value = self.fresh_name(attribute);
                        edits.push(self.before_statement(
                            first.statement,
                            &[format!("{value} = await {session}.get({target_name}, {object}.{column})")],
                        )?);
                        edits.extend(
                            reads.iter().map(|read| Edit { range: read.node.byte_range(), content: value.clone() }),
                        );
                    }
                    Direction::ManyToMany | Direction::Complex => unreachable!("handled as refresh above"),
                }
            }
            SqlAlchemyFix::Selectinload => {
                let select = first.tracked.select.ok_or(NoFix::NotLoadedByQuery)?;
                let owner = self.import(&first.tracked.model, &mut shared)?;
                let loader = self.import("sqlalchemy.orm.selectinload", &mut shared)?;
                edits.push(Edit::insert(select.end_byte(), format!(".options({loader}({owner}.{attribute}))")));
            }
            SqlAlchemyFix::Refresh => {
                edits.push(self.before_statement(
                    first.statement,
                    &[format!("await {session}.refresh({object}, attribute_names=[\"{attribute}\"])")],
                )?);
            }
        }
        let start = edits.iter().map(|edit| edit.range.start).min().unwrap_or(first.node.start_byte());
        let end = edits.iter().map(|edit| edit.range.end).max().unwrap_or(first.node.end_byte());
        Ok(Fix { edits, shared, span: start..end.max(start + 1), applicability: Applicability::Safe })
    }

    /// How the file refers to `qualified` (importing it when needed).
    pub(super) fn import(&self, qualified: &str, shared: &mut Vec<Edit>) -> Result<String, NoFix> {
        let (module, name) = qualified.rsplit_once('.').ok_or(NoFix::NoModule)?;
        let plan = self.importer.import(&Wrapper::new(module, name), self.scope)?;
        shared.extend(plan.edit);
        Ok(plan.expression)
    }

    /// A name not used anywhere in the function or bound in the module.
    pub(super) fn fresh_name(&self, base: &str) -> String {
        let text = self.evaluator.model.text(self.function);
        let taken = |name: &str| {
            self.evaluator.model.lookup(name, self.scope).is_some()
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
    pub(super) fn before_statement(&self, statement: Node<'t>, lines: &[String]) -> Result<Edit, NoFix> {
        let line_start = self.locator.line_start(statement.start_byte());
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
    pub(super) fn after_statement(&self, statement: Node<'t>, line: &str) -> Result<Edit, NoFix> {
        let line_start = self.locator.line_start(statement.start_byte());
        let indentation = &self.source()[line_start..statement.start_byte()];
        if !indentation.chars().all(|c| c == ' ' || c == '\t') {
            return Err(NoFix::CommitNotAtLineStart);
        }
        let end = self.locator.full_line_end(statement.end_byte().saturating_sub(1).max(statement.start_byte()));
        let rest = &self.source()[statement.end_byte()..end];
        if !rest.trim().is_empty() && !rest.trim_start().starts_with('#') {
            return Err(NoFix::CommitSharesLine);
        }
        let eol = line_ending(self.source());
        let prefix = if end == self.source().len() && !self.source().ends_with('\n') { eol } else { "" };
        Ok(Edit::insert(end, format!("{prefix}{indentation}{line}{eol}")))
    }
}
