//! The core's modules form a graph without circles: each module uses only modules below it.
//! (Paths in comments and doc links do not count; unit tests after `#[cfg(` at the end of a
//! file do not either.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → the `crate::` modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            sources.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .into_iter()
        .map(|(name, text)| {
            let code: String = text
                .split("\n#[cfg(test)]")
                .next()
                .unwrap()
                .split("\n#[cfg(all(test")
                .next()
                .unwrap()
                .lines()
                .map(|l| l.split("//").next().unwrap())
                .collect::<Vec<_>>()
                .join("\n")
                .replace("$crate::", "");
            let deps = code
                .match_indices("crate::")
                .map(|(i, m)| {
                    code[i + m.len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect()
                })
                .filter(|d: &String| modules.contains(d) && *d != name)
                .collect();
            (name, deps)
        })
        .collect()
}

#[test]
fn core_module_graph_has_no_circle() {
    let graph = graph();
    assert!(graph.len() > 15, "read only {} modules", graph.len());
    assert!(graph["slot"].contains("descriptor"), "the reader sees `use crate::` paths: {graph:?}");
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
