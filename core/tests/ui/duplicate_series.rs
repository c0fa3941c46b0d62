struct A; struct B;
impl A { #[picometrics::picometrics] fn get(&self) -> u8 { 1 } }
impl B { #[picometrics::picometrics] fn get(&self) -> u8 { 2 } }
fn main() { A.get(); B.get(); }
