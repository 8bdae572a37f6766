// Shared by tagger-v1 and tagger-v2: the same function in two builds, for the hot-reload tests.

/// Tags every message with the module version, after burning a little time so calls overlap a reload.
#[hpmq::upstream]
pub fn tag(msg: &hpmq::Message, _ctx: &hpmq::Context) -> hpmq::anyhow::Result<hpmq::Action> {
    let mut x = 0u64;
    for i in 0..2000u64 {
        x = std::hint::black_box(x ^ i);
    }
    let _ = x;
    Ok(hpmq::Action::publish(msg.clone().with_user_property("version", VERSION)))
}
