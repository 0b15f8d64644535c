//! Walks through the code space: decodings along the straight latent path between two
//! inputs ([`Autoencoder::interpolate`]), and along each code dimension in turn with
//! the others at the centre ([`Autoencoder::traverse`]); their codes as a
//! [`LatentWalk`], which gives any range of them, so that a long walk is decoded and
//! written a part at a time.

use std::ops::Range;

use super::autoencoder::Autoencoder;
use crate::error::{Error, Result};
use crate::kernels::Threads;

/// The codes of a walk through the code space, row by row: each row's code is computed
/// alone, so any range of rows ([`codes`](Self::codes)) gives the rows of the whole
/// walk, bit for bit, and their decodings too (a row decodes to the same values in any
/// batch).
#[derive(Debug, Clone, PartialEq)]
pub struct LatentWalk {
    steps: usize,
    rows: usize,
    path: Path,
}

#[derive(Debug, Clone, PartialEq)]
enum Path {
    /// `z(t) = (1 − t)·a + t·b`, `t = s / (steps − 1)`.
    Line { a: Vec<f32>, b: Vec<f32> },
    /// Dimension `j = row / steps` from `lo[j]` to `hi[j]`, the others at `centre`.
    Sweep { centre: Vec<f32>, lo: Vec<f32>, hi: Vec<f32> },
}

impl LatentWalk {
    /// The walk's rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per code.
    pub fn width(&self) -> usize {
        match &self.path {
            Path::Line { a, .. } => a.len(),
            Path::Sweep { centre, .. } => centre.len(),
        }
    }

    /// The codes of rows `rows` (clamped to the walk), row-major.
    pub fn codes(&self, rows: Range<usize>) -> Vec<f32> {
        let rows = rows.start.min(self.rows)..rows.end.min(self.rows);
        let mut z = Vec::with_capacity(rows.len() * self.width());
        let steps = self.steps;
        let at = |s: usize| if steps == 1 { 0.5 } else { s as f32 / (steps - 1) as f32 };
        for r in rows {
            match &self.path {
                Path::Line { a, b } => {
                    let t = at(r);
                    z.extend(a.iter().zip(b).map(|(&p, &q)| (1.0 - t) * p + t * q));
                }
                Path::Sweep { centre, lo, hi } => {
                    let (j, t) = (r / steps, at(r % steps));
                    let start = z.len();
                    z.extend_from_slice(centre);
                    z[start + j] = lo[j] + t * (hi[j] - lo[j]);
                }
            }
        }
        z
    }
}

impl Autoencoder {
    /// `steps` decodings (at least 2, both ends included) of the codes evenly spaced on
    /// the straight line from the code of row `a` to the code of row `b`:
    /// `z(t) = (1 − t)·E(a) + t·E(b)`, `t = s / (steps − 1)`. Returns `steps` rows of the
    /// input width.
    pub fn interpolate(&self, a: &[f32], b: &[f32], steps: usize, threads: &Threads) -> Result<Vec<f32>> {
        let walk = self.interpolation(a, b, steps, threads)?;
        self.decode(&walk.codes(0..walk.rows()), threads)
    }

    /// The codes [`Autoencoder::interpolate`] decodes: rows `a` and `b` encoded, and the
    /// `steps` codes between them made a range at a time.
    pub fn interpolation(&self, a: &[f32], b: &[f32], steps: usize, threads: &Threads) -> Result<LatentWalk> {
        if steps < 2 {
            return Err(Error::config("steps", "must be at least 2 (the two ends)"));
        }
        let d = self.input_dim();
        if a.len() != d || b.len() != d {
            return Err(Error::Data(format!(
                "interpolation goes between two rows of {d} values, given {} and {}",
                a.len(),
                b.len()
            )));
        }
        let (a, b) = (self.encode(a, threads)?, self.encode(b, threads)?);
        Ok(LatentWalk { steps, rows: steps, path: Path::Line { a, b } })
    }

    /// Decodings of a sweep of each of the first `dims` code dimensions over `steps`
    /// values, the other dimensions at the centre: `dims × steps` rows of the input
    /// width, dimension after dimension. A variational model sweeps `[−range, range]`
    /// around 0 (prior standard deviations); any other model the range of its training
    /// codes (its codec's `lo..hi`, centred between them), and needs a codec.
    pub fn traverse(&self, dims: usize, steps: usize, range: f32, threads: &Threads) -> Result<Vec<f32>> {
        let walk = self.traversal(dims, steps, range)?;
        self.decode(&walk.codes(0..walk.rows()), threads)
    }

    /// The codes [`Autoencoder::traverse`] decodes, all of them.
    pub fn traversal_codes(&self, dims: usize, steps: usize, range: f32) -> Result<Vec<f32>> {
        let walk = self.traversal(dims, steps, range)?;
        Ok(walk.codes(0..walk.rows()))
    }

    /// The codes [`Autoencoder::traverse`] decodes, made a range at a time.
    pub fn traversal(&self, dims: usize, steps: usize, range: f32) -> Result<LatentWalk> {
        let k = self.code_dim();
        if dims == 0 || dims > k {
            return Err(Error::config("dims", format!("{dims}: the code has {k} dimensions")));
        }
        if steps == 0 {
            return Err(Error::config("steps", "must be at least 1"));
        }
        if !(range.is_finite() && range > 0.0) {
            return Err(Error::config(
                "range",
                format!("{range}: expected a finite number of standard deviations above 0, e.g. 3"),
            ));
        }
        let (centre, lo, hi): (Vec<f32>, Vec<f32>, Vec<f32>) = if self.config().variational {
            (vec![0.0; k], vec![-range; k], vec![range; k])
        } else {
            let c = self.codec.as_ref().ok_or_else(|| {
                Error::Data(
                    "the model is neither variational nor has code statistics to sweep; train it again"
                        .into(),
                )
            })?;
            (c.lo.iter().zip(&c.hi).map(|(&a, &b)| 0.5 * (a + b)).collect(), c.lo.clone(), c.hi.clone())
        };
        let rows = dims.checked_mul(steps).ok_or_else(|| {
            Error::config(
                "steps",
                format!("{dims} dimensions × {steps} steps is more rows than can be counted"),
            )
        })?;
        Ok(LatentWalk { steps, rows, path: Path::Sweep { centre, lo, hi } })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Autoencoder, ModelConfig};
    use crate::Threads;

    fn model(variational: bool) -> Autoencoder {
        let config = ModelConfig { input_dim: 6, layers: vec![3], variational, ..ModelConfig::default() };
        Autoencoder::new(config, 0).unwrap()
    }

    #[test]
    fn interpolation_ends_at_the_two_reconstructions() {
        let (m, threads) = (model(false), Threads::new(1));
        let a = [0.1, 0.9, 0.3, 0.0, 1.0, 0.5];
        let b = [0.7, 0.2, 0.6, 1.0, 0.0, 0.4];
        let y = m.interpolate(&a, &b, 5, &threads).unwrap();
        assert_eq!(y.len(), 5 * 6);
        // The ends are the reconstructions (up to the rounding of a batch of 5 against 1).
        let close = |got: &[f32], x: &[f32]| {
            let want = m.reconstruct(x, &threads).unwrap();
            got.iter().zip(&want).all(|(p, q)| (p - q).abs() < 1e-5)
        };
        assert!(close(&y[..6], &a) && close(&y[24..], &b), "{y:?}");
        assert!(!close(&y[12..18], &a));
        assert!(m.interpolate(&a, &b, 1, &threads).unwrap_err().to_string().contains("steps"));
        assert!(m.interpolate(&a[..5], &b, 3, &threads).is_err());
    }

    /// A walk's codes and decodings made a range at a time are those of the walk made
    /// whole, bit for bit, whatever the cuts (a lone row too).
    #[test]
    fn a_walk_in_parts_is_the_walk_whole() {
        let threads = Threads::new(2);
        let (a, b) = ([0.1, 0.9, 0.3, 0.0, 1.0, 0.5], [0.7, 0.2, 0.6, 1.0, 0.0, 0.4]);
        let m = model(true);
        let walks = [m.interpolation(&a, &b, 11, &threads).unwrap(), m.traversal(3, 4, 2.5).unwrap()];
        let wholes = [m.interpolate(&a, &b, 11, &threads).unwrap(), m.traverse(3, 4, 2.5, &threads).unwrap()];
        for (walk, whole) in walks.iter().zip(wholes) {
            let n = walk.rows();
            let all = walk.codes(0..n);
            assert_eq!(all.len(), n * 3);
            let (mut codes, mut decoded) = (Vec::new(), Vec::new());
            for w in [0, 1, 2, 7, n].windows(2) {
                let z = walk.codes(w[0]..w[1]);
                decoded.extend(m.decode(&z, &threads).unwrap());
                codes.extend(z);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&codes), bits(&all));
            assert_eq!(bits(&decoded), bits(&whole));
        }
        assert!(walks[1].codes(10..20).len() == 2 * 3, "clamped to the walk's 12 rows");
        let e = m.traversal(3, usize::MAX, 1.0).unwrap_err().to_string();
        assert!(e.contains("steps"), "{e}");
    }

    #[test]
    fn a_variational_traversal_sweeps_each_dimension_over_the_range() {
        let m = model(true);
        let z = m.traversal_codes(2, 3, 2.0).unwrap();
        #[rustfmt::skip]
        let want = [
            -2.0, 0.0, 0.0,   0.0, 0.0, 0.0,   2.0, 0.0, 0.0,
             0.0, -2.0, 0.0,  0.0, 0.0, 0.0,   0.0, 2.0, 0.0,
        ];
        assert_eq!(z, want);
        assert_eq!(m.traverse(2, 3, 2.0, &Threads::new(1)).unwrap().len(), 6 * 6);
        // One step: the centre.
        assert_eq!(m.traversal_codes(1, 1, 2.0).unwrap(), [0.0; 3]);
        for (dims, steps) in [(0, 3), (4, 3), (1, 0)] {
            assert!(m.traversal_codes(dims, steps, 2.0).is_err(), "{dims} {steps}");
        }
        // A range that is no number of standard deviations: NaN codes, or none swept.
        for range in [f32::NAN, f32::INFINITY, 0.0, -3.0] {
            let e = m.traversal_codes(1, 3, range).unwrap_err().to_string();
            assert!(e.contains("range") && e.contains("above 0"), "{e}");
        }
    }

    #[test]
    fn a_plain_model_sweeps_its_codec_range_and_needs_one() {
        let mut m = model(false);
        let e = m.traversal_codes(1, 3, 3.0).unwrap_err().to_string();
        assert!(e.contains("code statistics"), "{e}");
        let codes = [0.0, 1.0, 2.0, 1.0, 3.0, 4.0];
        m.codec = Some(crate::codec::Codec::fit(&codes, 3).unwrap());
        let c = m.codec.clone().unwrap();
        let z = m.traversal_codes(1, 2, 3.0).unwrap();
        let mid = |j: usize| 0.5 * (c.lo[j] + c.hi[j]);
        assert_eq!(z, [c.lo[0], mid(1), mid(2), c.hi[0], mid(1), mid(2)]);
    }
}
