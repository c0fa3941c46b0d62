#[derive(picometrics::ResultLabels)]
enum Failure {
    #[label(result = "maybe")]
    Flaky,
    #[label(outcome = "ok")]
    Other,
}

fn main() {}
