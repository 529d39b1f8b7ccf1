//! Reading and writing `.npy` arrays (numpy's format) through `npyz`.

use std::io::Write;

use npyz::WriterBuilder;

use crate::error::{Error, Result};

/// A C-order array of numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Checks the `shape` of a `.npy` header before `npyz` multiplies it out: the element
/// count must fit in a `u64` and in the bytes that follow (at least one byte each).
fn check_declared_shape(bytes: &[u8]) -> std::result::Result<(), String> {
    let head = bytes.get(..bytes.len().min(1 << 16)).unwrap_or_default();
    let text = String::from_utf8_lossy(head);
    // The header parser backtracks for a long time on nested brackets; a plain array's
    // header has one dict and one shape tuple, and no lists (structured dtypes).
    let start = if bytes.get(6) == Some(&1) { 10 } else { 12 };
    let header = bytes.get(start..).unwrap_or_default();
    let end = header
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(header.len());
    let header = header.get(..end).unwrap_or_default();
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if count(b'[') > 0 || count(b'{') > 1 || count(b'(') > 1 {
        return Err(
            "the header is not that of a plain array (structured dtypes are not supported)".into(),
        );
    }
    let Some(tuple) = text
        .split_once("'shape'")
        .and_then(|(_, rest)| rest.split_once('('))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside)
    else {
        return Ok(());
    };
    let mut count: u64 = 1;
    for dim in tuple.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let dim: u64 = dim
            .trim_end_matches('L')
            .parse()
            .map_err(|_| format!("the shape ({tuple}) is not a list of sizes"))?;
        count = count
            .checked_mul(dim)
            .ok_or_else(|| format!("the shape ({tuple}) has too many elements"))?;
    }
    if count > bytes.len() as u64 {
        return Err(format!(
            "truncated or corrupt data: the shape ({tuple}) declares {count} values in a file of {} bytes",
            bytes.len()
        ));
    }
    Ok(())
}

/// The array's values of element type `T`, widened to f64.
fn widen<T: npyz::Deserialize>(
    npy: npyz::NpyFile<&[u8]>,
    to_f64: impl Fn(T) -> f64,
) -> std::io::Result<Vec<f64>> {
    Ok(npy.into_vec::<T>()?.into_iter().map(to_f64).collect())
}

/// Reads a float32, float64 or integer `.npy` array.
pub fn read(bytes: &[u8], name: &str) -> Result<Array> {
    let bad = |detail: String| Error::Array {
        name: name.into(),
        detail,
    };
    check_declared_shape(bytes).map_err(bad)?;
    let npy =
        npyz::NpyFile::new(bytes).map_err(|e| bad(format!("not a readable .npy file: {e}")))?;
    if npy.order() == npyz::Order::Fortran {
        return Err(bad(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|e| bad(format!("shape {d}: {e}"))))
        .collect::<Result<_>>()?;
    let descr = npy.dtype().descr().trim_matches('\'').to_string();
    let read_err = |e: std::io::Error| bad(format!("truncated or corrupt data: {e}"));
    let data: Vec<f64> = match descr.as_str() {
        "<f4" => widen(npy, f64::from as fn(f32) -> f64),
        "<f8" => npy.into_vec::<f64>(),
        "<i8" => widen(npy, |v: i64| v as f64),
        "<i4" => widen(npy, f64::from as fn(i32) -> f64),
        "<i2" => widen(npy, f64::from as fn(i16) -> f64),
        "|i1" => widen(npy, f64::from as fn(i8) -> f64),
        "|u1" => widen(npy, f64::from as fn(u8) -> f64),
        "<u4" => widen(npy, f64::from as fn(u32) -> f64),
        "<u8" => widen(npy, |v: u64| v as f64),
        other => {
            return Err(bad(format!(
                "element type {other} is not supported; use float32 or float64"
            )))
        }
    }
    .map_err(read_err)?;
    if Some(data.len()) != shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) {
        return Err(bad(format!(
            "shape {shape:?} does not match its {} values",
            data.len()
        )));
    }
    Ok(Array { shape, data })
}

/// Reads a 1-D `.npy` array of class labels as text: integers, floats (`1.0` reads as
/// `1`), booleans, or numpy strings (`<U`, `|S`). Pickled object arrays are refused.
pub fn read_labels(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    let bad = |detail: String| Error::Array {
        name: name.into(),
        detail,
    };
    check_declared_shape(bytes).map_err(bad)?;
    let npy =
        npyz::NpyFile::new(bytes).map_err(|e| bad(format!("not a readable .npy file: {e}")))?;
    if npy.shape().len() != 1 {
        return Err(bad(format!(
            "expected a 1-D array of labels, got shape {:?}",
            npy.shape()
        )));
    }
    let descr = npy.dtype().descr().trim_matches('\'').to_string();
    let read_err = |e: std::io::Error| bad(format!("truncated or corrupt data: {e}"));
    let kind = descr.trim_start_matches(['<', '|', '=']);
    if descr == "|b1" {
        let v = npy.into_vec::<bool>().map_err(read_err)?;
        return Ok(v
            .into_iter()
            .map(|b| if b { "True" } else { "False" }.to_string())
            .collect());
    }
    if npy.uses_pickled_array() || kind.starts_with('O') {
        return Err(bad(
            "the labels are a pickled object array; save them as strings (y.astype(str)) or integers"
                .into(),
        ));
    }
    if kind.starts_with('U') || kind.starts_with('S') {
        return npy.into_vec::<String>().map_err(read_err);
    }
    let values = read(bytes, name)?;
    if let Some(v) = values.data.iter().find(|v| !v.is_finite()) {
        return Err(bad(format!("a label is not a finite number ({v})")));
    }
    Ok(values.data.iter().map(|v| v.to_string()).collect())
}

/// Writes a float32 `.npy` array of `shape`.
pub fn write_f32(out: impl Write, shape: &[usize], data: &[f32]) -> Result<()> {
    let err = |e: std::io::Error| Error::Array {
        name: "output".into(),
        detail: e.to_string(),
    };
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(out)
        .begin_nd()
        .map_err(err)?;
    writer.extend(data.iter().copied()).map_err(err)?;
    writer.finish().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        write_f32(&mut buf, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]).unwrap();
        let a = read(&buf, "x").unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        assert!(read(&buf[..buf.len() - 4], "x").is_err());
        assert!(read(b"not npy", "x").is_err());
    }
}
