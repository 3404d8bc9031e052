//! The `okta365` binary: see the library's `cli` module.

fn main() -> std::process::ExitCode {
    okta365::cli::main()
}
