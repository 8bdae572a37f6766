//! Compile tests of `#[upstream]`/`#[downstream]`: accepted forms compile, mistakes are errors at the
//! user's span with a message that says what to write instead.

#[test]
fn macro_diagnostics() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
