//! The one integration-test binary: data-driven fixtures and CLI tests.

mod cli;
mod fixtures;
mod support;
