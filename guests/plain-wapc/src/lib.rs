//! A plain waPC guest, written against `wapc-guest` only: registers in `wapc_init` like any waPC module,
//! echoes its input reversed and logs through `__console_log`. The host must run it unchanged. `echo` returns
//! its input as is: the cheapest waPC round trip, the baseline of the host's call benchmark.

use wapc_guest::prelude::*;

/// Called by every waPC host after instantiation.
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("reverse", reverse);
    register_function("ask_host", ask_host);
    register_function("echo", echo);
}

fn echo(msg: &[u8]) -> CallResult {
    Ok(msg.to_vec())
}

fn reverse(msg: &[u8]) -> CallResult {
    console_log("reverse called");
    Ok(msg.iter().rev().copied().collect())
}

/// Makes an arbitrary host call; the hpmq host answers unknown calls with an error the guest passes on.
fn ask_host(msg: &[u8]) -> CallResult {
    host_call("other", "ns", "op", msg)
}
