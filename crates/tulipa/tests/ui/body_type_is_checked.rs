//! A body whose value is not the declared return type: the error is on the body's last expression.

#[tulipa::main]
async fn main() {
    5u8
}
