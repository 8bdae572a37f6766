//! Running WebAssembly functions on messages with `hpmq-host`, as a broker does: functions bound
//! *upstream* run on every PUBLISH before it is routed, functions bound *downstream* on every copy before it
//! is delivered. A binding ties a topic filter to a chain of functions; each function forwards, drops,
//! rewrites or multiplies the message, within the runtime's limits (deadline, memory, output size).
//!
//! The functions are `guests/functions`, written in Rust with `hpmq-sdk` and compiled to wasm32. Build them
//! once (`scripts/test` does too), then run the example:
//!
//! ```text
//! (cd guests && cargo build --release --target wasm32-unknown-unknown --target-dir ../target/guests)
//! cargo run -p hpmq-examples --example host_functions [-- path/to/functions.wasm]
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use hpmq_host::{Binding, Context, Direction, FailurePolicy, Limits, Message, ModuleInfo, Runtime};
use mqtt_codec::{TopicFilter, TopicName};

/// Where the guest build above puts the module.
pub fn default_module_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guests/wasm32-unknown-unknown/release/functions.wasm")
}

/// What the tour loaded, and what became of each message it sent through the functions.
pub struct Tour {
    /// The module's name and the functions it declares, each with its direction.
    pub module: ModuleInfo,
    /// One entry per message, in order.
    pub outcomes: Vec<Outcome>,
}

/// One message through the bound functions.
pub struct Outcome {
    /// Upstream (published) or downstream (delivered).
    pub direction: Direction,
    /// The message as it went in.
    pub input: Message,
    /// What to route (upstream) or deliver (downstream) instead: empty when the message was dropped.
    pub output: Vec<Message>,
    /// Calls that failed on the way; the binding's failure policy decided what happened to the message.
    pub errors: Vec<String>,
}

/// Loads the `functions` module from `wasm`, binds four of its functions and sends seven messages through
/// them.
pub fn run(wasm: &Path) -> Result<Tour, Box<dyn Error>> {
    // A runtime holds the wasmtime engine, the loaded modules and the bindings. Share it between a broker's
    // tasks in an `Arc`: calls from many threads run in parallel, each on its own instance.
    let runtime = Runtime::new(Limits::default())?;
    let module = runtime.load_module_file("functions", wasm)?; // loading again later hot-reloads it

    let filter = |f: &str| TopicFilter::try_from(f);
    // Upstream, `raw/#` runs a chain of two: `rewrite` moves the message to `site/...` at QoS 1 with the
    // sender's id as a user property, then `count` stamps it with a counter kept in the function's state.
    let chain = vec!["functions::rewrite".parse()?, "functions::count".parse()?];
    runtime.bind(Binding::new(Direction::Upstream, filter("raw/#")?, chain))?;
    // `fan_out` turns one comma-separated message into one message per value.
    let chain = vec!["functions::fan_out".parse()?];
    runtime.bind(Binding::new(Direction::Upstream, filter("batch/#")?, chain))?;
    // Downstream, `dedup` (written with the seed project's signature) drops a payload equal to the previous
    // one on its topic: the runtime remembers the last payload per topic and passes it in.
    let chain = vec!["functions::dedup".parse()?];
    runtime.bind(Binding::new(Direction::Downstream, filter("display/#")?, chain))?;
    // `reject` always fails. A failing call never takes the broker down: the binding's policy decides
    // whether the message goes on unchanged (`Pass`, the default) or is dropped (`Drop`, here).
    let chain = vec!["functions::reject".parse()?];
    let strict = Binding::new(Direction::Downstream, filter("alerts/#")?, chain).on_error(FailurePolicy::Drop);
    runtime.bind(strict)?;

    // Who the messages belong to: the publishing client upstream, the receiving client downstream.
    let ctx = Context::new("dev-7");
    let messages = [
        (Direction::Upstream, "raw/dev-7/temp", "21.5"),
        (Direction::Upstream, "raw/dev-7/temp", "21.7"),
        (Direction::Upstream, "batch/dev-7", "1,2,3"),
        (Direction::Downstream, "display/dev-7", "hello"),
        (Direction::Downstream, "display/dev-7", "hello"),
        (Direction::Downstream, "alerts/dev-7", "smoke"),
        (Direction::Upstream, "other/dev-7", "untouched"),
    ];
    let mut outcomes = Vec::with_capacity(messages.len());
    for (direction, topic, payload) in messages {
        let input = Message::new(TopicName::try_from(topic)?, payload);
        // Every binding of this direction whose filter matches runs, in the order they were added.
        let processed = runtime.process(direction, input.clone(), &ctx);
        outcomes.push(Outcome {
            direction,
            input,
            output: processed.messages,
            errors: processed.errors.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(Tour { module, outcomes })
}

/// `topic qos "payload" [key=value, ...]`, for printing.
pub fn show(m: &Message) -> String {
    let properties: Vec<String> = m.user_properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let payload = String::from_utf8_lossy(&m.payload);
    format!("{} q{} {payload:?} [{}]", m.topic, m.qos.as_u8(), properties.join(", "))
}

#[cfg_attr(test, allow(dead_code))] // the test includes this file and calls `run` itself
fn main() -> Result<(), Box<dyn Error>> {
    let wasm = std::env::args_os()
        .nth(1)
        .map_or_else(default_module_path, PathBuf::from);
    if !wasm.exists() {
        let build =
            "(cd guests && cargo build --release --target wasm32-unknown-unknown --target-dir ../target/guests)";
        return Err(format!("{} not found; build the guests first: {build}", wasm.display()).into());
    }
    let tour = run(&wasm)?;
    println!("module `{}` from {}:", tour.module.name, wasm.display());
    for (function, direction) in &tour.module.functions {
        println!("  {function} ({})", direction.as_str());
    }
    for outcome in &tour.outcomes {
        println!("\n{} {}", outcome.direction.as_str(), show(&outcome.input));
        if outcome.output.is_empty() {
            println!("  -> dropped");
        }
        for m in &outcome.output {
            println!("  -> {}", show(m));
        }
        for e in &outcome.errors {
            println!("  !! {e}");
        }
    }
    Ok(())
}
