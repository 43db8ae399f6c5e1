#[tulipa::main]
async fn main() {
    loop {
        tulipa::task::yield_now().await;
    }
}
// The only error: no "unreachable expression" warning on the macro's code.
compile_error!("the body above compiles without a warning");
