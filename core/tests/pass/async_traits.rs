//! `async fn` in traits (native) and through the `async_trait` crate: the whole await is timed.
use picometrics::picometrics;
use std::time::Duration;

trait Fetch {
    async fn fetch(&self, millis: u64) -> u64;
}

struct Native;

#[picometrics]
impl Fetch for Native {
    async fn fetch(&self, millis: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        millis
    }
}

#[async_trait::async_trait]
trait Store {
    async fn load(&self, millis: u64) -> Result<u64, String>;
}

struct Boxed;

// Above `#[async_trait]`, so the attribute sees the `async fn` and times the whole await.
#[picometrics]
#[async_trait::async_trait]
impl Store for Boxed {
    async fn load(&self, millis: u64) -> Result<u64, String> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        Err("missing".into())
    }
}

fn sum_of(out: &str, function: &str) -> f64 {
    let prefix = format!("function_calls_duration_seconds_sum{{function=\"{function}\",");
    out.lines().find(|l| l.starts_with(&prefix)).unwrap().rsplit(' ').next().unwrap().parse().unwrap()
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        assert_eq!(Native.fetch(20).await, 20);
        assert!(Boxed.load(20).await.is_err());
    });
    let mut out = String::new();
    picometrics::render_prometheus(&mut out).unwrap();
    // With `embassy-time` calls are timed by embassy's mock driver, which tokio's timers do not
    // advance.
    if cfg!(not(feature = "embassy-time")) {
        assert!(sum_of(&out, "<Native as Fetch>::fetch") >= 0.02, "{out}");
        assert!(sum_of(&out, "<Boxed as Store>::load") >= 0.02, "{out}");
    }
    assert!(out.lines().any(|l| l.starts_with("function_calls_total{function=\"<Boxed as Store>::load\"") && l.contains("result=\"error\"") && l.ends_with(" 1")));
}
