//! The schema is the only home of metric names: no string literal in the library and tool
//! sources spells one (unit tests at the end of a file, after `#[cfg(test)]`, may, to check
//! output). A name spelled anywhere else could drift from the schema unnoticed.

use std::path::{Path, PathBuf};

/// Where names must come from `picometrics_schema` (which itself is not searched).
const SOURCES: [&str; 6] =
    ["core/src", "macros/src", "std-exporter/src", "bridge/src", "cli/src", "embedded-example/src"];

/// A string literal mentions a metric when it contains one of these as a word prefix.
const METRIC_PREFIXES: [&str; 3] = ["function_calls", "build_info", "picometrics_bridge_"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of Rust source `code` (comments skipped), with their line numbers.
fn string_literals(code: &str) -> Vec<(usize, String)> {
    let b = code.as_bytes();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let newlines = |s: &[u8]| s.iter().filter(|&&c| c == b'\n').count();
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = code[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                line += newlines(&b[i..end]);
                i = end;
            }
            // A char literal ('"', '\'', 'x'), not a lifetime.
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 3,
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                let end = code[i + 2..].find('\'').map_or(b.len(), |e| i + 2 + e + 1);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'#') | Some(b'"'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = i + 2 + hashes;
                let closing = format!("\"{}", "#".repeat(hashes));
                let end = code[start..].find(&closing).map_or(b.len(), |e| start + e);
                out.push((line, code[start..end].to_owned()));
                line += newlines(&b[i..end]);
                i = end + closing.len();
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                out.push((line, code[start..j.min(b.len())].to_owned()));
                line += newlines(&b[i..j.min(b.len())]);
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether `text` has `prefix` at the start of a word.
fn mentions(text: &str, prefix: &str) -> bool {
    text.match_indices(prefix).any(|(at, _)| {
        at == 0 || !text.as_bytes()[at - 1].is_ascii_alphanumeric() && text.as_bytes()[at - 1] != b'_'
    })
}

#[test]
fn lexer_finds_literals_and_skips_comments() {
    let code = "// \"function_calls_total\"\nlet a = 'x'; let q = '\"'; let s = \"build_info{\";\n/* \"build_info\" */ r#\"x\"function_calls\"#; fn f<'a>() {}";
    let found = string_literals(code);
    assert_eq!(found, [(2, "build_info{".to_owned()), (3, "x\"function_calls".to_owned())]);
    assert!(mentions("rate(function_calls_total{", "function_calls"));
    assert!(!mentions("my_function_calls", "function_calls"));
}

#[test]
fn no_metric_name_literal_outside_the_schema() {
    let root = root();
    let mut files = Vec::new();
    for dir in SOURCES {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} source files", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        // A unit-test module of its own (`#[cfg(test)] mod tests;` in the `mod.rs` beside it)
        // may check output, as the tests at the end of a file may.
        let declared = |m: &std::path::Path| {
            std::fs::read_to_string(m).is_ok_and(|t| t.contains("#[cfg(test)]\nmod tests;"))
        };
        if file.file_name().is_some_and(|n| n == "tests.rs") && declared(&file.with_file_name("mod.rs")) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests sit at the end of a file, after `#[cfg(test)]`, and may check output.
        let code = text.split("\n#[cfg(test)]").next().unwrap();
        for (line, literal) in string_literals(code) {
            if METRIC_PREFIXES.iter().any(|p| mentions(&literal, p)) {
                offenders
                    .push(format!("{}:{line}: {literal:?}", file.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "metric names belong in picometrics-schema (schema/src/lib.rs); spelled elsewhere:\n{}",
        offenders.join("\n")
    );
}
