//! Generates 1 000 instrumented functions for the render bench.
use std::fmt::Write;
use std::{env, fs, path::PathBuf};

/// Functions the render bench registers.
const FUNCTIONS: usize = 1_000;

fn main() {
    let mut src = String::new();
    for i in 0..FUNCTIONS {
        writeln!(src, "#[picometrics::picometrics] #[inline(never)] pub fn handler_{i:04}(x: u64) -> Result<u64, u64> {{ if x.is_multiple_of(10) {{ Err(x) }} else {{ Ok(x) }} }}").unwrap();
    }
    writeln!(src, "/// Calls every generated function a few times.\npub fn call_all() {{").unwrap();
    for i in 0..FUNCTIONS {
        writeln!(src, "    for x in 0..12 {{ let _ = handler_{i:04}(x); }}").unwrap();
    }
    writeln!(src, "}}").unwrap();
    writeln!(src, "/// Names of the generated functions.\npub const NAMES: [&str; {FUNCTIONS}] = [").unwrap();
    for i in 0..FUNCTIONS {
        writeln!(src, "    \"handler_{i:04}\",").unwrap();
    }
    writeln!(src, "];").unwrap();
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("many_functions.rs");
    fs::write(out, src).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
