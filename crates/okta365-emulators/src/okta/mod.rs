//! An emulator of the Okta Management API on loopback (work in progress).

use std::path::PathBuf;

/// Command-line options of `okta365 emulate okta`.
#[derive(Debug, Clone, clap::Args)]
pub struct CliArgs {
    /// A snapshot folder to seed the emulator from.
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Where to listen; loopback addresses only.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

/// Serves until interrupted, printing `listening on http://ADDR` first.
pub async fn run(args: CliArgs) -> Result<(), String> {
    Err(format!(
        "the okta emulator is not built yet (asked to serve {} on {})",
        args.snapshot.display(),
        args.listen
    ))
}
