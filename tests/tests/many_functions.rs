//! A program that instruments a few hundred functions across modules, trait impls, generic
//! functions and generic impls: every one reports its own series (no duplicate), and
//! `promtool check metrics` accepts the whole exposition.

// Generated modules of test functions: documenting each would say nothing.
#![allow(missing_docs, clippy::result_unit_err)]

use std::collections::BTreeSet;

/// A trait two different impls per type implement under the same method name.
pub trait Convert<T> {
    /// Converts.
    fn convert(&self, v: T) -> u64;
}

/// Shows itself.
pub trait Show {
    /// Shows.
    fn show(&self) -> u64;
}

/// Another trait with the same method name as [`Show`].
pub trait Display2 {
    /// Shows too.
    fn show(&self) -> u64;
}

macro_rules! module {
    ($($m:ident)*) => {$(
        pub mod $m {
            use picometrics::picometrics;

            pub struct Thing(pub u64);

            #[picometrics]
            impl Thing {
                pub fn a(&self) -> u64 { self.0 }
                pub fn b(&self) -> Result<u64, ()> { if self.0 % 2 == 0 { Ok(self.0) } else { Err(()) } }
                pub fn c(&mut self) -> &mut u64 { &mut self.0 }
            }

            #[picometrics]
            impl super::Convert<u8> for Thing {
                fn convert(&self, v: u8) -> u64 { self.0 + u64::from(v) }
            }

            #[picometrics]
            impl super::Convert<u16> for Thing {
                fn convert(&self, v: u16) -> u64 { self.0 + u64::from(v) }
            }

            #[picometrics]
            impl super::Show for Thing {
                fn show(&self) -> u64 { self.0 }
            }

            #[picometrics]
            impl super::Display2 for Thing {
                fn show(&self) -> u64 { self.0 + 1 }
            }

            #[picometrics]
            pub fn generic<T: Into<u64>>(v: T) -> u64 { v.into() }

            #[picometrics(track_concurrency)]
            pub fn plain(v: u64) -> Option<u64> { v.checked_sub(1) }

            pub fn call_all() {
                use super::{Convert, Display2, Show};
                let mut t = Thing(2);
                t.a();
                let _ = t.b();
                *t.c() += 1;
                let _ = t.b();
                Convert::<u8>::convert(&t, 1);
                Convert::<u16>::convert(&t, 1);
                Show::show(&t);
                Display2::show(&t);
                generic(1u8);
                generic(1u32);
                plain(0);
                plain(1);
            }
        }
    )*};
}

module!(m00 m01 m02 m03 m04 m05 m06 m07 m08 m09 m10 m11 m12 m13 m14 m15 m16 m17 m18 m19
        m20 m21 m22 m23 m24 m25 m26 m27 m28 m29 m30 m31 m32 m33 m34 m35 m36 m37 m38 m39);

#[test]
fn hundreds_of_functions_have_distinct_series_and_pass_promtool() {
    for call in [
        m00::call_all,
        m01::call_all,
        m02::call_all,
        m03::call_all,
        m04::call_all,
        m05::call_all,
        m06::call_all,
        m07::call_all,
        m08::call_all,
        m09::call_all,
        m10::call_all,
        m11::call_all,
        m12::call_all,
        m13::call_all,
        m14::call_all,
        m15::call_all,
        m16::call_all,
        m17::call_all,
        m18::call_all,
        m19::call_all,
        m20::call_all,
        m21::call_all,
        m22::call_all,
        m23::call_all,
        m24::call_all,
        m25::call_all,
        m26::call_all,
        m27::call_all,
        m28::call_all,
        m29::call_all,
        m30::call_all,
        m31::call_all,
        m32::call_all,
        m33::call_all,
        m34::call_all,
        m35::call_all,
        m36::call_all,
        m37::call_all,
        m38::call_all,
        m39::call_all,
    ] {
        call();
    }
    let functions = picometrics::functions();
    assert_eq!(functions.len(), 40 * 9, "9 instrumented functions per module");
    let identities: BTreeSet<_> = functions.iter().map(|f| (f.name, f.module)).collect();
    assert_eq!(identities.len(), functions.len(), "every function has its own identity");

    let mut text = String::new();
    picometrics::render_prometheus(&mut text).unwrap();
    let mut seen = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let series = &line[..line.rfind(' ').unwrap()];
        assert!(seen.insert(series.to_owned()), "duplicate series {series}");
    }
    // Each module's calls, as a sample: both `Convert` impls and both `show`s are apart.
    for f in [
        "<Thing as Convert<u8>>::convert",
        "<Thing as Convert<u16>>::convert",
        "<Thing as Show>::show",
        "<Thing as Display2>::show",
    ] {
        let prefix = format!("function_calls_total{{function=\"{f}\",module=\"many_functions::m17\"");
        assert!(text.lines().any(|l| l.starts_with(&prefix) && l.ends_with(" 1")), "{f}");
    }
    let (ok, out) = picometrics_integration_tests::promtool_check(&text);
    assert!(ok, "promtool check metrics:\n{out}");
}
