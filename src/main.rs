//! The `okta365` binary: see the library's `cli` module.

/// mimalloc: planning a large tenant allocates millions of small strings and
/// maps, and frees them; the system allocator spends a third of the time on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    okta365::cli::main()
}
