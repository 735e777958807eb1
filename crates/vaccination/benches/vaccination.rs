//! Due lists from the forecast engine for many children (no database): the cost of the child
//! page's evaluation. `cargo bench -p tianshan-vaccination`.
fn main() {}
