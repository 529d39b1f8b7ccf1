//! Every image format the issue names (PNG, JPEG, WebP, BMP, GIF), in mixed sizes and next to
//! files that are not images, in one zip: the images load (mixed sizes are resized, not an
//! error), the other files are listed as skipped with a reason, and the whole set embeds and
//! evaluates. The images are encoded here with the `image` crate's own encoders.

mod common;

use std::io::{Cursor, Write};

use downstream::data::Dataset;
use downstream::session::{EvalConfig, Session};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

const FORMATS: [(ImageFormat, &str); 5] = [
    (ImageFormat::Png, "png"),
    (ImageFormat::Jpeg, "jpg"),
    (ImageFormat::WebP, "webp"),
    (ImageFormat::Bmp, "bmp"),
    (ImageFormat::Gif, "gif"),
];

/// Sizes (width, height) far from the demo's 28×28, in both directions and aspect ratios.
const SIZES: [(u32, u32); 5] = [(8, 8), (28, 28), (40, 13), (100, 60), (3, 5)];

fn encoded(format: ImageFormat, (w, h): (u32, u32), shade: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        Rgb([shade, (x * 255 / w) as u8, (y * 255 / h) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn mixed_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (class, shade) in [("dark", 20u8), ("light", 235u8)] {
        for (i, ((format, ext), size)) in FORMATS.iter().zip(SIZES).enumerate() {
            zip.start_file(format!("{class}/{i:03}.{ext}"), opts)
                .unwrap();
            zip.write_all(&encoded(*format, size, shade)).unwrap();
        }
        zip.start_file(format!("{class}/notes.txt"), opts).unwrap();
        zip.write_all(b"not an image").unwrap();
    }
    zip.start_file("README.md", opts).unwrap();
    zip.write_all(b"# data").unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn every_format_in_mixed_sizes_loads_and_other_files_are_skipped() {
    let data = Dataset::from_zip(&mixed_zip(), "mixed.zip").unwrap();
    assert_eq!(data.classes, ["dark", "light"]);
    let counts: Vec<usize> = (0..2)
        .map(|c| data.items.iter().filter(|i| i.label == c).count())
        .collect();
    assert_eq!(counts, [5, 5]);
    let skipped: Vec<&str> = data.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        skipped,
        ["README.md", "dark/notes.txt", "light/notes.txt"],
        "{:?}",
        data.skipped
    );
    assert!(data.skipped.iter().all(|s| !s.reason.is_empty()));

    let mut session = Session::new();
    session
        .load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    session.set_data(data).unwrap();
    session.embed_all(4, |_, _| {}).unwrap();
    assert_eq!(session.embeddings().len(), 10 * 64);
    assert!(session.embeddings().iter().all(|v| v.is_finite()));
    let cfg = EvalConfig {
        test_fraction: 0.4,
        ..EvalConfig::default()
    };
    let report = session.evaluate(&cfg, |_, _| true).unwrap();
    assert_eq!(report.protocol.n_test, 4);
    assert_eq!(report.predictions.y_pred.len(), 4);
    assert_eq!((report.data.n, report.data.skipped.len()), (10, 3));
}
