#[tulipa::main(flavor = "x")]
async fn main() {}
