//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (the tests read `datasets/` and `models/` from it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real binary, run from the repository root, ignoring `$DEMARCHE_MODEL`.
pub fn demarche() -> Command {
    let mut c = Command::cargo_bin("demarche").unwrap();
    c.current_dir(root());
    c.env_remove("DEMARCHE_MODEL");
    c
}

/// Writes `body` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, body: &[u8]) -> String {
    let p = dir.join(name);
    fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}
