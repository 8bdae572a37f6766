//! `hpmq-broker [--config PATH] [--listen ADDR]` runs the broker; `hpmq-broker hash-password <password>`
//! prints an argon2id hash for `[[auth.users]] password_hash`.
//!
//! Prints `hpmq-broker listening on <ip:port>` on stdout once bound; logs go to stderr (`RUST_LOG` filters).
//! Ctrl-C or SIGTERM shuts down gracefully (writing the `[persistence]` state file when one is configured);
//! SIGHUP reloads the function modules.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use hpmq_broker::{Broker, Config, auth};

mod pooled_alloc;

/// tokio's cache-line-aligned task cells and I/O registrations come from free lists of their own instead of
/// fragmenting glibc's heap between idle connections (see `pooled_alloc`).
#[global_allocator]
static ALLOC: pooled_alloc::PooledAligned = pooled_alloc::PooledAligned::new();

const USAGE: &str = "usage: hpmq-broker [--config PATH] [--listen ADDR]\n       hpmq-broker hash-password <password>";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("hash-password") {
        return match args.get(1) {
            Some(password) if args.len() == 2 => match auth::hash_password(password.as_bytes()) {
                Ok(hash) => {
                    println!("{hash}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("hpmq-broker: cannot hash: {e}");
                    ExitCode::FAILURE
                }
            },
            _ => {
                eprintln!("{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    let mut config_path = None;
    let mut listen: Option<SocketAddr> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match (arg.as_str(), it.next()) {
            ("--config", Some(path)) => config_path = Some(path.clone()),
            ("--listen", Some(addr)) => match addr.parse() {
                Ok(addr) => listen = Some(addr),
                Err(e) => {
                    eprintln!("hpmq-broker: --listen `{addr}`: {e}");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let config = match &config_path {
        Some(path) => Config::from_file(path),
        None => Ok(Config::default()),
    };
    let mut config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hpmq-broker: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(addr) = listen {
        config.listener.address = addr;
    }
    // The blocking pool runs password checks (argon2, CPU-bound by design), module loads and state-file
    // writes: more threads than cores do not make them faster. tokio's default (up to 512) grew to ~100
    // threads in a burst of 10,000 CONNECTs, whose stacks and malloc arenas stayed resident (about 0.7 KB
    // per connection of the burst in scripts/loadtest.py's idle row).
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads((2 * cores).max(4))
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hpmq-broker: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> ExitCode {
    let broker = match Broker::start(config).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("hpmq-broker: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "hpmq-broker listening on {}", broker.local_addr());
    let _ = stdout.flush();
    signals(&broker).await;
    tracing::info!("shutting down");
    broker.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for Ctrl-C or SIGTERM, reloading functions on each SIGHUP meanwhile.
#[cfg(unix)]
async fn signals(broker: &hpmq_broker::BrokerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
        tracing::warn!("cannot install signal handlers; only Ctrl-C stops the broker");
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading function modules");
                let _ = broker.reload_functions().await;
            }
        }
    }
}

#[cfg(not(unix))]
async fn signals(_broker: &hpmq_broker::BrokerHandle) {
    let _ = tokio::signal::ctrl_c().await;
}
