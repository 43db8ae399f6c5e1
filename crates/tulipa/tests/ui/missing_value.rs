#[tulipa::main(flavor)]
async fn main() {}
