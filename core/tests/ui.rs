//! Misuse of the attribute is a compile error on the offending token (trybuild snapshots),
//! and every shape of function users write compiles and is counted (`tests/pass/`, each a
//! program that checks its own counts).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
