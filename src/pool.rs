//! A 2x2, stride-2 f32 max pool for NCHW plans, swapped in for tract's `OptMaxPool`.
//!
//! tract 0.23.9 pools a 2x2 window with stride 2 through a scalar loop of `f32::max`,
//! which on wasm32 is a call to `fmaxf` (tract-core is built at opt-level "z" for size).
//! [`fast_pools`] replaces those nodes of an optimised plan with [`MaxPool2x2`], whose
//! inner loop is plain comparisons that inline (no libcall).
//!
//! Results are bit-identical to tract's: each output starts from `f32::MIN` and takes
//! the window's taps in tract's order (row by row, left to right) with `if acc < v { v }
//! else { acc }`, which is what `fmaxf(acc, v)` does when `acc` is not NaN. So a NaN tap
//! is ignored (a window of NaNs, like one of `-inf`s, gives `f32::MIN`), and between
//! `-0.0` and `+0.0` the first one met is kept. Taps falling in the padding are skipped.
//! (onnxruntime differs where tract does: its window of `-inf`s gives `-inf`, a NaN tap
//! gives NaN.) Pools whose output is empty give an empty tensor; tract's 2x2 path panics
//! on them.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{OptMaxPool, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Max over 2x2 windows with stride 2 of a `[n, c, h, w]` f32 tensor, giving
/// `[n, c, oh, ow]`; the window of output `(oy, ox)` starts at input row `2 oy - pad_top`
/// and column `2 ox - pad_left`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxPool2x2 {
    /// Input shape `[n, c, h, w]`.
    pub input: [usize; 4],
    /// Output height and width.
    pub output_hw: [usize; 2],
    pub pad_top: usize,
    pub pad_left: usize,
}

impl MaxPool2x2 {
    /// The op for a tract pool with this spec on this input shape, when it is one this op
    /// computes exactly: f32, NCHW, kernel 2x2, strides 2x2, dilations 1, no index output.
    pub fn for_pool(
        spec: &PoolSpec,
        with_index_outputs: Option<DatumType>,
        input: &TypedFact,
    ) -> Option<MaxPool2x2> {
        if input.datum_type != f32::datum_type()
            || with_index_outputs.is_some()
            || spec.data_format != DataFormat::NCHW
            || spec.kernel_shape[..] != [2, 2]
            || spec.strides()[..] != [2, 2]
            || spec.dilations()[..] != [1, 1]
            || spec.input_channels != spec.output_channels
        {
            return None;
        }
        let shape = input.shape.as_concrete()?;
        let &[n, c, h, w] = shape else {
            return None;
        };
        if c != spec.input_channels {
            return None;
        }
        let padded = spec.computed_padding(&[h, w]);
        let [ph, pw] = padded.as_slice() else {
            return None;
        };
        Some(MaxPool2x2 {
            input: [n, c, h, w],
            output_hw: [ph.convoluted, pw.convoluted],
            pad_top: ph.pad_before,
            pad_left: pw.pad_before,
        })
    }

    fn output_shape(&self) -> [usize; 4] {
        let [n, c, _, _] = self.input;
        let [oh, ow] = self.output_hw;
        [n, c, oh, ow]
    }
}

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "MaxPool2x2".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "input {:?}, output {:?}, pad top {} left {}",
            self.input, self.output_hw, self.pad_top, self.pad_left
        )])
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }

    /// Its input is an f32 tensor of concrete shape: no symbols to bind. (The default,
    /// copied into this crate for this op, is 2 KB of wasm.)
    fn required_bound_symbols(&self, _inputs: &[&TypedFact]) -> TVec<Symbol> {
        tvec!()
    }
}

impl EvalOp for MaxPool2x2 {
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(EvalOp::eval(
            self,
            &EvalContext::out_of_plan(),
            inputs,
        )?))
    }

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let [input] = inputs.as_slice() else {
            bail!("MaxPool2x2 takes one input, got {}", inputs.len());
        };
        ensure!(
            input.datum_type() == f32::datum_type() && input.shape() == self.input,
            "MaxPool2x2 built for f32 {:?}, got {:?} {:?}",
            self.input,
            input.datum_type(),
            input.shape()
        );
        let mut output = Tensor::zero::<f32>(&self.output_shape())?;
        {
            let src = input.try_as_plain_ram()?;
            let mut dst = output.try_as_plain_ram_mut()?;
            self.run(src.as_slice::<f32>()?, dst.as_slice_mut::<f32>()?);
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1, "MaxPool2x2 takes one input");
        Ok(tvec!(f32::fact(self.output_shape())))
    }

    /// The op is made for concrete shapes, after every symbol is set; [`fast_pools`] runs
    /// on optimised plans only. (The default wires a clone of the op and would add 15 KB
    /// of wasm, a copy of tract's `wire_node`, for a call that never happens.)
    fn set_symbols(
        &self,
        _source: &TypedModel,
        node: &TypedNode,
        _target: &mut TypedModel,
        _mapping: &HashMap<OutletId, OutletId>,
        _subs: &HashMap<Symbol, TDim>,
    ) -> TractResult<TVec<OutletId>> {
        bail!(
            "{}: MaxPool2x2 has concrete shapes; set symbols before fast_pools",
            node.name
        )
    }

    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
}

impl MaxPool2x2 {
    /// Pools `src` (`[n, c, h, w]`, row-major) into `dst` (`[n, c, oh, ow]`).
    fn run(&self, src: &[f32], dst: &mut [f32]) {
        let [_, _, h, w] = self.input;
        let [oh, ow] = self.output_hw;
        if h * w == 0 || oh * ow == 0 {
            dst.fill(f32::MIN);
            return;
        }
        for (plane, out) in src.chunks_exact(h * w).zip(dst.chunks_exact_mut(oh * ow)) {
            for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
                let top = (2 * oy) as isize - self.pad_top as isize;
                let rows = (row(plane, top, w), row(plane, top + 1, w));
                match rows {
                    (Some(a), Some(b)) => self.row_pair(a, b, out_row),
                    (Some(a), None) | (None, Some(a)) => self.row_single(a, out_row),
                    (None, None) => out_row.fill(f32::MIN),
                }
            }
        }
    }

    /// Outputs `[x0, x1)` have both window columns inside the row, the rest do not.
    fn interior(&self, w: usize, ow: usize) -> (usize, usize) {
        let x0 = self.pad_left.div_ceil(2).min(ow);
        let x1 = ((w + self.pad_left) / 2).min(ow).max(x0);
        (x0, x1)
    }

    fn row_pair(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        let (x0, x1) = self.interior(a.len(), out.len());
        let start = 2 * x0 - self.pad_left.min(2 * x0);
        let (head, rest) = out.split_at_mut(x0);
        let (mid, tail) = rest.split_at_mut(x1 - x0);
        if let (Some(a_mid), Some(b_mid)) = (a.get(start..), b.get(start..)) {
            pair_interior(a_mid, b_mid, mid);
        }
        let edges = head
            .iter_mut()
            .enumerate()
            .chain(tail.iter_mut().enumerate().map(|(i, o)| (x1 + i, o)));
        for (ox, o) in edges {
            *o = self.window_max(&[a, b], ox);
        }
    }

    fn row_single(&self, a: &[f32], out: &mut [f32]) {
        for (ox, o) in out.iter_mut().enumerate() {
            *o = self.window_max(&[a], ox);
        }
    }

    /// The window of output column `ox` over `rows`, tap by tap (row by row, left to
    /// right), skipping the taps that fall in the padding.
    fn window_max(&self, rows: &[&[f32]], ox: usize) -> f32 {
        let left = (2 * ox) as isize - self.pad_left as isize;
        let mut m = f32::MIN;
        for r in rows {
            for x in [left, left + 1] {
                if let Some(&v) = tap(r, x) {
                    m = max_of(m, v);
                }
            }
        }
        m
    }
}

fn row(plane: &[f32], y: isize, w: usize) -> Option<&[f32]> {
    let y = usize::try_from(y).ok()?;
    plane.get(y * w..(y + 1) * w)
}

fn tap(row: &[f32], x: isize) -> Option<&f32> {
    row.get(usize::try_from(x).ok()?)
}

/// `fmaxf(acc, v)` for an `acc` that is not NaN: `v` when it is larger, else `acc`.
#[inline(always)]
fn max_of(acc: f32, v: f32) -> f32 {
    if acc < v {
        v
    } else {
        acc
    }
}

/// Every output of `out` from two full windows of columns: `a` and `b` start at the first
/// window's left column and hold at least `2 * out.len()` values. Plain comparisons: a
/// simd128 version (two loads a row, even/odd shuffles, `f32x4.pmax`) measured the same in
/// wasm (median ratio 0.99 on a pool-only model), so it is not kept.
#[inline]
fn pair_interior(a: &[f32], b: &[f32], out: &mut [f32]) {
    let pairs = a.chunks_exact(2).zip(b.chunks_exact(2));
    for (o, (a, b)) in out.iter_mut().zip(pairs) {
        if let ([a0, a1], [b0, b1]) = (a, b) {
            *o = max_of(max_of(max_of(max_of(f32::MIN, *a0), *a1), *b0), *b1);
        }
    }
}

/// Swaps every `OptMaxPool` of `model` that [`MaxPool2x2`] computes exactly for one;
/// returns how many it swapped. The rest of the plan is unchanged.
pub fn fast_pools(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(pool) = node.op_as::<OptMaxPool>() else {
            continue;
        };
        let [input] = node.inputs.as_slice() else {
            continue;
        };
        let fact = model.outlet_fact(*input)?;
        let Some(op) = MaxPool2x2::for_pool(&pool.pool_spec, pool.with_index_outputs, fact) else {
            continue;
        };
        let out_fact = model.outlet_fact(OutletId::new(id, 0))?;
        if node.outputs.len() != 1 || out_fact.shape.as_concrete() != Some(&op.output_shape()[..]) {
            continue;
        }
        model.node_mut(id).op = Box::new(op);
        swapped += 1;
    }
    Ok(swapped)
}

#[cfg(test)]
mod tests {
    //! The reference is tract 0.23.9's own max pool (`MaxPool` optimised to `OptMaxPool`,
    //! what the plans ran before this op): outputs must be equal bit for bit. The CNN
    //! fixture's embeddings come from onnxruntime (tools/make_pool_fixture.py).

    use super::*;
    use rand::{Rng, SeedableRng};
    use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec};

    fn pool_model(
        shape: [usize; 4],
        format: DataFormat,
        kernel: [usize; 2],
        strides: [usize; 2],
        padding: PaddingSpec,
        dilations: Option<[usize; 2]>,
        index: Option<DatumType>,
    ) -> TypedModel {
        let mut model = TypedModel::default();
        let c = if format == DataFormat::NCHW {
            shape[1]
        } else {
            shape[3]
        };
        let src = model.add_source("x", f32::fact(shape)).unwrap();
        let spec = PoolSpec::new(
            format,
            tvec!(kernel[0], kernel[1]),
            padding,
            dilations.map(|d| tvec!(d[0], d[1])),
            Some(tvec!(strides[0], strides[1])),
            c,
            c,
        );
        let out = model
            .wire_node("pool", MaxPool::new(spec, index), &[src])
            .unwrap();
        model.select_output_outlets(&out).unwrap();
        model
    }

    fn nchw_2x2(shape: [usize; 4], padding: PaddingSpec) -> TypedModel {
        pool_model(shape, DataFormat::NCHW, [2, 2], [2, 2], padding, None, None)
    }

    fn run(model: TypedModel, input: &Tensor) -> Vec<Tensor> {
        let plan = model.into_runnable().unwrap();
        let out = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
        out.into_iter().map(|t| t.into_tensor()).collect()
    }

    fn bits(t: &Tensor) -> Vec<u32> {
        floats(t).iter().map(|v| v.to_bits()).collect()
    }

    fn floats(t: &Tensor) -> Vec<f32> {
        t.try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec()
    }

    /// tract's plan and the swapped plan: (swapped count, tract's plan, ours).
    fn plans(model: TypedModel) -> (usize, TypedModel, TypedModel) {
        let optimized = model.into_optimized().unwrap();
        assert!(optimized.nodes().iter().any(|n| n.op_is::<OptMaxPool>()));
        let mut swapped = optimized.clone();
        let count = fast_pools(&mut swapped).unwrap();
        (count, optimized, swapped)
    }

    /// Both plans run on one input: (swapped count, tract's outputs, ours).
    fn both(model: TypedModel, input: &Tensor) -> (usize, Vec<Tensor>, Vec<Tensor>) {
        let (count, tract, ours) = plans(model);
        (count, run(tract, input), run(ours, input))
    }

    fn random(shape: [usize; 4], seed: u64) -> Tensor {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let len = shape.iter().product();
        let data: Vec<f32> = (0..len).map(|_| rng.gen_range(-3.0f32..3.0)).collect();
        Tensor::from_shape(&shape, &data).unwrap()
    }

    fn paddings() -> Vec<(&'static str, PaddingSpec)> {
        vec![
            ("valid", PaddingSpec::Valid),
            (
                "explicit zero",
                PaddingSpec::Explicit(tvec!(0, 0), tvec!(0, 0)),
            ),
            (
                "onnx zero",
                PaddingSpec::ExplicitOnnxPool(tvec!(0, 0), tvec!(0, 0), false),
            ),
            (
                "onnx ceil",
                PaddingSpec::ExplicitOnnxPool(tvec!(0, 0), tvec!(0, 0), true),
            ),
            ("pad after", PaddingSpec::Explicit(tvec!(0, 0), tvec!(1, 1))),
            (
                "pad before",
                PaddingSpec::Explicit(tvec!(1, 0), tvec!(0, 1)),
            ),
            ("pad both", PaddingSpec::Explicit(tvec!(1, 1), tvec!(1, 1))),
            ("same upper", PaddingSpec::SameUpper),
            ("same lower", PaddingSpec::SameLower),
        ]
    }

    #[test]
    fn equals_tracts_max_pool_bit_for_bit_on_random_inputs() {
        let shapes = [
            [1, 1, 7, 9],
            [3, 5, 7, 9],
            [1, 16, 28, 28],
            [3, 16, 28, 28],
            [3, 5, 2, 2],
            [1, 5, 3, 1],
            [3, 1, 1, 1],
            [1, 16, 14, 13],
        ];
        let (mut cases, mut empty) = (0, 0);
        for (s, shape) in shapes.into_iter().enumerate() {
            for (name, padding) in paddings() {
                let input = random(shape, s as u64);
                let (count, tract, ours) = plans(nchw_2x2(shape, padding));
                assert_eq!(count, 1, "{shape:?} {name}");
                let ours = run(ours, &input);
                if ours[0].len() == 0 {
                    // tract 0.23.9 panics on an empty output (next test); ours is empty.
                    empty += 1;
                    continue;
                }
                let tract = run(tract, &input);
                assert_eq!(tract[0].shape(), ours[0].shape(), "{shape:?} {name}");
                assert_eq!(bits(&tract[0]), bits(&ours[0]), "{shape:?} {name}");
                cases += 1;
            }
        }
        assert_eq!((cases, empty), (68, 4));
    }

    /// A plane smaller than the window under a valid pool has no output rows: ours gives
    /// an empty tensor, where tract 0.23.9's 2x2 path panics ("chunk size must be
    /// non-zero"), which in wasm would trap the module.
    #[test]
    fn a_plane_smaller_than_the_window_gives_an_empty_output() {
        let input = random([3, 1, 1, 1], 1);
        let (count, tract, ours) = plans(nchw_2x2([3, 1, 1, 1], PaddingSpec::Valid));
        assert_eq!(count, 1);
        assert_eq!(run(ours, &input)[0].shape(), &[3, 1, 0, 0]);
        let plan = tract.into_runnable().unwrap();
        let run_tract = std::panic::AssertUnwindSafe(|| plan.run(tvec!(input.into_tvalue())));
        let tract = std::panic::catch_unwind(run_tract);
        assert!(
            tract.is_err(),
            "tract's own pool ran: compare with it instead"
        );
    }

    /// NaN taps are ignored, a window of NaN or -inf gives f32::MIN (tract starts from
    /// f32::MIN), +inf wins, and of two zeros the first met is kept: all as tract.
    #[test]
    fn nan_infinities_and_signed_zeros_as_tract() {
        let nan = f32::NAN;
        let (inf, ninf) = (f32::INFINITY, f32::NEG_INFINITY);
        #[rustfmt::skip]
        let windows: [[f32; 4]; 14] = [
            [nan, 1.0, 2.0, nan], [nan, nan, nan, nan], [ninf, ninf, ninf, ninf],
            [nan, ninf, nan, nan], [inf, nan, -1.0, 0.0], [-0.0, 0.0, -0.0, 0.0],
            [0.0, -0.0, 0.0, -0.0], [-0.0, -0.0, 0.0, -1.0], [-5.0, -0.0, nan, 0.0],
            [f32::MIN, nan, ninf, nan], [1.0, 1.0, 1.0, 1.0], [-2.0, -3.0, -1.5, -7.0],
            [-1.0, -0.0, 0.0, -2.0], [-1.0, 0.0, -0.0, -2.0],
        ];
        // 14 windows laid out as a 4 x 14 plane: 7 windows per row pair.
        let (h, w) = (4, 14);
        let mut data = vec![0.0f32; h * w];
        for (i, win) in windows.iter().enumerate() {
            let (oy, ox) = (i / 7, i % 7);
            for (k, v) in win.iter().enumerate() {
                data[(2 * oy + k / 2) * w + 2 * ox + k % 2] = *v;
            }
        }
        let input = Tensor::from_shape(&[1, 1, h, w], &data).unwrap();
        let (count, tract, ours) = both(nchw_2x2([1, 1, h, w], PaddingSpec::Valid), &input);
        assert_eq!(count, 1);
        assert_eq!(bits(&tract[0]), bits(&ours[0]));
        let got = floats(&ours[0]);
        assert_eq!(got[1], f32::MIN);
        assert_eq!(got[2], f32::MIN);
        assert_eq!(got[4], inf);
        assert_eq!(got[5].to_bits(), (-0.0f32).to_bits());
        assert_eq!(got[6].to_bits(), 0.0f32.to_bits());
        assert_eq!(got[12].to_bits(), (-0.0f32).to_bits());
        assert_eq!(got[13].to_bits(), 0.0f32.to_bits());
    }

    #[test]
    fn other_pools_keep_tracts_op() {
        let valid = || PaddingSpec::Valid;
        let nchw = DataFormat::NCHW;
        let models = [
            (
                "3x3",
                pool_model([1, 4, 9, 9], nchw, [3, 3], [2, 2], valid(), None, None),
            ),
            (
                "stride 1",
                pool_model([1, 4, 9, 9], nchw, [2, 2], [1, 1], valid(), None, None),
            ),
            (
                "2x1",
                pool_model([1, 4, 9, 9], nchw, [2, 1], [2, 1], valid(), None, None),
            ),
            (
                "dilated",
                pool_model(
                    [1, 4, 9, 9],
                    nchw,
                    [2, 2],
                    [2, 2],
                    valid(),
                    Some([2, 2]),
                    None,
                ),
            ),
            (
                "nhwc",
                pool_model(
                    [1, 9, 9, 4],
                    DataFormat::NHWC,
                    [2, 2],
                    [2, 2],
                    valid(),
                    None,
                    None,
                ),
            ),
        ];
        for (name, model) in models {
            let mut optimized = model.into_optimized().unwrap();
            assert_eq!(fast_pools(&mut optimized).unwrap(), 0, "{name}");
            assert!(
                optimized.nodes().iter().any(|n| n.op_is::<OptMaxPool>()),
                "{name}"
            );
        }
        // Index output used by the graph: tract keeps its op.
        let mut model = pool_model(
            [1, 4, 8, 8],
            nchw,
            [2, 2],
            [2, 2],
            valid(),
            None,
            Some(DatumType::I64),
        );
        let outlets = [OutletId::new(1, 0), OutletId::new(1, 1)];
        model.select_output_outlets(&outlets).unwrap();
        let mut optimized = model.into_optimized().unwrap();
        assert_eq!(fast_pools(&mut optimized).unwrap(), 0, "with indices");
        // f16 input.
        let mut model = TypedModel::default();
        let src = model.add_source("x", f16::fact([1, 4, 8, 8])).unwrap();
        let spec = PoolSpec::new(nchw, tvec!(2, 2), valid(), None, Some(tvec!(2, 2)), 4, 4);
        let out = model
            .wire_node("pool", MaxPool::new(spec, None), &[src])
            .unwrap();
        model.select_output_outlets(&out).unwrap();
        let mut optimized = model.into_optimized().unwrap();
        assert_eq!(fast_pools(&mut optimized).unwrap(), 0, "f16");
    }

    fn cnn_fixture() -> (Vec<u8>, Vec<f32>, Vec<f32>) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pool/");
        let read = |name: &str| std::fs::read(format!("{dir}{name}")).unwrap();
        let npy = |name: &str| -> Vec<f32> {
            let a = crate::npy::read(&read(name), name).unwrap();
            a.data.iter().map(|&v| v as f32).collect()
        };
        (
            read("cnn_pools.onnx"),
            npy("cnn_pools_input.npy"),
            npy("cnn_pools_output.npy"),
        )
    }

    /// The fixture CNN: three 2x2 stride-2 pools swapped (one padded), the 3x3 one left;
    /// the swapped plan's embeddings equal tract's own plan bit for bit.
    #[test]
    fn a_cnns_pools_are_swapped_and_its_output_is_unchanged() {
        let (bytes, input, _) = cnn_fixture();
        let model = tract_onnx::onnx()
            .model_for_read(&mut bytes.as_slice())
            .unwrap()
            .with_input_fact(0, f32::fact([5, 1, 28, 28]).into())
            .unwrap();
        let optimized = model.into_optimized().unwrap();
        let mut swapped = optimized.clone();
        assert_eq!(fast_pools(&mut swapped).unwrap(), 3);
        let ours = swapped
            .nodes()
            .iter()
            .filter(|n| n.op_is::<MaxPool2x2>())
            .count();
        let left = swapped
            .nodes()
            .iter()
            .filter(|n| n.op_is::<OptMaxPool>())
            .count();
        assert_eq!((ours, left), (3, 1));
        let x = Tensor::from_shape(&[5, 1, 28, 28], &input).unwrap();
        let (a, b) = (run(optimized, &x), run(swapped, &x));
        assert_eq!(a[0].shape(), &[5, 16]);
        assert_eq!(bits(&a[0]), bits(&b[0]));
    }

    /// Through the encoder (which runs the pass): the fixture's embeddings equal
    /// onnxruntime's within 1e-5, for a full batch of 5 and a partial one.
    #[test]
    fn the_encoder_with_swapped_pools_matches_onnxruntime() {
        let (bytes, input, want) = cnn_fixture();
        let enc = crate::encoder::Encoder::load(&bytes, "cnn_pools.onnx").unwrap();
        for n in [5, 3] {
            let got = enc.embed(&input[..n * 784]).unwrap();
            assert_eq!(got.len(), n * 16);
            let max_abs = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - w).abs())
                .fold(0.0, f32::max);
            assert!(max_abs <= 1e-5, "batch {n}: max abs difference {max_abs}");
        }
    }
}
