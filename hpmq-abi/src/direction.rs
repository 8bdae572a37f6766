//! Which way a message travels when a function sees it.

use crate::DecodeError;

/// Where a message is travelling when a function sees it.
///
/// The one direction type of the function boundary: hpmq-sdk and hpmq-host re-export it, and the host's
/// TOML configuration reads it by its [`Direction::as_str`] name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Device → broker publishes, before routing.
    Upstream,
    /// Broker → subscriber (or bridge) deliveries, after routing.
    Downstream,
}

impl Direction {
    /// The byte this direction is encoded as.
    pub fn to_byte(self) -> u8 {
        match self {
            Direction::Upstream => 0,
            Direction::Downstream => 1,
        }
    }

    /// Parses an encoded direction.
    pub fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            0 => Ok(Direction::Upstream),
            1 => Ok(Direction::Downstream),
            other => Err(DecodeError::BadDirection(other)),
        }
    }

    /// `"upstream"` or `"downstream"`, as the seed-style `context` map and the host configuration write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        }
    }

    /// Parses [`Direction::as_str`]'s names; anything else is `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "upstream" => Some(Direction::Upstream),
            "downstream" => Some(Direction::Downstream),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_names_round_trip() {
        for d in [Direction::Upstream, Direction::Downstream] {
            assert_eq!(Direction::from_byte(d.to_byte()), Ok(d));
            assert_eq!(Direction::from_name(d.as_str()), Some(d));
        }
        assert_eq!(Direction::from_byte(2), Err(DecodeError::BadDirection(2)));
        assert_eq!(Direction::from_name("Upstream"), None);
    }
}
