//! The one integration-test binary: data-driven fixtures and CLI tests.

#![allow(clippy::unwrap_used)]

mod cache;
mod cli;
mod config;
mod differential;
mod django_runtime;
mod docs;
mod fixtures;
mod formats;
mod fuzz;
mod generated;
mod interactive;
mod projects;
mod recipes;
mod sqlalchemy;
mod support;
mod suppressions;
mod torture;
