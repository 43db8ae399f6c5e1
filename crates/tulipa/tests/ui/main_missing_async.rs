#[tulipa::main]
fn main() {}
