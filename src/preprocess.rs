//! Image decoding and the resize / scale / layout that turn an image into model input.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::io::Cursor;

use image::imageops::FilterType;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest image width or height decoded (pixels).
pub const MAX_IMAGE_SIDE: u32 = 16_384;
/// Most memory the decoder may allocate for one image (256 MiB).
pub const MAX_IMAGE_ALLOC: u64 = 256 << 20;

/// Decodes an image under explicit limits, so a header claiming a huge size is refused
/// before any pixel buffer is allocated.
fn decode(bytes: &[u8]) -> std::result::Result<image::DynamicImage, String> {
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let (w, h) = reader.into_dimensions().map_err(|e| e.to_string())?;
    if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(format!(
            "it is {w}x{h} pixels (width x height); the limit is {MAX_IMAGE_SIDE} on each side"
        ));
    }
    if w == 0 || h == 0 {
        return Err(format!("it is {w}x{h} pixels (width x height)"));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_ALLOC);
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    reader.limits(limits);
    reader.decode().map_err(|e| e.to_string())
}

/// How pixels are laid out in the model's input tensor (batch first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// `[N, C, H, W]`
    #[serde(rename = "NCHW")]
    Nchw,
    /// `[N, H, W, C]`
    #[serde(rename = "NHWC")]
    Nhwc,
    /// `[N, H, W]`, one channel
    #[serde(rename = "NHW")]
    Nhw,
    /// `[N, C*H*W]`, channels last within a pixel
    #[serde(rename = "flat")]
    Flat,
}

/// What one image must become to feed the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSpec {
    pub layout: Layout,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// The preprocessing recorded in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    pub layout: Layout,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub color: String,
    pub resize: String,
    pub scale: String,
}

impl ImageSpec {
    /// Values per image.
    pub fn len(&self) -> usize {
        self.channels
            .saturating_mul(self.height)
            .saturating_mul(self.width)
    }

    /// Whether an image has no values (never, for a valid spec).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The preprocessing this spec applies, as recorded in reports.
    pub fn describe(&self) -> Preprocessing {
        Preprocessing {
            layout: self.layout,
            channels: self.channels,
            height: self.height,
            width: self.width,
            color: if self.channels == 1 { "grayscale (luma)" } else { "RGB" }.into(),
            resize: format!(
                "to exactly {}x{} (height x width) with a bilinear (triangle) filter when the size differs",
                self.height, self.width
            ),
            scale: "[0,1]: value = pixel / 255".into(),
        }
    }

    /// Decodes `bytes` (PNG, JPEG, WebP, BMP or GIF first frame) and writes the model
    /// input for one image into `out` (`self.len()` values).
    pub fn preprocess(&self, bytes: &[u8], path: &str, out: &mut [f32]) -> Result<()> {
        let bad = |detail: String| Error::BadImage {
            path: path.into(),
            detail,
        };
        if bytes.is_empty() {
            return Err(bad("the file is empty".into()));
        }
        if self.is_empty() || !matches!(self.channels, 1 | 3) {
            return Err(bad(format!(
                "the model input of {}x{}x{} (channels x height x width) cannot take images",
                self.channels, self.height, self.width
            )));
        }
        let img = decode(bytes).map_err(bad)?;
        let (h, w, c) = (self.height, self.width, self.channels);
        let (w32, h32) = (
            u32::try_from(w).map_err(|e| bad(e.to_string()))?,
            u32::try_from(h).map_err(|e| bad(e.to_string()))?,
        );
        let pixels: Vec<u8> = if c == 1 {
            let g = img.to_luma8();
            if g.dimensions() == (w32, h32) {
                g.into_raw()
            } else {
                image::imageops::resize(&g, w32, h32, FilterType::Triangle).into_raw()
            }
        } else {
            let rgb = img.to_rgb8();
            if rgb.dimensions() == (w32, h32) {
                rgb.into_raw()
            } else {
                image::imageops::resize(&rgb, w32, h32, FilterType::Triangle).into_raw()
            }
        };
        if out.len() != self.len() || pixels.len() != self.len() {
            return Err(bad(format!(
                "expected {} values, got {}",
                self.len(),
                pixels.len()
            )));
        }
        match self.layout {
            Layout::Nchw => {
                for (ch, plane) in out.chunks_exact_mut(h * w).enumerate() {
                    for (o, px) in plane.iter_mut().zip(pixels.chunks_exact(c)) {
                        *o = px.get(ch).map_or(0.0, |&v| f32::from(v) / 255.0);
                    }
                }
            }
            Layout::Nhwc | Layout::Nhw | Layout::Flat => {
                out.iter_mut()
                    .zip(&pixels)
                    .for_each(|(o, &v)| *o = f32::from(v) / 255.0);
            }
        }
        Ok(())
    }
}
