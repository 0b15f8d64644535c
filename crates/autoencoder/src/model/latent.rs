//! Walks through the code space: decodings along the straight latent path between two
//! inputs ([`Autoencoder::interpolate`]), and along each code dimension in turn with
//! the others at the centre ([`Autoencoder::traverse`]).

use super::autoencoder::Autoencoder;
use crate::error::{Error, Result};
use crate::kernels::Threads;

impl Autoencoder {
    /// `steps` decodings (at least 2, both ends included) of the codes evenly spaced on
    /// the straight line from the code of row `a` to the code of row `b`:
    /// `z(t) = (1 − t)·E(a) + t·E(b)`, `t = s / (steps − 1)`. Returns `steps` rows of the
    /// input width.
    pub fn interpolate(&self, a: &[f32], b: &[f32], steps: usize, threads: &Threads) -> Result<Vec<f32>> {
        if steps < 2 {
            return Err(Error::config("steps", "must be at least 2 (the two ends)"));
        }
        let za = self.encode(a, threads)?;
        let zb = self.encode(b, threads)?;
        let k = self.code_dim();
        if za.len() != k || zb.len() != k {
            return Err(Error::Data(format!(
                "interpolation goes between two rows of {} values, given {} and {}",
                self.input_dim(),
                a.len(),
                b.len()
            )));
        }
        let mut z = Vec::with_capacity(steps * k);
        for s in 0..steps {
            let t = s as f32 / (steps - 1) as f32;
            z.extend(za.iter().zip(&zb).map(|(&p, &q)| (1.0 - t) * p + t * q));
        }
        self.decode(&z, threads)
    }

    /// Decodings of a sweep of each of the first `dims` code dimensions over `steps`
    /// values, the other dimensions at the centre: `dims × steps` rows of the input
    /// width, dimension after dimension. A variational model sweeps `[−range, range]`
    /// around 0 (prior standard deviations); any other model the range of its training
    /// codes (its codec's `lo..hi`, centred between them), and needs a codec.
    pub fn traverse(&self, dims: usize, steps: usize, range: f32, threads: &Threads) -> Result<Vec<f32>> {
        let z = self.traversal_codes(dims, steps, range)?;
        self.decode(&z, threads)
    }

    /// The codes [`Autoencoder::traverse`] decodes.
    pub fn traversal_codes(&self, dims: usize, steps: usize, range: f32) -> Result<Vec<f32>> {
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
        let mut z = Vec::with_capacity(dims * steps * k);
        for j in 0..dims {
            for s in 0..steps {
                let t = if steps == 1 { 0.5 } else { s as f32 / (steps - 1) as f32 };
                let mut row = centre.clone();
                row[j] = lo[j] + t * (hi[j] - lo[j]);
                z.extend(row);
            }
        }
        Ok(z)
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
