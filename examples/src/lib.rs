//! Examples composed from the hpmq crates (work in progress: issue 6).
