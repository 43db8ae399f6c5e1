//! A body that never returns compiles without an "unreachable" warning on the macro's code.

#[tulipa::main]
async fn main() {
    loop {
        tulipa::task::yield_now().await;
    }
}
compile_error!("the body above compiles without a warning");
