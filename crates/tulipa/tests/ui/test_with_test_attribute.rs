//! A plain `#[test]` next to `#[tulipa::test]`.

#[tulipa::test]
#[test]
async fn twice_a_test() {}

fn main() {}
