#[tulipa::main]
async fn main() {
    5u8
}
