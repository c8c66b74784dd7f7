//! The importer: makes the wrapper available at a site, reusing an existing
//! import or alias, extending a `from module import ...` line, or adding a
//! line after the last top-level import.

use tree_sitter::Node;

use super::Edit;
use super::{NoFix, Wrapper};
use crate::parse::FIELD;
use crate::semantic::{Binding, ScopeId, SemanticModel};
use crate::source::{Locator, line_ending};

/// How a site refers to the wrapper, and the edit (if any) that imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    pub expression: String,
    pub edit: Option<Edit>,
}

pub struct Importer<'a, 't> {
    model: &'a SemanticModel<'t>,
    locator: &'a Locator<'t>,
    /// Module-level names bound by one import, sorted: candidates for reuse.
    imported: Vec<(&'t str, String)>,
}

impl<'a, 't> Importer<'a, 't> {
    pub fn new(model: &'a SemanticModel<'t>, locator: &'a Locator<'t>) -> Self {
        let mut imported: Vec<(&'t str, String)> = model
            .scope(ScopeId::MODULE)
            .bindings
            .iter()
            .filter_map(|(name, bindings)| match bindings.as_slice() {
                [Binding::Import(qualified)] => Some((*name, qualified.clone())),
                _ => None,
            })
            .collect();
        imported.sort();
        Self { model, locator, imported }
    }

    /// How to refer to `wrapper` from `scope`, or why it cannot be done.
    pub fn import(&self, wrapper: &Wrapper, scope: ScopeId) -> Result<ImportPlan, NoFix> {
        let qualified = wrapper.qualified_name();
        // The wrapper's own name already refers to it here.
        match self.model.lookup(&wrapper.name, scope) {
            // Only an import that always runs (not one under `if TYPE_CHECKING:`).
            Some((ScopeId::MODULE, bindings))
                if only_imports(bindings, &qualified) && !self.imported_at_top_level(&wrapper.name) => {}
            // A function's own import: only one at the top of its body has
            // run before any site; elsewhere the name is local but unbound
            // there (`UnboundLocalError`), and a module import cannot help.
            Some((found, bindings)) if only_imports(bindings, &qualified) => {
                if found != ScopeId::MODULE && !self.imported_first(found, &wrapper.name) {
                    return Err(NoFix::ImportedLaterInFunction(wrapper.name.clone()));
                }
                return Ok(ImportPlan { expression: wrapper.name.clone(), edit: None });
            }
            // Defined in this very module.
            Some((ScopeId::MODULE, [Binding::Class(_) | Binding::Function]))
                if wrapper.module == self.model.module.name =>
            {
                return Ok(ImportPlan { expression: wrapper.name.clone(), edit: None });
            }
            Some(_) => {
                return Err(NoFix::NameTaken(wrapper.name.clone()));
            }
            None => {}
        }
        // An alias (`as s2a`) or a module import (`import asgiref.sync`).
        for (name, imported) in &self.imported {
            if !self.imported_at_top_level(name) {
                continue;
            }
            let expression = if *imported == qualified {
                (*name).to_owned()
            } else if let Some(rest) = qualified.strip_prefix(imported.as_str()).and_then(|rest| rest.strip_prefix('.'))
            {
                // `import asgiref.sync` binds `asgiref`; `import asgiref.sync as s` binds `s`.
                if !self.module_is_imported(&wrapper.module) {
                    continue;
                }
                format!("{name}.{rest}")
            } else {
                continue;
            };
            let visible = self.model.lookup(name, scope).is_some_and(|(found, _)| found == ScopeId::MODULE);
            if visible {
                return Ok(ImportPlan { expression, edit: None });
            }
        }
        let edit = self.extend_from_import(wrapper).unwrap_or_else(|| self.new_import_line(wrapper));
        Ok(ImportPlan { expression: wrapper.name.clone(), edit: Some(edit) })
    }

    /// Whether the function that opened `scope` binds `name` by an import
    /// among the statements its body starts with (a docstring, imports).
    fn imported_first(&self, scope: ScopeId, name: &str) -> bool {
        let Some(body) = self.model.scope(scope).node.and_then(|node| node.child_by_field_id(FIELD.body)) else {
            return false;
        };
        let mut cursor = body.walk();
        let leading = body.named_children(&mut cursor).take_while(|statement| {
            matches!(statement.kind(), "import_statement" | "import_from_statement" | "comment")
                || (statement.kind() == "expression_statement"
                    && statement.named_child(0).is_some_and(|value| value.kind() == "string"))
        });
        leading.into_iter().any(|statement| binds(statement, name, self.model.source))
    }

    /// Whether a statement at the module's top level binds `name` by an
    /// import: one that always runs, unlike one inside `if TYPE_CHECKING:`
    /// or `try:`.
    fn imported_at_top_level(&self, name: &str) -> bool {
        self.model.top_level_imports.iter().any(|import| binds(import.node, name, self.model.source))
    }

    /// Whether `import module` (or a parent package with the module) is at the top level.
    fn module_is_imported(&self, module: &str) -> bool {
        self.model.top_level_imports.iter().any(|import| {
            import.node.kind() == "import_statement" && {
                let mut cursor = import.node.walk();

                import.node.children_by_field_name("name", &mut cursor).any(|name| {
                    let dotted =
                        if name.kind() == "aliased_import" { name.child_by_field_id(FIELD.name) } else { Some(name) };
                    dotted.is_some_and(|dotted| self.model.text(dotted) == module)
                })
            }
        })
    }

    /// `from asgiref.sync import async_to_sync` becomes `..., sync_to_async`.
    fn extend_from_import(&self, wrapper: &Wrapper) -> Option<Edit> {
        let statement = self.model.top_level_imports.iter().map(|import| import.node).find(|node| {
            node.kind() == "import_from_statement"
                && node.child_by_field_id(FIELD.module_name).is_some_and(|module| {
                    let text = self.model.text(module);
                    // `from ..models import User` extends as well as `from app.models import User`.
                    let absolute =
                        if text.starts_with('.') { self.model.module.resolve_relative(text) } else { text.to_owned() };
                    absolute == wrapper.module
                })
                && !has_kind(*node, "wildcard_import")
        })?;
        let mut cursor = statement.walk();
        let last = statement.children_by_field_name("name", &mut cursor).last()?;
        let after_last = &self.model.source[last.end_byte()..statement.end_byte()];
        if let Some(comma) = after_last.find(',') {
            // A trailing comma in a parenthesised list: add a line like the last one.
            let comma = last.end_byte() + comma + 1;
            let multi_line =
                self.locator.line_start(last.start_byte()) != self.locator.line_start(statement.start_byte());
            if multi_line {
                let indentation = self.locator.indentation(last.start_byte());
                let eol = line_ending(self.model.source);
                // After the comment that ends the line, if any: a `# noqa`
                // stays with the name it was written for.
                let full_end = self.locator.full_line_end(comma);
                let line = &self.model.source[comma..full_end];
                let end = comma + line.trim_end_matches(['\n', '\r']).len();
                if end < statement.end_byte() {
                    return Some(Edit::insert(end, format!("{eol}{indentation}{},", wrapper.name)));
                }
                return Some(Edit::insert(comma, format!("{eol}{indentation}{},", wrapper.name)));
            }
            return Some(Edit::insert(comma, format!(" {},", wrapper.name)));
        }
        Some(Edit::insert(last.end_byte(), format!(", {}", wrapper.name)))
    }

    /// A new line after the last top-level import, or after the docstring
    /// and leading comments when there is none.
    fn new_import_line(&self, wrapper: &Wrapper) -> Edit {
        let source = self.model.source;
        let eol = line_ending(source);
        let line = format!("from {} import {}", wrapper.module, wrapper.name);
        let anchor = self.first_import_block_end().or_else(|| self.docstring());
        let offset = match anchor {
            Some(node) => self.locator.full_line_end(node.end_byte().saturating_sub(1).max(node.start_byte())),
            None => self.after_leading_comments(),
        };
        if offset == source.len() && !source.is_empty() && !source.ends_with('\n') && !source.ends_with('\r') {
            return Edit::insert(offset, format!("{eol}{line}{eol}"));
        }
        Edit::insert(offset, format!("{line}{eol}"))
    }

    /// The last import of the module's first block of imports: imports
    /// later in the file (after a definition, inside `try`) are not where a
    /// reader looks, and a new one goes with the first block.
    fn first_import_block_end(&self) -> Option<Node<'t>> {
        let root = self.model.tree.root_node();
        let mut cursor = root.walk();
        let mut last = None;
        for (position, node) in root.named_children(&mut cursor).enumerate() {
            match node.kind() {
                "import_statement" | "import_from_statement" | "future_import_statement" => last = Some(node),
                "comment" => {}
                // The module docstring, before any import.
                "expression_statement"
                    if position == 0 && node.named_child(0).is_some_and(|child| child.kind() == "string") => {}
                _ if last.is_some() => break,
                _ => {}
            }
        }
        last
    }

    fn docstring(&self) -> Option<Node<'t>> {
        let root = self.model.tree.root_node();
        let mut cursor = root.walk();
        let first = root.named_children(&mut cursor).find(|node| node.kind() != "comment")?;
        (first.kind() == "expression_statement" && first.named_child(0).is_some_and(|child| child.kind() == "string"))
            .then_some(first)
    }

    /// After a shebang, encoding line and other comments at the top of the file.
    fn after_leading_comments(&self) -> usize {
        let source = self.model.source;
        let mut offset = usize::from(source.starts_with('\u{feff}')) * 3;
        while offset < source.len() {
            let line_end = self.locator.full_line_end(offset);
            let line = source[offset..line_end].trim();
            if !line.starts_with('#') {
                break;
            }
            offset = line_end;
        }
        offset
    }
}

fn only_imports(bindings: &[Binding<'_>], qualified: &str) -> bool {
    bindings.iter().all(|binding| matches!(binding, Binding::Import(name) if name == qualified))
}

fn has_kind(node: Node<'_>, kind: &str) -> bool {
    let mut cursor = node.walk();

    node.children(&mut cursor).any(|child| child.kind() == kind)
}

/// Whether an import statement binds `name` (`import asgiref.sync` binds
/// `asgiref`, `... as s` binds `s`).
fn binds(statement: Node<'_>, name: &str, source: &str) -> bool {
    if !matches!(statement.kind(), "import_statement" | "import_from_statement") {
        return false;
    }
    let mut cursor = statement.walk();
    statement.children_by_field_name("name", &mut cursor).any(|imported| {
        let bound = match imported.kind() {
            "aliased_import" => imported.child_by_field_id(FIELD.alias),
            _ => Some(imported),
        };
        bound.is_some_and(|bound| source[bound.byte_range()].split('.').next() == Some(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply::apply_fixes;
    use crate::fix::{Applicability, Fix};
    use crate::parse;

    /// How `sync_to_async` is referred to from the module's top level, and
    /// the source after the import edit (if any); `Err` when it cannot be.
    fn plan(source: &str) -> Result<(String, String), NoFix> {
        let tree = parse::parse(source).expect("parses");
        let model = SemanticModel::build(source, &tree, crate::semantic::ModuleName::new("app.views", false));
        let locator = Locator::new(source);
        let importer = Importer::new(&model, &locator);
        let plan = importer.import(&Wrapper::new("asgiref.sync", "sync_to_async"), ScopeId::MODULE)?;
        let fix = Fix {
            edits: Vec::new(),
            shared: plan.edit.into_iter().collect(),
            span: 0..0,
            applicability: Applicability::Safe,
        };
        Ok((plan.expression, apply_fixes(source, &[&fix]).text))
    }

    #[test]
    fn an_existing_import_or_alias_is_reused() {
        let source = "from asgiref.sync import sync_to_async\n";
        assert_eq!(plan(source), Ok(("sync_to_async".to_owned(), source.to_owned())));
        let source = "from asgiref.sync import sync_to_async as s2a\n";
        assert_eq!(plan(source), Ok(("s2a".to_owned(), source.to_owned())));
        let source = "import asgiref.sync\n";
        assert_eq!(plan(source), Ok(("asgiref.sync.sync_to_async".to_owned(), source.to_owned())));
    }

    #[test]
    fn a_from_import_of_the_module_is_extended() {
        let (name, after) = plan("from asgiref.sync import async_to_sync\n").expect("importable");
        assert_eq!(name, "sync_to_async");
        assert_eq!(after, "from asgiref.sync import async_to_sync, sync_to_async\n");
        let (_, after) = plan("from asgiref.sync import (\r\n    async_to_sync,\r\n)\r\n").expect("importable");
        assert_eq!(after, "from asgiref.sync import (\r\n    async_to_sync,\r\n    sync_to_async,\r\n)\r\n");
    }

    #[test]
    fn a_new_line_goes_after_the_last_import_in_the_files_line_ending() {
        let (_, after) = plan("\"\"\"Views.\"\"\"\r\nimport os\r\n\r\nx = 1\r\n").expect("importable");
        assert_eq!(after, "\"\"\"Views.\"\"\"\r\nimport os\r\nfrom asgiref.sync import sync_to_async\r\n\r\nx = 1\r\n");
        let (_, after) = plan("#!/usr/bin/env python\n# coding: utf-8\nx = 1\n").expect("importable");
        assert_eq!(after, "#!/usr/bin/env python\n# coding: utf-8\nfrom asgiref.sync import sync_to_async\nx = 1\n");
    }

    #[test]
    fn a_name_bound_to_something_else_is_not_taken() {
        assert_eq!(plan("sync_to_async = None\n"), Err(NoFix::NameTaken("sync_to_async".to_owned())));
        assert_eq!(plan("from somewhere import sync_to_async\n"), Err(NoFix::NameTaken("sync_to_async".to_owned())));
    }
}
