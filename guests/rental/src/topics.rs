//! The topics of the rental scenario, in one place.
//!
//! | topic | who publishes | what |
//! | --- | --- | --- |
//! | `device/{device_id}/status` | the device | its status; also copied to the renter |
//! | `rental/bind` | a phone | `{"phone_id":"BBB","device_id":"AAA"}`: rent the device |
//! | `rental/return` | a phone | same payload: end the rental |
//! | `phone/{phone_id}/bind-result` | the function | `{"device_id":"AAA","result":"bound"}` or `"refused"` with a `reason` |
//! | `phone/{phone_id}/return-result` | the function | `"returned"` or `"refused"` with a `reason` |
//! | `phone/{phone_id}/device-status` | the function | the rented device's status |
//! | `phone/{phone_id}/cmd` | the phone | a command for the rented device |
//! | `device/{device_id}/cmd` | the function | the renter's command |
//! | `device/{device_id}/rental` | the function | `{"state":"rented","phone_id":"BBB"}` or `{"state":"free"}` |

/// Where phones ask to rent a device.
pub const BIND: &str = "rental/bind";
/// Where phones give a device back.
pub const RETURN: &str = "rental/return";

/// `phone/{phone}/bind-result`
pub fn bind_result(phone: &str) -> String {
    format!("phone/{phone}/bind-result")
}

/// `phone/{phone}/return-result`
pub fn return_result(phone: &str) -> String {
    format!("phone/{phone}/return-result")
}

/// `phone/{phone}/device-status`
pub fn phone_status(phone: &str) -> String {
    format!("phone/{phone}/device-status")
}

/// `device/{device}/cmd`
pub fn device_cmd(device: &str) -> String {
    format!("device/{device}/cmd")
}

/// `device/{device}/rental`
pub fn device_rental(device: &str) -> String {
    format!("device/{device}/rental")
}

/// The device id of `device/{id}/status`, if `topic` is one (and the id is valid).
pub fn device_of_status(topic: &str) -> Option<&str> {
    middle_level(topic, "device/", "/status")
}

/// The phone id of `phone/{id}/cmd`, if `topic` is one (and the id is valid).
pub fn phone_of_cmd(topic: &str) -> Option<&str> {
    middle_level(topic, "phone/", "/cmd")
}

fn middle_level<'a>(topic: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    let id = topic.strip_prefix(prefix)?.strip_suffix(suffix)?;
    crate::logic::valid_id(id).then_some(id)
}
