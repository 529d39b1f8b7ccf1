//! Image decoding and the resize / scale / layout that turn an image into model input.

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

/// How an image is brought to the model's height and width.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeMode {
    /// To exactly height x width, ignoring the aspect ratio (the default).
    #[default]
    Stretch,
    /// Keeping the aspect ratio, to cover `height / crop_ratio` x `width / crop_ratio`
    /// (for a square input: the shorter side to `side / crop_ratio`), then the centre
    /// height x width (ImageNet style: crop ratio 224/256 = 0.875).
    Crop,
}

/// Which colour channels the model's channels hold, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColorOrder {
    /// Grayscale for a 1-channel input, RGB for a 3-channel one (the default).
    #[default]
    Auto,
    Rgb,
    Bgr,
    /// Luma (the `image` crate's, BT.709 weights), repeated in every channel.
    Gray,
}

/// How 8-bit pixel values become model input values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScalePreset {
    /// `pixel / 255` (the default).
    #[default]
    ZeroOne,
    /// `(pixel / 255 - 0.5) / 0.5`.
    MinusOneOne,
    /// `pixel`, unscaled.
    #[serde(rename = "zero-255")]
    ZeroTo255,
    /// `(pixel / 255 - mean) / std` with ImageNet's mean and std (RGB order).
    Imagenet,
    /// `(pixel / 255 - mean) / std` with the options' `mean` and `std`.
    Custom,
}

/// ImageNet channel means, RGB order (torchvision).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations, RGB order (torchvision).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Crop ratio of the ImageNet convention (224 of 256).
pub const DEFAULT_CROP_RATIO: f64 = 0.875;

/// The user's preprocessing choices; the defaults are the preprocessing Downstream has
/// always applied (stretch, grayscale or RGB by the input's channels, `[0,1]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PreprocessOptions {
    pub resize: ResizeMode,
    /// Fraction of the resized image kept by `crop`, in (0, 1].
    pub crop_ratio: f64,
    pub color: ColorOrder,
    pub scale: ScalePreset,
    /// Per-channel mean in the model's channel order (one value, or one per channel),
    /// subtracted from `pixel / 255`: read for `custom`, filled in for every preset when
    /// recorded in a report.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, as `mean`.
    pub std: Vec<f32>,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            resize: ResizeMode::Stretch,
            crop_ratio: DEFAULT_CROP_RATIO,
            color: ColorOrder::Auto,
            scale: ScalePreset::ZeroOne,
            mean: Vec::new(),
            std: Vec::new(),
        }
    }
}

/// Options checked against a model input: everything [`ImageSpec::preprocess_with`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The options as recorded: colour made concrete, mean and std filled in.
    pub options: PreprocessOptions,
    divisor: f32,
}

impl PreprocessOptions {
    /// Checks the options against `spec` and makes them concrete.
    pub fn resolve(&self, spec: &ImageSpec) -> Result<Resolved> {
        let c = spec.channels;
        let color = match (self.color, c) {
            (ColorOrder::Auto, 1) => ColorOrder::Gray,
            (ColorOrder::Auto, _) => ColorOrder::Rgb,
            (ColorOrder::Rgb | ColorOrder::Bgr, 1) => {
                return Err(Error::InvalidValue {
                    name: "channel order",
                    value: format!("{:?}", self.color).to_uppercase(),
                    why: "the model takes 1 channel (grayscale)".into(),
                })
            }
            (other, _) => other,
        };
        if !(self.crop_ratio > 0.1 && self.crop_ratio <= 1.0) {
            return Err(Error::InvalidValue {
                name: "crop ratio",
                value: self.crop_ratio.to_string(),
                why: "it must be in (0.1, 1], e.g. 0.875 for 224 of 256".into(),
            });
        }
        let per_channel = |name: &'static str, v: &[f32]| -> Result<Vec<f32>> {
            let bad = |why: String| Error::InvalidValue {
                name,
                value: format!("{v:?}"),
                why,
            };
            let out = match v.len() {
                1 => vec![v.first().copied().unwrap_or_default(); c],
                n if n == c => v.to_vec(),
                n => {
                    return Err(bad(format!(
                        "give 1 value or {c} (one per model channel), not {n}"
                    )))
                }
            };
            if out.iter().any(|x| !x.is_finite()) {
                return Err(bad("every value must be finite".into()));
            }
            if name == "std" && out.contains(&0.0) {
                return Err(bad("a standard deviation cannot be 0".into()));
            }
            Ok(out)
        };
        let (divisor, mean, std) = match self.scale {
            ScalePreset::ZeroOne => (255.0, vec![0.0; c], vec![1.0; c]),
            ScalePreset::MinusOneOne => (255.0, vec![0.5; c], vec![0.5; c]),
            ScalePreset::ZeroTo255 => (1.0, vec![0.0; c], vec![1.0; c]),
            ScalePreset::Imagenet => {
                if c != 3 {
                    return Err(Error::InvalidValue {
                        name: "scale",
                        value: "imagenet".into(),
                        why: format!(
                            "ImageNet's mean and std are for 3 channels; the model takes {c}"
                        ),
                    });
                }
                let order = |v: [f32; 3]| match color {
                    ColorOrder::Bgr => v.iter().rev().copied().collect(),
                    _ => v.to_vec(),
                };
                (255.0, order(IMAGENET_MEAN), order(IMAGENET_STD))
            }
            ScalePreset::Custom => (
                255.0,
                per_channel("mean", &self.mean)?,
                per_channel("std", &self.std)?,
            ),
        };
        Ok(Resolved {
            options: PreprocessOptions {
                resize: self.resize,
                crop_ratio: self.crop_ratio,
                color,
                scale: self.scale,
                mean,
                std,
            },
            divisor,
        })
    }
}

impl Resolved {
    /// The default options for `spec` (never fails).
    pub fn defaults(spec: &ImageSpec) -> Resolved {
        let c = spec.channels;
        Resolved {
            options: PreprocessOptions {
                color: if c == 1 {
                    ColorOrder::Gray
                } else {
                    ColorOrder::Rgb
                },
                mean: vec![0.0; c],
                std: vec![1.0; c],
                ..PreprocessOptions::default()
            },
            divisor: 255.0,
        }
    }
}

/// Resizes to `w` x `h` (bilinear, only when the size differs): stretched, or, with
/// `cover = Some((ch, cw))`, keeping the aspect ratio to cover `ch` x `cw` and then
/// cropping the centre (offsets rounded down).
fn fit<P>(
    img: image::ImageBuffer<P, Vec<u8>>,
    w: u32,
    h: u32,
    cover: Option<(usize, usize)>,
) -> std::result::Result<Vec<u8>, String>
where
    P: image::Pixel<Subpixel = u8> + 'static,
{
    let resize = |img: image::ImageBuffer<P, Vec<u8>>, nw: u32, nh: u32| {
        if img.dimensions() == (nw, nh) {
            img
        } else {
            image::imageops::resize(&img, nw, nh, FilterType::Triangle)
        }
    };
    let Some((ch, cw)) = cover else {
        return Ok(resize(img, w, h).into_raw());
    };
    let (iw, ih) = (f64::from(img.width()), f64::from(img.height()));
    let factor = (ch as f64 / ih).max(cw as f64 / iw);
    let nw = ((iw * factor).round() as u32).max(w);
    let nh = ((ih * factor).round() as u32).max(h);
    if u64::from(nw) * u64::from(nh) * 4 > MAX_IMAGE_ALLOC {
        return Err(format!(
            "resized to {nw}x{nh} for the centre crop it would pass the memory limit"
        ));
    }
    let img = resize(img, nw, nh);
    let crop = image::imageops::crop_imm(&img, (nw - w) / 2, (nh - h) / 2, w, h).to_image();
    Ok(crop.into_raw())
}

/// The size (height, width) a crop-mode resize covers: `floor(side / ratio)` each.
fn crop_cover(h: usize, w: usize, ratio: f64) -> (usize, usize) {
    let cover = |s: usize| ((s as f64 / ratio).floor() as usize).max(s);
    (cover(h), cover(w))
}

fn list(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(", "))
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
    /// The options that made it, concrete (absent in reports before they existed, and
    /// for precomputed embeddings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<PreprocessOptions>,
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

    /// The default preprocessing of this spec, as recorded in reports.
    pub fn describe(&self) -> Preprocessing {
        self.describe_with(&Resolved::defaults(self))
    }

    /// The preprocessing `pre` applies to this spec, as recorded in reports.
    pub fn describe_with(&self, pre: &Resolved) -> Preprocessing {
        let o = &pre.options;
        let (h, w) = (self.height, self.width);
        let color = match (o.color, self.channels) {
            (ColorOrder::Gray, 1) => "grayscale (luma)".to_string(),
            (ColorOrder::Gray, c) => format!("grayscale (luma) repeated in {c} channels"),
            (ColorOrder::Bgr, _) => "BGR".into(),
            _ => "RGB".into(),
        };
        let resize = match o.resize {
            ResizeMode::Stretch => format!(
                "to exactly {h}x{w} (height x width) with a bilinear (triangle) filter when the size differs"
            ),
            ResizeMode::Crop => {
                let (ch, cw) = crop_cover(h, w, o.crop_ratio);
                format!(
                    "keeping the aspect ratio to cover {ch}x{cw} (height x width; crop ratio {}) with a bilinear (triangle) filter when the size differs, then the centre {h}x{w}",
                    o.crop_ratio
                )
            }
        };
        let scale =
            match o.scale {
                ScalePreset::ZeroOne => "[0,1]: value = pixel / 255".to_string(),
                ScalePreset::MinusOneOne => "[-1,1]: value = (pixel / 255 - 0.5) / 0.5".into(),
                ScalePreset::ZeroTo255 => "[0,255]: value = pixel".into(),
                ScalePreset::Imagenet | ScalePreset::Custom => {
                    format!(
                "{}: value = (pixel / 255 - mean) / std, mean {}, std {} (model channel order)",
                if o.scale == ScalePreset::Imagenet { "ImageNet" } else { "custom" },
                list(&o.mean),
                list(&o.std)
            )
                }
            };
        Preprocessing {
            layout: self.layout,
            channels: self.channels,
            height: h,
            width: w,
            color,
            resize,
            scale,
            options: Some(o.clone()),
        }
    }

    /// Decodes `bytes` (PNG, JPEG, WebP, BMP or GIF first frame) and writes the model
    /// input for one image into `out` (`self.len()` values), with the default options.
    pub fn preprocess(&self, bytes: &[u8], path: &str, out: &mut [f32]) -> Result<()> {
        self.preprocess_with(&Resolved::defaults(self), bytes, path, out)
    }

    /// As [`ImageSpec::preprocess`], with the options `pre` (resolved for this spec).
    pub fn preprocess_with(
        &self,
        pre: &Resolved,
        bytes: &[u8],
        path: &str,
        out: &mut [f32],
    ) -> Result<()> {
        let bad = |detail: String| Error::BadImage {
            path: path.into(),
            detail,
        };
        if bytes.is_empty() {
            return Err(bad("the file is empty".into()));
        }
        let o = &pre.options;
        if self.is_empty()
            || !matches!(self.channels, 1 | 3)
            || o.mean.len() != self.channels
            || o.std.len() != self.channels
        {
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
        let cover = (o.resize == ResizeMode::Crop).then(|| crop_cover(h, w, o.crop_ratio));
        let (src_c, pixels): (usize, Vec<u8>) = if o.color == ColorOrder::Gray {
            (1, fit(img.to_luma8(), w32, h32, cover).map_err(bad)?)
        } else {
            (3, fit(img.to_rgb8(), w32, h32, cover).map_err(bad)?)
        };
        if out.len() != self.len() || pixels.len() != h * w * src_c {
            return Err(bad(format!(
                "expected {} values, got {}",
                self.len(),
                pixels.len() / src_c * c
            )));
        }
        // Model channel -> source channel, and its mean and std.
        let chans: Vec<(usize, f32, f32)> = (0..c)
            .zip(o.mean.iter().zip(&o.std))
            .map(|(ch, (&m, &s))| {
                let src = match o.color {
                    ColorOrder::Gray => 0,
                    ColorOrder::Bgr => 2 - ch,
                    _ => ch,
                };
                (src, m, s)
            })
            .collect();
        let d = pre.divisor;
        let value = |px: &[u8], &(src, m, s): &(usize, f32, f32)| {
            px.get(src).map_or(0.0, |&v| (f32::from(v) / d - m) / s)
        };
        match self.layout {
            Layout::Nchw => {
                for (plane, ch) in out.chunks_exact_mut(h * w).zip(&chans) {
                    for (o, px) in plane.iter_mut().zip(pixels.chunks_exact(src_c)) {
                        *o = value(px, ch);
                    }
                }
            }
            Layout::Nhwc | Layout::Nhw | Layout::Flat => {
                for (dst, px) in out.chunks_exact_mut(c).zip(pixels.chunks_exact(src_c)) {
                    for (o, ch) in dst.iter_mut().zip(&chans) {
                        *o = value(px, ch);
                    }
                }
            }
        }
        Ok(())
    }
}
