//! Bodies that return borrows of `self` or of arguments, and every kind of receiver.
use picometrics::picometrics;

struct Store {
    items: Vec<u32>,
    name: String,
}

#[picometrics]
impl Store {
    fn get_mut(&mut self, i: usize) -> &mut u32 {
        &mut self.items[i]
    }

    fn iter_mut(&mut self) -> std::slice::IterMut<'_, u32> {
        self.items.iter_mut()
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn into_items(self) -> Vec<u32> {
        self.items
    }

    fn boxed(self: Box<Self>) -> usize {
        self.items.len()
    }
}

#[picometrics]
fn first_word<'a>(text: &'a str, _other: &str) -> &'a str {
    text.split(' ').next().unwrap_or(text)
}

#[picometrics]
fn push_get(v: &mut Vec<u8>) -> &mut u8 {
    v.push(1);
    v.last_mut().unwrap()
}

fn main() {
    let mut s = Store { items: vec![1, 2], name: "s".into() };
    *s.get_mut(0) = 5;
    for v in s.iter_mut() {
        *v += 1;
    }
    assert_eq!(s.name(), "s");
    assert_eq!(first_word("hello world", "x"), "hello");
    let mut v = Vec::new();
    *push_get(&mut v) = 9;
    assert_eq!(v, [9]);
    assert_eq!(Box::new(Store { items: vec![1], name: String::new() }).boxed(), 1);
    assert_eq!(s.into_items(), [6, 3]);
    let mut out = String::new();
    picometrics::render_prometheus(&mut out).unwrap();
    for f in ["Store::get_mut", "Store::iter_mut", "Store::into_items", "Store::boxed", "first_word", "push_get"] {
        let line = format!("function_calls_total{{function=\"{f}\",");
        assert!(out.lines().any(|l| l.starts_with(&line) && l.contains("result=\"ok\"") && l.ends_with(" 1")), "{f}");
    }
}
