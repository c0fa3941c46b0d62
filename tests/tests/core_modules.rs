//! The core's modules, its crate root (`lib.rs`) among them, form a graph without circles:
//! each uses only modules below it. (Paths in comments and doc links do not count; unit tests
//! after `#[cfg(` at the end of a file do not either.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A file's code: without comments, without its unit tests (after `#[cfg(test)]` or
/// `#[cfg(all(test` at the end), and with `$crate::` (macro paths, resolved where expanded) gone.
fn code(text: &str) -> String {
    text.split("\n#[cfg(test)]")
        .next()
        .unwrap()
        .split("\n#[cfg(all(test")
        .next()
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
        .replace("$crate::", "")
}

/// The identifiers that follow `prefix` in `code`.
fn after<'a>(code: &'a str, prefix: &'a str) -> impl Iterator<Item = String> + 'a {
    code.match_indices(prefix).map(move |(i, m)| {
        code[i + m.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
    })
}

/// Module → the modules its code names, with `lib` (the crate root: `lib.rs` and what it
/// defines itself, e.g. the hidden versioned module) as one more node. A submodule's files
/// (`render/*.rs`) count as their module. A name the root re-exports (`crate::Objective`) is
/// an edge to the module it comes from.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
    let lib = code(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_owned)
        .collect();
    // `pub use module::{a, b};` at the root: a → module.
    let mut origin = BTreeMap::new();
    for line in lib.lines().map(str::trim) {
        let Some(path) = line.strip_prefix("pub use ") else { continue };
        let Some((module, names)) = path.split_once("::") else { continue };
        if modules.contains(module) {
            for name in names.trim_matches(|c| "{};".contains(c)).split(',') {
                let name = name.split(" as ").last().unwrap().trim().trim_end_matches(['}', ';']);
                origin.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    let node = |name: &str| -> Option<String> {
        if modules.contains(name) {
            Some(name.to_owned())
        } else {
            origin.get(name).cloned().or_else(|| name.starts_with("__").then(|| "lib".to_owned()))
        }
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in &modules {
        let mut files = vec![src.join(format!("{module}.rs"))];
        if let Ok(dir) = std::fs::read_dir(src.join(module)) {
            files.extend(dir.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "rs")));
        }
        let deps = graph.entry(module.clone()).or_default();
        for file in files.iter().filter(|f| f.exists()) {
            let text = code(&std::fs::read_to_string(file).unwrap());
            deps.extend(after(&text, "crate::").filter_map(|n| node(&n)).filter(|d| d != module));
        }
    }
    // The root's own code: what `__private_v1` re-exports and its statics use.
    let root = lib
        .lines()
        .filter(|l| !l.trim_start().starts_with("pub use") || l.contains("crate::"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut deps: BTreeSet<String> = after(&root, "crate::").filter_map(|n| node(&n)).collect();
    deps.remove("lib");
    graph.insert("lib".into(), deps);
    graph
}

#[test]
fn core_module_graph_has_no_circle() {
    let graph = graph();
    assert!(graph.len() > 15, "read only {} modules", graph.len());
    assert!(graph["slot"].contains("descriptor"), "the reader sees `use crate::` paths: {graph:?}");
    assert!(graph["lib"].contains("render"), "the root's own code is read: {graph:?}");
    assert!(graph["persist"].contains("lib"), "an edge into the root is seen: {graph:?}");
    // Remove modules with no remaining dependencies until none is left; a circle remains.
    let mut left = graph.clone();
    while let Some(leaf) = left.iter().find(|(_, deps)| deps.is_empty()).map(|(m, _)| m.clone()) {
        left.remove(&leaf);
        for deps in left.values_mut() {
            deps.remove(&leaf);
        }
    }
    assert!(left.is_empty(), "modules of core/src that depend on each other in a circle: {left:?}");
}
