struct S;

#[picometrics::picometrics]
impl S {
    #[picometrics(objective)]
    fn m(&self) {}
}

fn main() {}
