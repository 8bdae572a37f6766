//! The names under which an hpmq-sdk guest exports its functions, besides waPC's own `__guest_call`.
//!
//! For each function `name` the guest exports a registration `{UPSTREAM|DOWNSTREAM|AUTHORIZE}_PREFIX{name}`
//! (no parameters, no result; the host runs it once per instance, and its name tells the host what the
//! function is) and a direct entry [`CALL_PREFIX`]`{name}`.
//!
//! The direct entry is the waPC call protocol entered at a per-function export instead of at
//! `__guest_call`: it takes the request length, fetches the request with `__guest_request`, answers with
//! `__guest_response` or `__guest_error` and returns 1 or 0, exactly like `__guest_call`; only the operation
//! name is implied by the export, so the host writes no operation name into the guest's memory (it passes 0
//! bytes for it) and the guest looks nothing up. Every function stays reachable through `__guest_call` as
//! well, so any waPC host can run an hpmq-sdk module.

/// Prefix of the registration export of an `#[upstream]` function.
pub const UPSTREAM_PREFIX: &str = "__hpmq_upstream_";

/// Prefix of the registration export of a `#[downstream]` function.
pub const DOWNSTREAM_PREFIX: &str = "__hpmq_downstream_";

/// Prefix of the registration export of an `#[authorize]` function.
pub const AUTHORIZE_PREFIX: &str = "__hpmq_authorize_";

/// Prefix of a function's direct entry: `(request_len: i32) -> i32`, 1 on success and 0 on error.
pub const CALL_PREFIX: &str = "__hpmq_call_";
