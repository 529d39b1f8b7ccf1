//! Text as a report file or a share link's payload: `Report::from_json`, then back to JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(report) = downstream::report::Report::from_json(text) {
        let _ = report.to_json();
    }
});
