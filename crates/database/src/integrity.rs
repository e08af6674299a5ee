//! Integrity checker (built by a helper; see issue 2 item 6).
