//! Image bytes through decode + preprocess. The first byte picks the spec (bits 0-1 the
//! layout, bit 2 RGB, bits 3-7 the side 1..=32); the rest is the image file.
//! `tests/fuzz_regressions.rs` reads crash inputs the same way.
#![no_main]

use downstream::preprocess::{ImageSpec, Layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, image)) = data.split_first() else {
        return;
    };
    let layout = [Layout::Nchw, Layout::Nhwc, Layout::Nhw, Layout::Flat][usize::from(sel & 3)];
    let channels = if layout != Layout::Nhw && sel & 4 != 0 {
        3
    } else {
        1
    };
    let side = 1 + usize::from(sel >> 3);
    let spec = ImageSpec {
        layout,
        channels,
        height: side,
        width: side,
    };
    let mut out = vec![0.0f32; spec.len()];
    let _ = spec.preprocess(image, "fuzz.png", &mut out);
});
