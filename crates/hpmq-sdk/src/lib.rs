//! Guest SDK for hpmq message functions (work in progress: issue 5).
