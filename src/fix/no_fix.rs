//! Why a site has no fix: each reason a rewrite can be refused, in one
//! place, with the words `fix` and `check --output-format json` print.

/// Why a site is reported without a fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoFix {
    #[error("the recipe reports this site without a fix")]
    ByRecipe,
    #[error("the rewritten code would not parse")]
    WouldNotParse,
    #[error("inside a generator expression, `await` would make it an async generator")]
    InGeneratorExpression,
    #[error("in a class body, which runs here but cannot hold `await`: move the call out of the class body")]
    InClassBody,
    #[error("the expression holds `await`, `yield`, `:=` or an async comprehension, which cannot move into a lambda")]
    CannotMoveIntoLambda,
    #[error("`super()` needs the method's frame and cannot move into a lambda")]
    SuperInLambda,
    #[error(
        "the expression reads its frame or the running event loop (`locals()`, `vars()`, `eval`, `exec`, `asyncio.get_running_loop()`, `asyncio.current_task()`), which a worker thread would change"
    )]
    NeedsThisThread,
    #[error(
        "inside an f-string's `=` specifier, which prints the expression's text: a rewrite would change what it prints"
    )]
    SelfDocumentingFString,
    #[error("the call has no callee to wrap")]
    NoCallee,
    #[error("the value of `and`/`or` is this operand itself; testing it in a thread would change the value")]
    TestedAndKept,
    #[error("`{0}` is bound to something else in this module")]
    NameTaken(String),
    #[error(
        "this function imports `{0}` after its first statements or in a branch: before that import runs, the name is an unbound local"
    )]
    ImportedLaterInFunction(String),
    #[error("the relationship is declared `lazy=\"{0}\"`: load it explicitly")]
    LoadedOnlyExplicitly(String),
    #[error("the object comes from a function whose session this one does not hold")]
    SessionUnknown,
    #[error("the session `{0}` is closed here: load it while the session is open")]
    SessionClosed(String),
    #[error("the commit that expired the object is not in this function")]
    CommitElsewhere,
    #[error("the relationship is not known to the index")]
    UnknownRelationship,
    #[error("the relationship's target class is not known")]
    UnknownTarget,
    #[error("the object was not loaded by a query in this function")]
    NotLoadedByQuery,
    #[error("cannot import a name without a module")]
    NoModule,
    #[error("the statement does not start its line")]
    StatementNotAtLineStart,
    #[error("the commit does not start its line")]
    CommitNotAtLineStart,
    #[error("the commit shares its line with other code")]
    CommitSharesLine,
    #[error("the read is in an `elif` condition: nothing can be loaded between the conditions")]
    ReadInElifCondition,
    #[error("the read is in a `while` condition: a load before the loop would not be repeated")]
    ReadInLoopCondition,
    #[error(
        "the read is guarded (`and`/`or`, a conditional expression or a comprehension): a load before the statement would run unguarded"
    )]
    GuardedRead,
    #[error("the reads are in different branches: a load before the first would not reach the others")]
    ReadsInSeveralBranches,
    #[error("the function changes the relationship: a query result in its place would not save the change")]
    RelationshipChanged,
    #[error("the read is in a loop: a query there would run on every pass")]
    QueryInLoop,
}
