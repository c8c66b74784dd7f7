//! CLI behaviour in temp dirs: exact output and exit codes.
