//! Names of functions: `module::function`.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A function inside a loaded module, written `module::function`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionRef {
    /// The name the module was loaded under.
    pub module: String,
    /// The function's waPC operation name (its Rust name for hpmq-sdk guests).
    pub function: String,
}

impl FunctionRef {
    /// Names `function` in `module`.
    pub fn new(module: impl Into<String>, function: impl Into<String>) -> Self {
        FunctionRef {
            module: module.into(),
            function: function.into(),
        }
    }
}

impl FromStr for FunctionRef {
    type Err = Error;

    /// Parses `module::function`; both parts must be non-empty.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.split_once("::") {
            Some((m, f)) if !m.is_empty() && !f.is_empty() && !f.contains("::") => Ok(FunctionRef::new(m, f)),
            _ => Err(Error::Config(format!("`{s}` is not of the form `module::function`"))),
        }
    }
}

impl fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.module, self.function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_module_and_function() {
        let r: FunctionRef = "filters::dedup".parse().unwrap();
        assert_eq!(r, FunctionRef::new("filters", "dedup"));
        assert_eq!(r.to_string(), "filters::dedup");
        for bad in ["dedup", "::dedup", "filters::", "a::b::c"] {
            assert!(bad.parse::<FunctionRef>().is_err(), "{bad}");
        }
    }
}
