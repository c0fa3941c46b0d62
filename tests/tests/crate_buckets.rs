//! One default of buckets per crate: `tests/fixtures/hot-path-crate` sets
//! `PICOMETRICS_BUCKETS=hot_path` in its build script, so every function of it that names no
//! `buckets = …` gets `buckets::HOT_PATH`; `tests/fixtures/plain-crate`, built in the same run,
//! and this crate keep autometrics' defaults. A hot-path function's percentiles then read in
//! nanoseconds, inside their bucket, where the defaults could only say "< 5 ms".

use picometrics::buckets::{DEFAULT, HOT_PATH};
use picometrics::registry::find;
use picometrics::report::Quantile;

#[picometrics::picometrics]
fn here() {}

#[test]
fn the_crate_default_applies_to_its_functions_and_no_other_crate() {
    // Used, so the linker keeps both crates (and their registrations).
    picometrics_fixture_plain::handle();
    picometrics_fixture_hot_path::flush();
    let bounds = |function, module| find(function, module).unwrap_or_else(|| panic!("{function}")).bounds;
    assert_eq!(bounds("parse_header", "picometrics_fixture_hot_path"), HOT_PATH);
    assert_eq!(bounds("Codec::checksum", "picometrics_fixture_hot_path"), HOT_PATH, "methods too");
    assert_eq!(
        bounds("flush", "picometrics_fixture_hot_path"),
        [1_000_000, 1_000_000_000],
        "buckets = … wins"
    );
    assert_eq!(bounds("handle", "picometrics_fixture_plain"), DEFAULT, "another crate of the same build");
    assert_eq!(bounds("here", module_path!()), DEFAULT);

    // Under the hot-path bounds a function of nanoseconds reads sub-µs, within its bucket
    // (under the defaults it could only read "< 5 ms").
    for _ in 0..1000 {
        std::hint::black_box(picometrics_fixture_hot_path::parse_header(std::hint::black_box(b"host: x")));
    }
    let f = find("parse_header", "picometrics_fixture_hot_path").unwrap();
    let p50 = f.snapshot().histogram.quantile(f.bounds, 0.5).unwrap();
    let (_, upper) = p50.range();
    assert!(upper.is_some_and(|u| u <= 1_000), "a p50 of nanoseconds within a bucket ≤ 1 µs: {p50:?}");
    if let Quantile::Between { lower, upper, estimate } = p50 {
        assert!((lower as f64..=upper as f64).contains(&estimate));
    }
}

/// A value that is no preset and no list of nanoseconds fails the crate's build, naming the
/// variable and what it may be; the value is an input of the crate (`option_env!`), so cargo
/// rebuilds the crate when it changes — this build sees it although the crate was built
/// without it moments ago.
#[test]
fn a_bad_value_is_a_compile_error_naming_it() {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "picometrics-fixture-plain"])
        .current_dir(picometrics_integration_tests::root())
        .env("PICOMETRICS_BUCKETS", "fast")
        .output()
        .expect("cargo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(r#"PICOMETRICS_BUCKETS="fast" is neither `hot_path`, `firmware`, `default` nor"#),
        "{stderr}"
    );
}

/// Build facts: `tests/fixtures/plain-crate`'s build script calls `build_info::git()`, so its
/// functions carry this checkout's commit and branch; `hot-path-crate` sets autometrics'
/// variables (`AUTOMETRICS_SERVICE_NAME`, `AUTOMETRICS_COMMIT`), which picometrics reads when its
/// own are not set.
#[test]
fn build_facts_come_from_git_and_from_autometrics_variables() {
    picometrics_fixture_plain::handle();
    picometrics_fixture_hot_path::flush();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(picometrics_integration_tests::root())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let plain = find("handle", "picometrics_fixture_plain").unwrap().build;
    assert_eq!(plain.commit, git(&["rev-parse", "HEAD"]), "the checkout's commit");
    assert_eq!(plain.branch, git(&["rev-parse", "--abbrev-ref", "HEAD"]));
    assert_eq!(plain.commit.len(), 40);
    let hot = find("flush", "picometrics_fixture_hot_path").unwrap().build;
    assert_eq!((hot.service_name, hot.commit), ("hot-service", "0123abc"));
    // Outside a checkout git has nothing to say, and the build script sets nothing.
    let outside = std::env::temp_dir().join(format!("picometrics-no-git-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let facts = picometrics::build_info::git_facts(&outside);
    let _ = std::fs::remove_dir_all(&outside);
    assert!(facts.is_empty(), "{facts:?}");
}
