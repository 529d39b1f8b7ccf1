//! Image decoding and the resize / scale / layout that turn an image into model input.

use image::imageops::FilterType;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
        self.channels * self.height * self.width
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
        let img = image::load_from_memory(bytes).map_err(|e| bad(e.to_string()))?;
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
                for (i, px) in pixels.chunks_exact(c).enumerate() {
                    for (ch, &v) in px.iter().enumerate() {
                        out[ch * h * w + i] = f32::from(v) / 255.0;
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
