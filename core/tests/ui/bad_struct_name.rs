struct Sensor;

impl Sensor {
    #[picometrics::picometrics(struct_name = 3)]
    fn read(&self) {}
}

fn main() {}
