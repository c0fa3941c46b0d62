//! Misuse of the attribute is a compile error on the offending token (trybuild snapshots).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
