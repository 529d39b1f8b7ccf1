//! A 4x8 f32 matrix-multiply kernel for wasm SIMD, registered with tract-linalg as the
//! kernel for every f32 matrix product with more than one column or a symbolic number of
//! them (issue 6).
//!
//! tract-linalg 0.23.9 runs those products on its 8x8 wasm kernel: 16 `v128` accumulators,
//! which is more than V8 keeps in x86-64's 16 SIMD registers next to the operands, so it
//! spills in its inner loop. This kernel computes 4 rows x 8 columns: 8 accumulators, the 8
//! columns of B as two vector loads and each row of A as one `v128.load32_splat` per k step.
//! On one packed 128 x 576 by 576 x 56 product in headless Chromium it ran 26.8 GMAC/s
//! against the 8x8 kernel's 16.3 (a 6x8 and an 8x8 with splat loads ran 12.5 and 16.4).
//!
//! Results are bit-identical to tract's 8x8 kernel: each output is the same sequence of
//! multiply-adds over k (fused under `+relaxed-simd`, else a multiply then an add, as tract
//! does) followed by the same fused operations. [`self_check`] holds that in place on every
//! operation a kernel program can hold; the browser tests run it on all four wasm builds.
//! The bench CNN embeds 1.43x as fast with it in Chromium, MiniLM 1.56x (batch 1) and 2.07x
//! (batch 32) in node, with bit-identical embeddings.

use std::arch::wasm32::*;
use std::sync::LazyLock;

use tract_linalg::isa::{Arch, IsaSet};
use tract_linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, Query, Suitable};
use tract_linalg::mmm_routines::MmmRoutine;
use tract_linalg::mmm_tiers::MmmTier;
use tract_linalg::pack::Packing;
use tract_onnx::prelude::DatumType;

/// The kernel's name in tract's registry.
pub const NAME: &str = "downstream_wasm_f32_4x8";

#[cfg(target_feature = "relaxed-simd")]
macro_rules! madd {
    ($acc:expr, $a:expr, $b:expr) => {
        f32x4_relaxed_madd($a, $b, $acc)
    };
}

#[cfg(not(target_feature = "relaxed-simd"))]
macro_rules! madd {
    ($acc:expr, $a:expr, $b:expr) => {
        f32x4_add($acc, f32x4_mul($a, $b))
    };
}

/// `acc = op(v, acc)` (or `op(acc, v)` with `flip`) on every accumulator.
macro_rules! each {
    ($acc:ident, $op:path, $v:expr) => {{
        let s = $v;
        for a in $acc.iter_mut().flatten() {
            *a = $op(s, *a);
        }
    }};
    ($acc:ident, $op:path, $v:expr, flip) => {{
        let s = $v;
        for a in $acc.iter_mut().flatten() {
            *a = $op(*a, s);
        }
    }};
}

/// `row r = op(splat(p[r]), row r)` (or flipped) on both halves of each row.
macro_rules! per_row {
    ($acc:ident, $op:path, $p:expr) => {{
        for (r, [lo, hi]) in $acc.iter_mut().enumerate() {
            let s = f32x4_splat(*$p.add(r));
            *lo = $op(s, *lo);
            *hi = $op(s, *hi);
        }
    }};
    ($acc:ident, $op:path, $p:expr, flip) => {{
        for (r, [lo, hi]) in $acc.iter_mut().enumerate() {
            let s = f32x4_splat(*$p.add(r));
            *lo = $op(*lo, s);
            *hi = $op(*hi, s);
        }
    }};
}

/// `acc = op(cols, acc)` (or flipped): the first 4 columns on low halves, the rest on high.
macro_rules! per_col {
    ($acc:ident, $op:path, $p:expr) => {{
        let p = $p as *const v128;
        let (c0, c1) = (v128_load(p), v128_load(p.add(1)));
        for [lo, hi] in $acc.iter_mut() {
            *lo = $op(c0, *lo);
            *hi = $op(c1, *hi);
        }
    }};
    ($acc:ident, $op:path, $p:expr, flip) => {{
        let p = $p as *const v128;
        let (c0, c1) = (v128_load(p), v128_load(p.add(1)));
        for [lo, hi] in $acc.iter_mut() {
            *lo = $op(*lo, c0);
            *hi = $op(*hi, c1);
        }
    }};
}

/// The 4x8 tile as 8 accumulators: row `r` is `acc[r]`, columns 0-3 and 4-7.
///
/// # Safety
/// `spec` is a kernel program from tract-linalg: its pointers are valid for a 4x8 tile.
unsafe fn kernel_f32_4x8(spec: &[FusedKerSpec<f32>]) -> isize {
    let mut acc = [[f32x4_splat(0.0); 2]; 4];
    for op in spec {
        // SAFETY: tract-linalg builds the program with pointers to packed panels of k x 4
        // and k x 8 values, row and column operands of 4 and 8 values, and tiles of 4 x 8.
        unsafe {
            match *op {
                FusedKerSpec::Done => break,
                FusedKerSpec::Clear => acc = [[f32x4_splat(0.0); 2]; 4],
                FusedKerSpec::LoadTile(_cols, rows) => {
                    let p = rows as *const v128;
                    for (i, a) in acc.iter_mut().flatten().enumerate() {
                        *a = *p.add(i);
                    }
                }
                FusedKerSpec::ScalarMin(a) => each!(acc, f32x4_min, f32x4_splat(a)),
                FusedKerSpec::ScalarMax(a) => each!(acc, f32x4_max, f32x4_splat(a)),
                FusedKerSpec::ScalarAdd(a) => each!(acc, f32x4_add, f32x4_splat(a)),
                FusedKerSpec::ScalarMul(a) => each!(acc, f32x4_mul, f32x4_splat(a)),
                FusedKerSpec::ScalarSub(a) => each!(acc, f32x4_sub, f32x4_splat(a)),
                FusedKerSpec::ScalarSubF(a) => each!(acc, f32x4_sub, f32x4_splat(a), flip),
                FusedKerSpec::LeakyRelu(alpha) => {
                    let s = f32x4_splat(alpha);
                    let zero = f32x4_splat(0.0);
                    for a in acc.iter_mut().flatten() {
                        let m = f32x4_gt(*a, zero);
                        *a = v128_bitselect(*a, f32x4_mul(s, *a), m);
                    }
                }
                FusedKerSpec::PerRowMin(p) => per_row!(acc, f32x4_min, p),
                FusedKerSpec::PerRowMax(p) => per_row!(acc, f32x4_max, p),
                FusedKerSpec::PerRowAdd(p) => per_row!(acc, f32x4_add, p),
                FusedKerSpec::PerRowMul(p) => per_row!(acc, f32x4_mul, p),
                FusedKerSpec::PerRowSub(p) => per_row!(acc, f32x4_sub, p),
                FusedKerSpec::PerRowSubF(p) => per_row!(acc, f32x4_sub, p, flip),
                FusedKerSpec::PerColMin(p) => per_col!(acc, f32x4_min, p),
                FusedKerSpec::PerColMax(p) => per_col!(acc, f32x4_max, p),
                FusedKerSpec::PerColAdd(p) => per_col!(acc, f32x4_add, p),
                FusedKerSpec::PerColMul(p) => per_col!(acc, f32x4_mul, p),
                FusedKerSpec::PerColSub(p) => per_col!(acc, f32x4_sub, p),
                FusedKerSpec::PerColSubF(p) => per_col!(acc, f32x4_sub, p, flip),
                FusedKerSpec::QScale(shift, rp, mult) => {
                    let scale = tract_linalg::Scaler::from_fuse_params(shift, rp, mult).scale;
                    each!(acc, f32x4_mul, f32x4_splat(scale))
                }
                FusedKerSpec::RoundingShiftRight(shift, _rp) => {
                    each!(acc, f32x4_mul, f32x4_splat(2f32.powi(-(shift as i32))))
                }
                FusedKerSpec::ShiftLeft(shift) => {
                    each!(acc, f32x4_mul, f32x4_splat(2f32.powi(shift as i32)))
                }
                FusedKerSpec::AddUnicast(tile) => {
                    let mut ptr: *const u8 = tile.ptr;
                    for [lo, hi] in acc.iter_mut() {
                        let at = |c: isize| *(ptr.offset(tile.col_byte_stride * c) as *const f32);
                        *lo = f32x4_add(*lo, f32x4(at(0), at(1), at(2), at(3)));
                        *hi = f32x4_add(*hi, f32x4(at(4), at(5), at(6), at(7)));
                        ptr = ptr.offset(tile.row_byte_stride);
                    }
                }
                FusedKerSpec::AddRowColProducts(rows, cols) => {
                    let p = cols as *const v128;
                    let (c0, c1) = (v128_load(p), v128_load(p.add(1)));
                    for (r, [lo, hi]) in acc.iter_mut().enumerate() {
                        let s = f32x4_splat(*rows.add(r));
                        *lo = madd!(*lo, s, c0);
                        *hi = madd!(*hi, s, c1);
                    }
                }
                FusedKerSpec::Store(tile) => {
                    let mut ptr: *mut u8 = tile.ptr;
                    for &[lo, hi] in acc.iter() {
                        let lanes = [
                            f32x4_extract_lane::<0>(lo),
                            f32x4_extract_lane::<1>(lo),
                            f32x4_extract_lane::<2>(lo),
                            f32x4_extract_lane::<3>(lo),
                            f32x4_extract_lane::<0>(hi),
                            f32x4_extract_lane::<1>(hi),
                            f32x4_extract_lane::<2>(hi),
                            f32x4_extract_lane::<3>(hi),
                        ];
                        for (c, v) in lanes.into_iter().enumerate() {
                            *(ptr.offset(tile.col_byte_stride * c as isize) as *mut f32) = v;
                        }
                        ptr = ptr.offset(tile.row_byte_stride);
                    }
                }
                FusedKerSpec::AddMatMul {
                    k,
                    pa,
                    pb,
                    packing: _,
                } => {
                    // A: k x 4 values, B: k x 8 values. Named accumulators keep them in
                    // registers through the loop.
                    let (a, b) = (pa as *const f32, pb as *const v128);
                    let [[mut a0, mut a1], [mut a2, mut a3], [mut a4, mut a5], [mut a6, mut a7]] =
                        acc;
                    for i in 0..k {
                        let lo = v128_load(b.add(2 * i));
                        let hi = v128_load(b.add(2 * i + 1));
                        let ap = a.add(4 * i);
                        let s = v128_load32_splat(ap as *const u32);
                        a0 = madd!(a0, s, lo);
                        a1 = madd!(a1, s, hi);
                        let s = v128_load32_splat(ap.add(1) as *const u32);
                        a2 = madd!(a2, s, lo);
                        a3 = madd!(a3, s, hi);
                        let s = v128_load32_splat(ap.add(2) as *const u32);
                        a4 = madd!(a4, s, lo);
                        a5 = madd!(a5, s, hi);
                        let s = v128_load32_splat(ap.add(3) as *const u32);
                        a6 = madd!(a6, s, lo);
                        a7 = madd!(a7, s, hi);
                    }
                    acc = [[a0, a1], [a2, a3], [a4, a5], [a6, a7]];
                }
            }
        }
    }
    0
}

static KERNEL: LazyLock<DynKernel<4, 8, f32>> = LazyLock::new(|| {
    let mut k = DynKernel::<4, 8, f32>::new(
        NAME,
        kernel_f32_4x8,
        f32::packing(4).align(4),
        f32::packing(8).align(8),
    );
    k.arch = Some(Arch::Wasm32Simd128);
    // Preferred over every other wasm f32 kernel where tract ranks kernels by preference
    // instead of asking the tiers: a product whose number of columns is symbolic (the
    // token axis of a text encoder) runs on this kernel alone rather than tract's 8x8.
    k.with_boost(|| 1)
});

/// The kernel, as tract-linalg runs it.
pub fn kernel() -> Box<dyn MatMatMul> {
    KERNEL.mmm()
}

inventory::submit! {
    MmmRoutine { make: kernel }
}

/// Every f32 product tract's own wasm tier sends to its 8x8 kernel (more than one column,
/// or an unknown number) comes here; matrix-vector products stay with tract's kernels.
fn preferred(
    _isa: &IsaSet,
    dt: DatumType,
    query: &Query,
    _suitable: &[Suitable],
) -> Option<&'static str> {
    match (dt, query.n) {
        (DatumType::F32, Some(1)) => None,
        (DatumType::F32, _) => Some(NAME),
        _ => None,
    }
}

inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        // Above tract's own wasm tier (precedence 1).
        precedence: 2,
        name: "downstream-wasm-4x8",
        applies: |_| true,
        preferred,
    }
}

/// One kernel operation the self-check runs after a product, built from pointers into its
/// operands for the rows `r0..r0 + rows` of the tile.
type MakeOp = fn(&Operands, usize) -> FusedKerSpec<f32>;

/// Operands of one self-check program: a product of `k` steps, then one fused operation.
struct Operands {
    k: usize,
    /// A as k x 8 (both kernels' rows), and as two k x 4 panels (rows 0-3, 4-7).
    a8: Vec<f32>,
    a4: [Vec<f32>; 2],
    b: Vec<f32>,
    /// 8 row values, 8 column values, an 8 x 8 tile (row-major) and a saved tile per kernel.
    rows: Vec<f32>,
    cols: Vec<f32>,
    tile: Vec<f32>,
}

impl Operands {
    /// The row values from row `r` on.
    fn row(&self, r: usize) -> *const f32 {
        self.rows.as_ptr().wrapping_add(r)
    }
}

fn store_ker(ptr: *mut f32) -> tract_linalg::mmm::OutputStoreKer {
    tract_linalg::mmm::OutputStoreKer {
        ptr: ptr as *mut u8,
        row_byte_stride: 8 * 4,
        col_byte_stride: 4,
        item_size: 4,
    }
}

/// The operations checked, by name. LoadTile replaces the product's start.
fn ops() -> Vec<(&'static str, MakeOp)> {
    use tract_linalg::mmm::RoundingPolicy;
    vec![
        ("none", |_, _| FusedKerSpec::Done),
        ("ScalarMin", |_, _| FusedKerSpec::ScalarMin(0.25)),
        ("ScalarMax", |_, _| FusedKerSpec::ScalarMax(0.0)),
        ("ScalarAdd", |_, _| FusedKerSpec::ScalarAdd(0.5)),
        ("ScalarMul", |_, _| FusedKerSpec::ScalarMul(-1.5)),
        ("ScalarSub", |_, _| FusedKerSpec::ScalarSub(0.75)),
        ("ScalarSubF", |_, _| FusedKerSpec::ScalarSubF(0.75)),
        ("LeakyRelu", |_, _| FusedKerSpec::LeakyRelu(0.1)),
        ("PerRowMin", |o, r| FusedKerSpec::PerRowMin(o.row(r))),
        ("PerRowMax", |o, r| FusedKerSpec::PerRowMax(o.row(r))),
        ("PerRowAdd", |o, r| FusedKerSpec::PerRowAdd(o.row(r))),
        ("PerRowMul", |o, r| FusedKerSpec::PerRowMul(o.row(r))),
        ("PerRowSub", |o, r| FusedKerSpec::PerRowSub(o.row(r))),
        ("PerRowSubF", |o, r| FusedKerSpec::PerRowSubF(o.row(r))),
        ("PerColMin", |o, _| FusedKerSpec::PerColMin(o.cols.as_ptr())),
        ("PerColMax", |o, _| FusedKerSpec::PerColMax(o.cols.as_ptr())),
        ("PerColAdd", |o, _| FusedKerSpec::PerColAdd(o.cols.as_ptr())),
        ("PerColMul", |o, _| FusedKerSpec::PerColMul(o.cols.as_ptr())),
        ("PerColSub", |o, _| FusedKerSpec::PerColSub(o.cols.as_ptr())),
        ("PerColSubF", |o, _| {
            FusedKerSpec::PerColSubF(o.cols.as_ptr())
        }),
        ("QScale", |_, _| {
            FusedKerSpec::QScale(2, RoundingPolicy::Even, 1 << 30)
        }),
        ("RoundingShiftRight", |_, _| {
            FusedKerSpec::RoundingShiftRight(3, RoundingPolicy::Even)
        }),
        ("ShiftLeft", |_, _| FusedKerSpec::ShiftLeft(2)),
        ("AddUnicast", |o, r| {
            FusedKerSpec::AddUnicast(store_ker(o.tile.as_ptr().wrapping_add(8 * r) as *mut f32))
        }),
        ("AddRowColProducts", |o, r| {
            FusedKerSpec::AddRowColProducts(o.row(r), o.cols.as_ptr())
        }),
        ("LoadTile", |o, r| {
            FusedKerSpec::LoadTile(o.cols.as_ptr(), o.tile.as_ptr().wrapping_add(8 * r))
        }),
    ]
}

/// Runs one program (`first`, then the product, then `op`, then a store into `out`, whose
/// rows are 8 values apart) on `kernel`.
///
/// # Safety
/// The pointers in `first`, `op` and the panels must be valid for `kernel`'s tile.
unsafe fn run(
    kernel: unsafe fn(&[FusedKerSpec<f32>]) -> isize,
    first: FusedKerSpec<f32>,
    k: usize,
    pa: *const f32,
    pb: *const f32,
    op: FusedKerSpec<f32>,
    out: *mut f32,
) {
    let spec = [
        first,
        FusedKerSpec::AddMatMul {
            k,
            pa: pa as *const u8,
            pb: pb as *const u8,
            packing: 0,
        },
        op,
        FusedKerSpec::Store(store_ker(out)),
        FusedKerSpec::Done,
    ];
    // `Done` as the operation ends the program before the store: skip it.
    let spec: Vec<FusedKerSpec<f32>> = spec
        .into_iter()
        .enumerate()
        .filter(|(i, s)| *i != 2 || !matches!(s, FusedKerSpec::Done))
        .map(|(_, s)| s)
        .collect();
    // SAFETY: as this function's contract.
    unsafe { kernel(&spec) };
}

/// Runs this kernel and tract-linalg's 8x8 wasm kernel on the same products (k of 1, 7 and
/// 64 steps, pseudo-random values with negatives, zeros and a NaN-free spread), each followed
/// by every operation a kernel program can hold, and returns how many programs it compared,
/// or the first whose 8 x 8 results differ in any bit. Also checks that tract's dispatch
/// picks this kernel for an f32 product, and keeps it alone for one with a symbolic number
/// of columns.
pub fn self_check() -> Result<usize, String> {
    let dispatch = tract_linalg::mmm::MmmDispatch::native();
    let picked = dispatch
        .pick(&Query::plain(DatumType::F32, Some(64), Some(64), Some(49)))
        .map(|(m, _, _)| m.name().to_string());
    if picked.as_deref() != Some(NAME) {
        return Err(format!(
            "tract picks {picked:?} for an f32 product, not {NAME}"
        ));
    }
    // A symbolic number of columns: tract-core's einsum keeps the most preferred kernels.
    let mut symbolic = dispatch.suitable(&Query::plain(DatumType::F32, None, None, None));
    tract_linalg::mmm::retain_best(&mut symbolic);
    let kept: Vec<&str> = symbolic.iter().map(|(m, _, _)| m.name()).collect();
    if kept != [NAME] {
        return Err(format!(
            "for a symbolic number of columns tract keeps {kept:?}, not {NAME}"
        ));
    }
    let tract_8x8 = tract_linalg::wasm::wasm_f32_8x8.kernel;
    let mut seed = 0x2545_f491_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let v = (seed % 2001) as f32 / 1000.0 - 1.0;
        if seed % 17 == 0 {
            0.0
        } else {
            v * (1 + seed % 5) as f32
        }
    };
    let mut checked = 0;
    for k in [1usize, 7, 64] {
        let a8: Vec<f32> = (0..8 * k).map(|_| next()).collect();
        let half = |h: usize| -> Vec<f32> {
            a8.chunks_exact(8)
                .flat_map(|row| row.iter().skip(4 * h).take(4).copied())
                .collect()
        };
        let o = Operands {
            k,
            a4: [half(0), half(1)],
            b: (0..8 * k).map(|_| next()).collect(),
            rows: (0..8).map(|_| next()).collect(),
            cols: (0..8).map(|_| next()).collect(),
            tile: (0..64).map(|_| next()).collect(),
            a8,
        };
        for (name, make) in ops() {
            let start = |r: usize| {
                if name == "LoadTile" {
                    make(&o, r)
                } else {
                    FusedKerSpec::Clear
                }
            };
            let op = |r: usize| {
                if name == "LoadTile" {
                    FusedKerSpec::Done
                } else {
                    make(&o, r)
                }
            };
            let mut theirs = vec![0f32; 64];
            let mut ours = vec![0f32; 64];
            // SAFETY: panels of k x 8 and k x 4 values, operands of 8 values, tiles of 64.
            unsafe {
                run(
                    tract_8x8,
                    start(0),
                    o.k,
                    o.a8.as_ptr(),
                    o.b.as_ptr(),
                    op(0),
                    theirs.as_mut_ptr(),
                );
                for (h, a4) in o.a4.iter().enumerate() {
                    run(
                        kernel_f32_4x8,
                        start(4 * h),
                        o.k,
                        a4.as_ptr(),
                        o.b.as_ptr(),
                        op(4 * h),
                        ours.as_mut_ptr().wrapping_add(32 * h),
                    );
                }
            }
            let mut differ = theirs.iter().zip(&ours).enumerate();
            if let Some((i, (t, o))) = differ.find(|(_, (t, o))| t.to_bits() != o.to_bits()) {
                return Err(format!(
                    "k {k}, {name}: row {} column {}: tract's 8x8 gives {t}, the 4x8 kernel {o}",
                    i / 8,
                    i % 8,
                ));
            }
            checked += 1;
        }
    }
    Ok(checked)
}
