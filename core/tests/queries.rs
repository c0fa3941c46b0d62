//! The queries the attribute writes (consts and rustdoc) equal the runtime rendering.

use picometrics::picometrics;
use picometrics::queries::Query;

#[picometrics]
fn create_user() {}

struct Store;

#[picometrics]
impl Store {
    fn put(&self) {}
}

#[test]
fn generated_consts_match_runtime_rendering() {
    let module = module_path!();
    for (consts, name) in [(CREATE_USER_QUERIES, "create_user"), (Store::PUT_QUERIES, "Store::put")] {
        for q in Query::ALL {
            let mut runtime = String::new();
            q.write(&mut runtime, name, module).unwrap();
            assert_eq!(consts.get(q), runtime, "{q:?}");
            assert!(!runtime.contains('$'));
        }
    }
    assert_eq!(
        CREATE_USER_QUERIES.error_ratio,
        r#"sum by (function, module) (rate(function_calls_total{function="create_user",module="queries",result="error"}[5m])) / sum by (function, module) (rate(function_calls_total{function="create_user",module="queries"}[5m]))"#
    );
}

#[test]
fn links_point_at_the_prometheus_graph() {
    let mut link = String::new();
    Query::RequestRate
        .write_link(&mut link, picometrics::queries::DEFAULT_PROMETHEUS_URL, "create_user", "queries")
        .unwrap();
    assert!(link.starts_with("http://localhost:9090/graph?g0.expr=sum%20by%20"));
    assert!(link.ends_with("&g0.tab=0"));
}
