//! Monthly partition maintenance for `messages` and `api_logs` (built by a helper; see issue 2 item 5).
