//! A complete, production-shaped MQTT broker composed from the hpmq crates: the `hpmq-broker` binary and the
//! [`broker`] library behind it, meant to be copied as the skeleton of your own broker.
//!
//! ```no_run
//! use hpmq_examples::broker::{Broker, Config};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_toml_str("[listener]\naddress = \"127.0.0.1:0\"")?;
//! let broker = Broker::start(config).await?;
//! println!("listening on {}", broker.local_addr());
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod alloc;
pub mod broker;
