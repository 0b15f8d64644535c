//! Input corruption for denoising autoencoders: during training only, each batch's
//! (normalised) inputs are corrupted while the clean rows stay the target, so the model
//! learns `x̃ ↦ x`. Drawn from the seed's `Noise` stream, one draw per value, so a run is
//! reproducible and resumable.
//!
//! * `gaussian:σ` — `x̃ = x + σ·ε`, `ε ~ N(0, 1)`; `gaussian:σ:clip` clips `x̃` to `[0, 1]`
//!   (noisy images stay images);
//! * `mask:p` — each value set to 0 with probability `p` (masking noise);
//! * `salt_pepper:p` — each value, with probability `p`, set to 0 or 1 with equal chance
//!   (for data in `[0, 1]`, as images are).

use crate::error::{Error, Result};
use crate::random::{self, ChaCha8Rng};

/// How training inputs are corrupted.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Corruption {
    /// Additive Gaussian noise of standard deviation `sigma`.
    Gaussian {
        /// σ > 0.
        sigma: f64,
        /// Clip the noisy values to `[0, 1]`.
        #[serde(default)]
        clip: bool,
    },
    /// Each value zeroed with probability `fraction`.
    Mask {
        /// In (0, 1).
        fraction: f64,
    },
    /// Each value, with probability `fraction`, replaced by 0 or 1.
    SaltPepper {
        /// In (0, 1).
        fraction: f64,
    },
}

impl std::fmt::Display for Corruption {
    /// As the flag takes it: `gaussian:0.5`, `gaussian:0.5:clip`, `mask:0.2`, `salt_pepper:0.1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Corruption::Gaussian { sigma, clip: false } => write!(f, "gaussian:{sigma}"),
            Corruption::Gaussian { sigma, clip: true } => write!(f, "gaussian:{sigma}:clip"),
            Corruption::Mask { fraction } => write!(f, "mask:{fraction}"),
            Corruption::SaltPepper { fraction } => write!(f, "salt_pepper:{fraction}"),
        }
    }
}

impl std::str::FromStr for Corruption {
    type Err = Error;
    /// [`Corruption::parse`].
    fn from_str(s: &str) -> Result<Corruption> {
        Corruption::parse(s)
    }
}

impl Corruption {
    /// Parse `gaussian:0.5`, `gaussian:0.5:clip`, `mask:0.2` or `salt_pepper:0.1` (also
    /// `salt-pepper`).
    pub fn parse(s: &str) -> Result<Corruption> {
        let bad = || {
            Error::config(
                "noise",
                format!("{s:?}: expected gaussian:SIGMA[:clip], mask:FRACTION or salt_pepper:FRACTION"),
            )
        };
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let kind = kind.trim().to_ascii_lowercase().replace('-', "_");
        let (v, clip) = match rest.split_once(':') {
            Some((v, "clip")) if kind == "gaussian" => (v, true),
            Some(_) => return Err(bad()),
            None => (rest, false),
        };
        let v: f64 = v.trim().parse().map_err(|_| bad())?;
        let c = match kind.as_str() {
            "gaussian" | "normal" => Corruption::Gaussian { sigma: v, clip },
            "mask" | "masking" | "dropout" => Corruption::Mask { fraction: v },
            "salt_pepper" | "salt_and_pepper" => Corruption::SaltPepper { fraction: v },
            _ => return Err(bad()),
        };
        c.check()?;
        Ok(c)
    }

    /// Check the parameter's range.
    pub fn check(&self) -> Result<()> {
        match *self {
            Corruption::Gaussian { sigma, .. } if !(sigma.is_finite() && sigma > 0.0) => {
                Err(Error::config("noise", format!("gaussian σ = {sigma} must be > 0")))
            }
            Corruption::Mask { fraction } | Corruption::SaltPepper { fraction }
                if !(fraction > 0.0 && fraction < 1.0) =>
            {
                Err(Error::config("noise", format!("fraction {fraction} must be in (0, 1)")))
            }
            _ => Ok(()),
        }
    }

    /// Corrupt `x` in place with draws from `rng`.
    pub fn apply(&self, x: &mut [f32], rng: &mut ChaCha8Rng) {
        match *self {
            Corruption::Gaussian { sigma, clip } => {
                for v in x.iter_mut() {
                    *v += (sigma * random::normal(rng)) as f32;
                    if clip {
                        *v = v.clamp(0.0, 1.0);
                    }
                }
            }
            Corruption::Mask { fraction } => {
                let p = fraction as f32;
                for v in x.iter_mut() {
                    if random::uniform(rng) < p {
                        *v = 0.0;
                    }
                }
            }
            Corruption::SaltPepper { fraction } => {
                let p = fraction as f32;
                for v in x.iter_mut() {
                    let u = random::uniform(rng);
                    if u < p {
                        *v = if u < 0.5 * p { 0.0 } else { 1.0 };
                    }
                }
            }
        }
    }

    /// A short description: `gaussian σ=0.5`.
    pub fn describe(&self) -> String {
        match *self {
            Corruption::Gaussian { sigma, clip } => {
                format!("gaussian σ={sigma}{}", if clip { ", clipped to [0, 1]" } else { "" })
            }
            Corruption::Mask { fraction } => format!("mask {fraction}"),
            Corruption::SaltPepper { fraction } => format!("salt-and-pepper {fraction}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{rng, Stream};

    #[test]
    fn parses_and_checks() {
        assert_eq!(
            Corruption::parse("gaussian:0.5").unwrap(),
            Corruption::Gaussian { sigma: 0.5, clip: false }
        );
        assert_eq!(
            Corruption::parse("gaussian:0.5:clip").unwrap(),
            Corruption::Gaussian { sigma: 0.5, clip: true }
        );
        assert_eq!(Corruption::parse("mask:0.25").unwrap(), Corruption::Mask { fraction: 0.25 });
        assert_eq!(Corruption::parse("salt-pepper:0.1").unwrap(), Corruption::SaltPepper { fraction: 0.1 });
        for bad in ["gaussian", "gaussian:-1", "mask:1.5", "mask:0", "blur:3", "mask:x", "mask:0.1:clip"] {
            let e = Corruption::parse(bad).unwrap_err().to_string();
            assert!(e.contains("noise"), "{bad}: {e}");
        }
    }

    #[test]
    fn corruption_has_the_stated_statistics() {
        let n = 200_000;
        let mut r = rng(1, Stream::Noise);
        let mut x = vec![0.5f32; n];
        Corruption::Gaussian { sigma: 0.3, clip: false }.apply(&mut x, &mut r);
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005 && (var.sqrt() - 0.3).abs() < 0.005, "{mean} {var}");

        let mut x = vec![0.5f32; n];
        Corruption::Mask { fraction: 0.2 }.apply(&mut x, &mut r);
        let zeros = x.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        assert!((zeros - 0.2).abs() < 0.005, "{zeros}");
        assert!(x.iter().all(|&v| v == 0.0 || v == 0.5));

        let mut x = vec![0.5f32; n];
        Corruption::SaltPepper { fraction: 0.1 }.apply(&mut x, &mut r);
        let salt = x.iter().filter(|&&v| v == 1.0).count() as f64 / n as f64;
        let pepper = x.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        assert!((salt - 0.05).abs() < 0.003 && (pepper - 0.05).abs() < 0.003, "{salt} {pepper}");
    }

    #[test]
    fn the_same_stream_gives_the_same_noise() {
        let c = Corruption::Gaussian { sigma: 1.0, clip: true };
        let (mut a, mut b) = (vec![0.0f32; 100], vec![0.0f32; 100]);
        c.apply(&mut a, &mut rng(4, Stream::Noise));
        c.apply(&mut b, &mut rng(4, Stream::Noise));
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
