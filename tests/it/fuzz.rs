//! Fuzzing with proptest, bounded and deterministic: a fixed seed and a fixed
//! number of cases (`PROPTEST_CASES=N` and `PROPTEST_RNG_SEED=S` override
//! them, to fuzz longer or elsewhere).
//!
//! - Generated programs: a small grammar of Python statements and
//!   expressions mixing sites (`User.objects.get(...)`, `cache.get(k)`,
//!   `RefreshToken(raw)`, chains, nested calls) with f-strings,
//!   comprehensions, generator expressions, lambdas, nested and decorated
//!   defs, `await`, walrus, CRLF or LF, tabs or spaces.
//! - Mutated fixtures: `fixtures/cases/**/*.py` with bytes inserted or
//!   deleted and lines duplicated, dropped, moved or re-indented.
//!
//! Each input goes through `fix -`: no panic; an input that parses gives an
//! output that parses and that a second `fix` leaves alone; an input that
//! does not parse, or holds no `async`, comes back byte for byte. For
//! generated programs, every changed line must hold the wrapper or be an
//! import ([`changed_lines_only_wrap`]), and, where `python3` is there, the
//! output with its wrappers taken out must be the input ([`python_breaks`]).
//!
//! A generated program is read from a string of choice bytes (an exhausted
//! string picks the first, simplest option), so proptest shrinks a failure to
//! a short program; the failure message shows the program.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestRunner};

use super::support::run_bytes;
use super::torture::{check_invariants, parses};

/// The seed when `PROPTEST_RNG_SEED` is not set.
const SEED: u64 = 0x_a5f1_c0de;

fn config(cases: u32) -> Config {
    let defaults = Config::default();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(cases);
    let rng_seed =
        if std::env::var_os("PROPTEST_RNG_SEED").is_some() { defaults.rng_seed } else { RngSeed::Fixed(SEED) };
    Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed,
        // The seed is fixed: a failure reproduces without a regression file.
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..defaults
    }
}

// ---------------------------------------------------------------------------
// The grammar
// ---------------------------------------------------------------------------

/// Writes a Python module from a string of choices.
struct Generator<'a> {
    choices: &'a [u8],
    at: usize,
    eol: &'static str,
    unit: &'static str,
    in_fstring: bool,
    functions: usize,
    out: String,
    /// Also the constructs of known bugs (async comprehensions, postponed annotations).
    known_bugs: bool,
}

const LEAVES: [&str; 10] =
    ["k", "pk", "'text'", "42", "None", "item", "request.user", "value", "'ünï 🦀 cache.get(k)'", "self_value"];

impl<'a> Generator<'a> {
    fn new(choices: &'a [u8], known_bugs: bool) -> Self {
        Self {
            choices,
            at: 0,
            eol: "\n",
            unit: "    ",
            in_fstring: false,
            functions: 0,
            out: String::new(),
            known_bugs,
        }
    }

    /// One of `n` options; 0 once the choices run out.
    fn pick(&mut self, n: usize) -> usize {
        let byte = self.choices.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::from(byte) % n
    }

    fn line(&mut self, level: usize, text: &str) {
        let indent = self.unit.repeat(level);
        let _ = write!(self.out, "{indent}{text}{}", self.eol);
    }

    /// Whitespace inside brackets, where indentation does not matter.
    fn pad(&mut self) -> &'static str {
        ["", "    ", "\t", "  \t  "][self.pick(4)]
    }

    fn leaf(&mut self) -> String {
        LEAVES[self.pick(LEAVES.len())].to_owned()
    }

    fn expression(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.leaf();
        }
        let d = depth - 1;
        match self.pick(47) {
            0..=3 => self.leaf(),
            4 => format!("User.objects.get(pk={})", self.expression(d)),
            5 => format!("User.objects.filter(email={}).exists()", self.expression(d)),
            6 => format!("User.objects.filter(name={}).exclude(pk=1).order_by('-id').first()", self.expression(d)),
            7 => format!("cache.get({})", self.expression(d)),
            8 => format!("cache.set({}, {}, timeout=60)", self.expression(d), self.expression(d)),
            9 => format!("RefreshToken({})", self.expression(d)),
            10 => "User.objects.count()".to_owned(),
            11 if !self.in_fstring => {
                let (eol, first, second) = (self.eol, self.pad(), self.pad());
                format!("(User.objects{eol}{first}.filter(pk={}){eol}{second}.exists())", self.expression(d))
            }
            12 => format!("len({})", self.expression(d)),
            13 => format!("({} + {})", self.expression(d), self.expression(d)),
            14 => format!("({} if {} else {})", self.expression(d), self.expression(d), self.expression(d)),
            15 => format!("(not {})", self.expression(d)),
            16 => format!("[{} for item in {}]", self.expression(d), self.expression(d)),
            17 => format!("sum({} for item in {})", self.expression(d), self.expression(d)),
            18 => format!("(lambda item: {})", self.expression(d)),
            19 => format!("(await {})", self.expression(d)),
            20 if !self.in_fstring => {
                self.in_fstring = true;
                let inner = self.expression(d);
                self.in_fstring = false;
                format!("f\"<{{ {inner} }}> {{k!r:>10}}\"")
            }
            21 => format!("{{'key': {}, 'rest': [{}]}}", self.expression(d), self.expression(d)),
            22 => format!("({}).email", self.expression(d)),
            23 => format!("({})[0]", self.expression(d)),
            24 => format!("(value := {})", self.expression(d)),
            25 => format!("helper({}, flag={}, *args, **kwargs)", self.expression(d), self.expression(d)),
            26 => format!("sync_to_async({})", self.expression(d)),
            27 => format!("({} in {})", self.expression(d), self.expression(d)),
            28 => format!("({} and {})", self.expression(d), self.expression(d)),
            29 => format!("cache.get({}).upper()", self.expression(d)),
            30 => format!("({}, {})", self.expression(d), self.expression(d)),
            31 => format!("User.objects.get(pk={}).email", self.expression(d)),
            32 => format!("[*{}, *User.objects.filter(pk={})]", self.expression(d), self.expression(d)),
            33 => format!("(2 ** {} ** {})", self.expression(d), self.expression(d)),
            34 => format!("(1 < {} < {})", self.expression(d), self.expression(d)),
            35 => format!("k[{}:{}]", self.expression(d), self.expression(d)),
            36 => format!("(lambda item={}: item)", self.expression(d)),
            // See `async_comprehension_is_not_moved_into_a_lambda` (torture.rs).
            37 if self.known_bugs => format!("[item async for item in {}]", self.expression(d)),
            38 if !self.in_fstring => {
                self.in_fstring = true;
                let inner = self.expression(d);
                self.in_fstring = false;
                format!("f'{{ {inner}!r:>8}}'")
            }
            39 => format!("(-{})", self.expression(d)),
            40 => format!("User.objects.filter(pk={}).values_list('id', flat=True)[0]", self.expression(d)),
            41 => format!("cache.get_many([{}])['k']", self.expression(d)),
            42 => format!("list(User.objects.filter(pk={}))", self.expression(d)),
            43 => format!("User.objects.filter(id=(await {})).exists()", self.expression(d)),
            44 => format!("cache.get({}, default=cache.get(k))", self.expression(d)),
            // A module function by name, defined before or after, or not at
            // all: the skim must keep exactly the bodies named.
            45 => format!("sync_view_{}(k, {})", self.pick(8), self.expression(d)),
            _ => {
                format!("{{item: {} for item in {} if {}}}", self.expression(d), self.expression(d), self.expression(d))
            }
        }
    }

    fn block(&mut self, level: usize, depth: usize) {
        let count = 1 + self.pick(3);
        for _ in 0..count {
            self.statement(level, depth);
        }
    }

    #[allow(
        clippy::too_many_lines,
        reason = "one arm per generated statement shape: the grammar reads best in one place"
    )]
    fn statement(&mut self, level: usize, depth: usize) {
        let options = if depth == 0 { 8 } else { 30 };
        match self.pick(options) {
            0 => {
                let value = self.expression(3);
                self.line(level, &format!("value = {value}"));
            }
            1 => {
                let value = self.expression(3);
                self.line(level, &format!("return {value}"));
            }
            2 => {
                let value = self.expression(3);
                self.line(level, &value);
            }
            3 => {
                let value = self.expression(2);
                self.line(level, &format!("value: int = {value}"));
            }
            4 => {
                let value = self.expression(2);
                self.line(level, &format!("total += {value}"));
            }
            5 => {
                self.line(level, "# cache.get(k) in a comment stays as it is");
                self.statement(level, 0);
            }
            6 => {
                let (left, right) = (self.expression(2), self.expression(2));
                self.line(level, &format!("first = {left}; second = {right}"));
            }
            7 => {
                let (test, message) = (self.expression(2), self.expression(1));
                self.line(level, &format!("assert {test}, {message}"));
            }
            8 => {
                let test = self.expression(2);
                self.line(level, &format!("if {test}:"));
                self.block(level + 1, depth - 1);
                if self.pick(2) == 1 {
                    let test = self.expression(2);
                    self.line(level, &format!("elif {test}:"));
                    self.block(level + 1, depth - 1);
                }
                if self.pick(2) == 1 {
                    self.line(level, "else:");
                    self.block(level + 1, depth - 1);
                }
            }
            9 => {
                let iterable = self.expression(2);
                self.line(level, &format!("for item in {iterable}:"));
                self.block(level + 1, depth - 1);
            }
            10 => {
                let iterable = self.expression(2);
                self.line(level, &format!("async for item in {iterable}:"));
                self.block(level + 1, depth - 1);
            }
            11 => {
                let test = self.expression(2);
                self.line(level, &format!("while {test}:"));
                self.block(level + 1, depth - 1);
                self.line(level + 1, "break");
            }
            12 => {
                let manager = self.expression(2);
                self.line(level, &format!("with {manager} as handle:"));
                self.block(level + 1, depth - 1);
            }
            13 => {
                let manager = self.expression(2);
                self.line(level, &format!("async with {manager}:"));
                self.block(level + 1, depth - 1);
            }
            14 => {
                self.line(level, "try:");
                self.block(level + 1, depth - 1);
                self.line(level, "except Exception as exc:");
                self.block(level + 1, depth - 1);
                if self.pick(2) == 1 {
                    self.line(level, "finally:");
                    self.block(level + 1, depth - 1);
                }
            }
            15 => {
                let default = self.expression(1);
                self.line(level, &format!("def inner(k, default={default}):"));
                self.block(level + 1, depth - 1);
            }
            16 => {
                let default = self.expression(1);
                self.line(level, &format!("async def inner_async(k, default={default}):"));
                self.block(level + 1, depth - 1);
            }
            17 => {
                let decorator =
                    ["decorator", "sync_to_async", "decorator(cache.get(k))", "sync_to_async(thread_sensitive=True)"]
                        [self.pick(4)];
                self.line(level, &format!("@{decorator}"));
                let keyword = ["def", "async def"][self.pick(2)];
                self.line(level, &format!("{keyword} decorated(k):"));
                self.block(level + 1, depth - 1);
            }
            18 => {
                let attribute = self.expression(2);
                self.line(level, "class Inner:");
                self.line(level + 1, &format!("attribute = {attribute}"));
                self.line(level + 1, "async def method(self, k):");
                self.block(level + 2, depth - 1);
            }
            19 => {
                let (left, right) = (self.expression(2), self.expression(2));
                let continuation = format!("{}+ {}", self.unit.repeat(level + 1), right);
                self.line(level, &format!("value = {left} \\{}{continuation}", self.eol));
            }
            20 => {
                self.out += self.eol;
                self.statement(level, depth - 1);
            }
            21 => {
                let value = self.expression(2);
                let text = [format!("yield {value}"), format!("raise ValueError({value})"), "del value".to_owned()]
                    [self.pick(3)]
                .clone();
                self.line(level, &text);
            }
            22 => {
                let value = self.expression(2);
                self.line(level, &format!("print(f'{{k}}', {value}, sep='')"));
            }
            23 => {
                let subject = self.expression(2);
                self.line(level, &format!("match {subject}:"));
                self.line(level + 1, "case {'key': 1}:");
                self.block(level + 2, depth - 1);
                let guard = self.expression(2);
                self.line(level + 1, &format!("case _ if {guard}:"));
                self.block(level + 2, depth - 1);
            }
            24 => {
                let value = self.expression(2);
                self.line(level, &format!("first, second = {value}"));
            }
            25 => {
                let value = self.expression(2);
                self.line(level, &format!("first = second = {value}"));
            }
            26 => {
                let value = self.expression(2);
                self.line(level, &format!("if (value := {value}):"));
                self.block(level + 1, depth - 1);
            }
            27 => {
                let returns = self.expression(1);
                self.line(level, &format!("async def annotated(k) -> {returns}:"));
                self.block(level + 1, depth - 1);
            }
            28 => {
                let annotation = self.expression(1);
                self.line(level, &format!("value: {annotation} = 1"));
            }
            _ => self.line(level, "pass"),
        }
    }

    fn header(&mut self) {
        if self.pick(4) == 1 {
            self.line(0, "#!/usr/bin/env python");
            self.line(0, "# -*- coding: utf-8 -*-");
        }
        if self.pick(3) == 1 {
            self.line(0, "\"\"\"A generated module: cache.get(k) here is text.\"\"\"");
        }
        // See `postponed_annotations_are_not_sites` (torture.rs).
        if self.pick(4) == 1 && self.known_bugs {
            self.line(0, "from __future__ import annotations");
        }
        for import in [
            "from django.core.cache import cache",
            "from django.contrib.auth.models import User",
            "from rest_framework_simplejwt.tokens import RefreshToken",
        ] {
            if self.pick(5) != 1 {
                self.line(0, import);
            }
        }
        match self.pick(7) {
            1 => self.line(0, "from asgiref.sync import sync_to_async"),
            2 => self.line(0, "from asgiref.sync import async_to_sync"),
            3 => {
                self.line(0, "from asgiref.sync import (");
                self.line(1, "async_to_sync,");
                self.line(0, ")");
            }
            4 => self.line(0, "from channels.db import database_sync_to_async"),
            5 => self.line(0, "import asgiref.sync"),
            _ => {}
        }
    }

    fn item(&mut self) {
        let index = self.functions;
        self.functions += 1;
        self.out += self.eol;
        match self.pick(7) {
            0 | 1 => {
                self.line(0, &format!("async def view_{index}(k, pk, *args, **kwargs):"));
                self.block(1, 3);
            }
            2 => {
                self.line(0, &format!("def sync_view_{index}(k, pk):"));
                self.block(1, 2);
            }
            3 => {
                self.line(0, &format!("class Service{index}:"));
                self.line(1, "model = User");
                self.line(1, "async def method(self, k, pk):");
                self.block(2, 2);
            }
            4 => {
                let decorator = ["login_required", "sync_to_async", "database_sync_to_async"][self.pick(3)];
                self.line(0, &format!("@{decorator}"));
                self.line(0, &format!("async def decorated_{index}(k, pk):"));
                self.block(1, 2);
            }
            5 => {
                let value = self.expression(2);
                self.line(0, &format!("SETTING_{index} = {value}"));
            }
            _ => {
                // A form feed between definitions, as some code bases have.
                self.out += "\x0c";
                self.out += self.eol;
                self.line(0, &format!("async def paged_{index}(k, pk):"));
                self.block(1, 2);
            }
        }
    }

    /// A module of sync helpers and methods, some querying, some calling
    /// each other, and async code naming some of them: what the skim must
    /// keep (the bodies named) and may leave out (the others).
    fn helpers_module(mut self) -> String {
        self.start();
        let helpers = 2 + self.pick(5);
        for index in 0..helpers {
            self.out += self.eol;
            self.line(0, &format!("def helper_{index}(k, pk):"));
            if self.pick(3) == 0 {
                let other = self.pick(helpers);
                self.line(1, &format!("return helper_{other}(k, pk)"));
            } else {
                self.block(1, 2);
            }
        }
        self.out += self.eol;
        self.line(0, "class Service(object):");
        for index in 0..=self.pick(3) {
            self.line(1, &format!("def method_{index}(self, k, pk):"));
            self.block(2, 2);
        }
        for index in 0..=self.pick(3) {
            self.line(1, &format!("async def run_{index}(self, k, pk, *args, **kwargs):"));
            let (helper, method) = (self.pick(helpers + 2), self.pick(3));
            match self.pick(4) {
                0 => self.line(2, &format!("value = helper_{helper}(k, pk)")),
                1 => self.line(2, &format!("value = self.method_{method}(k, pk)")),
                2 => self.line(2, &format!("value = getattr(self, 'method_{method}')")),
                _ => {}
            }
            self.block(2, 2);
        }
        self.out
    }

    /// Line endings and indentation for the whole module, then its header.
    fn start(&mut self) {
        self.eol = ["\n", "\r\n"][self.pick(2)];
        self.unit = ["    ", "  ", "\t"][self.pick(3)];
        self.header();
    }

    fn module(mut self) -> String {
        self.start();
        let items = 1 + self.pick(4);
        for _ in 0..items {
            self.item();
        }
        self.out
    }
}

fn generate(choices: &[u8]) -> String {
    Generator::new(choices, false).module()
}

/// Whether the output kept every line ending the input had: no LF-only line
/// in a CRLF file, and the reverse.
fn keeps_line_endings(input: &str, output: &str) -> bool {
    let crlf = |text: &str| text.matches("\r\n").count();
    let lf = |text: &str| text.matches('\n').count() - crlf(text);
    if crlf(input) == 0 { crlf(output) == 0 } else { lf(output) == lf(input) }
}

/// `check` must find what `check --full-parse` finds, unless the whole file
/// does not parse: a syntax error in a body nothing names is not seen
/// without `--full-parse`.
fn skim_agrees(input: &[u8]) -> Result<(), String> {
    let (code, stdout, stderr) = run_bytes(&["check", "-"], input);
    let (full_code, full_stdout, full_stderr) = run_bytes(&["check", "--full-parse", "-"], input);
    if full_stderr.contains("syntax error") || (code, &stdout, &stderr) == (full_code, &full_stdout, &full_stderr) {
        return Ok(());
    }
    Err(format!(
        "check and check --full-parse differ:\n{}{stderr}\n--- with --full-parse\n{}{full_stderr}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&full_stdout)
    ))
}

#[test]
fn skimmed_checks_of_generated_helpers_find_what_whole_parses_find() {
    let mut runner = TestRunner::new(config(256));
    let (total, skimmed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let result = runner.run(&vec(any::<u8>(), 0..600), |choices| {
        let input = Generator::new(&choices, false).helpers_module();
        total.fetch_add(1, Ordering::Relaxed);
        if asyncfix::scan::skim::skim(&input, &[]).is_some() {
            skimmed.fetch_add(1, Ordering::Relaxed);
        }
        skim_agrees(input.as_bytes()).map_err(|message| TestCaseError::fail(format!("{message}\n--- input\n{input}")))
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    // The test means something only if the skim leaves bodies out.
    let (total, skimmed) = (total.into_inner(), skimmed.into_inner());
    assert!(skimmed * 2 >= total, "the skim left a body out in only {skimmed} of {total} modules");
}

#[test]
fn generated_programs_keep_the_invariants() {
    fuzz_generated_programs(false);
}

#[test]
fn generated_programs_with_async_comprehensions_and_postponed_annotations_keep_the_invariants() {
    fuzz_generated_programs(true);
}

/// The generated-program fuzz run; `known_bugs` adds the constructs of known bugs.
fn fuzz_generated_programs(known_bugs: bool) {
    let mut runner = TestRunner::new(config(256));
    let parsed = AtomicUsize::new(0);
    let changed = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    let changes = Mutex::new(Vec::new());
    let result = runner.run(&vec(any::<u8>(), 0..600), |choices| {
        let input = Generator::new(&choices, known_bugs).module();
        total.fetch_add(1, Ordering::Relaxed);
        let (code, stdout, stderr) = run_bytes(&["fix", "-"], input.as_bytes());
        let fail =
            |message: String| TestCaseError::fail(format!("{message}\n--- input\n{input}\n--- stderr\n{stderr}"));
        let output = String::from_utf8(stdout).map_err(|_| fail("the output is not UTF-8".to_owned()))?;
        if code == 2 {
            return Err(fail(format!("exit code 2; output:\n{output}")));
        }
        if parses(&input) {
            parsed.fetch_add(1, Ordering::Relaxed);
        }
        if output != input {
            changed.fetch_add(1, Ordering::Relaxed);
        }
        check_invariants(&input, &output, true).map_err(|message| fail(format!("{message}\n--- output\n{output}")))?;
        skim_agrees(input.as_bytes()).map_err(fail)?;
        if !keeps_line_endings(&input, &output) {
            return Err(fail(format!("line endings changed; output:\n{output:?}")));
        }
        if output != input {
            changes.lock().unwrap().push((input.clone(), output));
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let (total, parsed, changed) = (total.into_inner(), parsed.into_inner(), changed.into_inner());
    // Fixtures hold SQLAlchemy fixes and aliased wrappers: compiling is the check.
    let failures = python_breaks(&changes.into_inner().unwrap(), Oracle::Compiles);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The grammar is meant to produce Python: most programs parse, and most have sites to fix.
    assert!(parsed * 10 >= total * 9, "only {parsed} of {total} generated programs parse");
    assert!(changed * 2 >= total, "only {changed} of {total} generated programs were changed");
}

/// What [`python_breaks`] asks of a fix.
#[derive(Clone, Copy)]
enum Oracle {
    /// The output compiles.
    Compiles,
    /// It compiles, and means what the input meant.
    Meaning,
}

/// The fixes that `CPython` (when `python3` is there, one process for all)
/// compiles before but not after, or whose meaning changed. `CPython` is
/// stricter than tree-sitter (an `await` in a lambda or a sync `def`, a
/// `return` at module level), so only inputs that compile count.
///
/// The semantic oracle: the output's syntax tree with every wrapper taken
/// back out (`await sync_to_async(F)(ARGS)` is `F(ARGS)`, `await
/// sync_to_async(lambda: E)()` is `E`) and the wrapper's import dropped must
/// be the input's tree. A `QuerySet` made a list to be iterated, unpacked or
/// tested (`await sync_to_async(list)(qs)`) is the same iteration: `list(E)`
/// where a value is iterated, unpacked (`*E` too) or tested for truth counts as `E`,
/// and `bool(E)` in a test as `E`, on both sides.
fn python_breaks(changes: &[(String, String)], oracle: Oracle) -> Vec<String> {
    const SCRIPT: &str = r#"
import ast, json, sys, warnings
warnings.simplefilter("ignore")
WRAPPERS = {"sync_to_async", "database_sync_to_async"}

def wrapper_call(node):
    # `sync_to_async(F)` (or `sync_to_async(F, thread_sensitive=...)`): F
    if isinstance(node, ast.Call) and node.args:
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in WRAPPERS:
            return node.args[0]
    return None

class Strip(ast.NodeTransformer):
    def visit_Await(self, node):
        self.generic_visit(node)
        call = node.value
        if isinstance(call, ast.Call):
            inner = wrapper_call(call.func)
            if inner is not None:
                if isinstance(inner, ast.Lambda) and not call.args and not call.keywords:
                    return inner.body
                return ast.Call(func=inner, args=call.args, keywords=call.keywords)
        return node

def unwrap(node, name):
    while (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
           and len(node.args) == 1 and not node.keywords):
        node = node.args[0]
    return node

class Normalize(ast.NodeTransformer):
    def visit_ImportFrom(self, node):
        if node.module in ("asgiref.sync", "channels.db"):
            node.names = [alias for alias in node.names if alias.name not in WRAPPERS]
            if not node.names:
                return None
        return node
    def iterated(self, node):
        self.generic_visit(node)
        node.iter = unwrap(node.iter, "list")
        return node
    visit_For = visit_comprehension = iterated
    def visit_Assign(self, node):
        self.generic_visit(node)
        if any(isinstance(target, (ast.Tuple, ast.List)) for target in node.targets):
            node.value = unwrap(node.value, "list")
        return node
    def tested(self, node):
        self.generic_visit(node)
        node.test = unwrap(unwrap(node.test, "bool"), "list")
        return node
    visit_If = visit_While = visit_IfExp = visit_Assert = tested
    def visit_Starred(self, node):
        self.generic_visit(node)
        node.value = unwrap(node.value, "list")
        return node
    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = unwrap(unwrap(node.operand, "bool"), "list")
        return node
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        node.values = [unwrap(value, "bool") for value in node.values]
        return node

def meaning(tree):
    return ast.dump(Normalize().visit(tree))

failures = []
check_meaning = sys.argv[1] == "meaning"
for index, (before, after) in enumerate(json.load(sys.stdin)):
    try:
        compile(before, "<before>", "exec")
    except SyntaxError:
        continue
    try:
        compile(after, "<after>", "exec")
    except SyntaxError as error:
        failures.append("CPython compiles the input but not the output (%s):\n--- input\n%s\n--- output\n%s" % (error, before, after))
        continue
    if check_meaning and meaning(ast.parse(before)) != meaning(Strip().visit(ast.parse(after))):
        failures.append("the output with its wrappers taken out is not the input:\n--- input\n%s\n--- output\n%s" % (before, after))
json.dump(failures, sys.stdout)
"#;
    let Ok(mut child) = Command::new("python3")
        .args(["-c", SCRIPT, if matches!(oracle, Oracle::Meaning) { "meaning" } else { "compiles" }])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    else {
        return Vec::new();
    };
    let pairs = serde_json::to_vec(changes).unwrap();
    let writer = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut writer = writer;
        writer.write_all(&pairs).unwrap();
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(output.status.success(), "python3 failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The oracle passes a fix that keeps the meaning and catches one that does
/// not (another argument, a lambda's body changed, a list where nothing is
/// iterated).
#[test]
fn the_semantic_oracle_catches_a_changed_meaning() {
    if super::support::python_compiles("").is_none() {
        return;
    }
    let before = "from django.core.cache import cache\n\nasync def v(k, qs):\n    for x in qs:\n        pass\n    return cache.get(k), qs\n";
    let kept = "from django.core.cache import cache\nfrom asgiref.sync import sync_to_async\n\nasync def v(k, qs):\n    for x in await sync_to_async(list)(qs):\n        pass\n    return await sync_to_async(lambda: cache.get(k))(), qs\n";
    let changed = [
        kept.replace("cache.get(k))", "cache.get(qs))"),
        kept.replace("lambda: cache.get(k)", "lambda: cache.get"),
        kept.replace(", qs\n", ", await sync_to_async(list)(qs)\n"),
    ];
    assert_eq!(python_breaks(&[(before.to_owned(), kept.to_owned())], Oracle::Meaning), Vec::<String>::new());
    for after in changed {
        let failures = python_breaks(&[(before.to_owned(), after.clone())], Oracle::Meaning);
        assert_eq!(failures.len(), 1, "not caught:\n{after}");
        assert!(failures[0].starts_with("the output with its wrappers taken out is not the input"), "{failures:?}");
    }
}

/// The grammar itself, on a few fixed choice strings.
#[test]
fn generated_programs_are_python() {
    let simplest = generate(&[]);
    assert_eq!(
        simplest,
        "from django.core.cache import cache\nfrom django.contrib.auth.models import User\nfrom rest_framework_simplejwt.tokens import RefreshToken\n\nasync def view_0(k, pk, *args, **kwargs):\n    value = k\n"
    );
    for seed in 0..64u8 {
        let choices: Vec<u8> =
            (0..400u16).map(|i| (i as u8).wrapping_mul(seed.wrapping_add(31)).wrapping_add(seed)).collect();
        let program = generate(&choices);
        assert!(parses(&program), "seed {seed} does not parse:\n{program}");
    }
}

// ---------------------------------------------------------------------------
// Mutated fixtures
// ---------------------------------------------------------------------------

fn fixture_sources() -> Vec<(PathBuf, Vec<u8>)> {
    fn collect(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "py") {
                found.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    collect(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases"), &mut paths);
    paths.sort();
    paths.into_iter().map(|path| (path.clone(), std::fs::read(&path).unwrap())).collect()
}

/// Bytes worth inserting: brackets, quotes, whitespace, line breaks, a NUL,
/// bytes that are not UTF-8, the start of a multi-byte character.
const INTERESTING: &[u8] = b"()[]{}:'\"#\\ \t\n\r\x0c\x00\xff\xe9\xc3\xef=.,@";

#[derive(Debug, Clone)]
enum Mutation {
    InsertByte { at: usize, byte: u8 },
    DeleteBytes { at: usize, len: usize },
    DuplicateLine { line: usize },
    DeleteLine { line: usize },
    MoveLine { from: usize, to: usize },
    Reindent { line: usize, how: u8 },
    ForeignLine { fixture: usize, line: usize, to: usize },
    Truncate { at: usize },
    Crlf,
    Bom,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), prop_oneof![proptest::sample::select(INTERESTING), any::<u8>()])
            .prop_map(|(at, byte)| Mutation::InsertByte { at, byte }),
        3 => (any::<usize>(), 1..24usize).prop_map(|(at, len)| Mutation::DeleteBytes { at, len }),
        3 => any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        2 => any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(from, to)| Mutation::MoveLine { from, to }),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(line, how)| Mutation::Reindent { line, how }),
        2 => (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(fixture, line, to)| Mutation::ForeignLine { fixture, line, to }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => Just(Mutation::Crlf),
        1 => Just(Mutation::Bom),
    ]
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation], fixtures: &[(PathBuf, Vec<u8>)]) -> Vec<u8> {
    for mutation in mutations {
        let mut lines = lines_of(&bytes);
        match *mutation {
            Mutation::InsertByte { at, byte } => bytes.insert(at % (bytes.len() + 1), byte),
            Mutation::DeleteBytes { at, len } => {
                let at = at % (bytes.len() + 1);
                bytes.drain(at..(at + len).min(bytes.len()));
            }
            Mutation::DuplicateLine { line } if !lines.is_empty() => {
                let line = line % lines.len();
                lines.insert(line, lines[line].clone());
                bytes = lines.concat();
            }
            Mutation::DeleteLine { line } if !lines.is_empty() => {
                lines.remove(line % lines.len());
                bytes = lines.concat();
            }
            Mutation::MoveLine { from, to } if !lines.is_empty() => {
                let moved = lines.remove(from % lines.len());
                lines.insert(to % (lines.len() + 1), moved);
                bytes = lines.concat();
            }
            Mutation::Reindent { line, how } if !lines.is_empty() => {
                let count = lines.len();
                let line = &mut lines[line % count];
                let dedent = line.iter().take_while(|&&b| b == b' ').count().min(4);
                *line = match how % 4 {
                    0 => [b"    ", &line[..]].concat(),
                    1 => [b"\t", &line[..]].concat(),
                    2 => [b"\x0c", &line[..]].concat(),
                    _ => line[dedent..].to_vec(),
                };
                bytes = lines.concat();
            }
            Mutation::ForeignLine { fixture, line, to } => {
                let foreign = lines_of(&fixtures[fixture % fixtures.len()].1);
                if !foreign.is_empty() {
                    lines.insert(to % (lines.len() + 1), foreign[line % foreign.len()].clone());
                    bytes = lines.concat();
                }
            }
            Mutation::Truncate { at } => bytes.truncate(at % (bytes.len() + 1)),
            Mutation::Crlf => {
                bytes = lines
                    .iter()
                    .map(|line| line.strip_suffix(b"\n").map_or_else(|| line.clone(), |rest| [rest, b"\r\n"].concat()))
                    .collect::<Vec<_>>()
                    .concat();
            }
            Mutation::Bom => bytes.splice(0..0, *b"\xef\xbb\xbf").for_each(drop),
            _ => {}
        }
    }
    bytes
}

#[test]
fn mutated_fixtures_never_panic_or_break_what_parsed() {
    let fixtures = fixture_sources();
    assert!(fixtures.len() >= 10, "expected fixtures under fixtures/cases");
    let mut runner = TestRunner::new(config(256));
    let strategy = (0..fixtures.len(), vec(mutation(), 1..5));
    let changes = Mutex::new(Vec::new());
    let result = runner.run(&strategy, |(index, mutations)| {
        let (path, original) = &fixtures[index];
        let input = mutate(original.clone(), &mutations, &fixtures);
        let (code, stdout, stderr) = run_bytes(&["fix", "-"], &input);
        let fail = |message: String| {
            TestCaseError::fail(format!(
                "{}: {message}\n--- input\n{}\n--- stderr\n{stderr}",
                path.display(),
                String::from_utf8_lossy(&input)
            ))
        };
        let Ok(text) = std::str::from_utf8(&input) else {
            // Not UTF-8: an I/O error (exit 2) when the bytes hold `async`, else nothing to do.
            let has_async = input.windows(5).any(|window| window == b"async");
            return match (has_async, code) {
                (true, 2) | (false, 0 | 2) => Ok(()),
                _ => Err(fail(format!("exit code {code} for input that is not UTF-8"))),
            };
        };
        if code == 2 {
            return Err(fail("exit code 2 for UTF-8 input".to_owned()));
        }
        // `fix -` always prints the whole source, the BOM included.
        let Ok(output) = String::from_utf8(stdout) else { return Err(fail("the output is not UTF-8".to_owned())) };
        let bom = text.starts_with('\u{feff}');
        if bom != output.starts_with('\u{feff}') {
            return Err(fail("the BOM was added or lost".to_owned()));
        }
        let (text, output) = if bom { (&text[3..], &output[3..]) } else { (text, output.as_str()) };
        check_invariants(text, output, false).map_err(|message| fail(format!("{message}\n--- output\n{output}")))?;
        skim_agrees(&input).map_err(fail)?;
        if output != text {
            changes.lock().unwrap().push((text.to_owned(), output.to_owned()));
        }
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    // Fixtures hold SQLAlchemy fixes and aliased wrappers: compiling is the check.
    let failures = python_breaks(&changes.into_inner().unwrap(), Oracle::Compiles);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
