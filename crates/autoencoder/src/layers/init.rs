//! Weight initialisation schemes (Glorot/Xavier and He/Kaiming), drawn from a seed.

use std::str::FromStr;

use crate::error::Error;
use crate::random::{self, ChaCha8Rng};

/// How a layer's weights are drawn; biases always start at zero.
///
/// With `fan_in` inputs and `fan_out` outputs:
/// - Glorot uniform: `U(−a, a)`, `a = √(6/(fan_in + fan_out))` (Keras' default);
/// - Glorot normal: `N(0, 2/(fan_in + fan_out))`;
/// - He uniform: `U(−a, a)`, `a = √(6/fan_in)`;
/// - He normal: `N(0, 2/fan_in)`.
///
/// The normal draws are not truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// Glorot/Xavier uniform.
    #[default]
    GlorotUniform,
    /// Glorot/Xavier normal.
    GlorotNormal,
    /// He/Kaiming uniform.
    HeUniform,
    /// He/Kaiming normal.
    HeNormal,
}

impl Init {
    /// All schemes.
    pub const ALL: [Init; 4] = [Init::GlorotUniform, Init::GlorotNormal, Init::HeUniform, Init::HeNormal];

    /// The name used in flags and files.
    pub fn name(self) -> &'static str {
        match self {
            Init::GlorotUniform => "glorot_uniform",
            Init::GlorotNormal => "glorot_normal",
            Init::HeUniform => "he_uniform",
            Init::HeNormal => "he_normal",
        }
    }

    /// Fill `w` for a layer with the given fans.
    pub fn fill(self, w: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut ChaCha8Rng) {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match self {
            Init::GlorotUniform | Init::HeUniform => {
                let a = if self == Init::GlorotUniform { (6.0 / (fi + fo)).sqrt() } else { (6.0 / fi).sqrt() }
                    as f32;
                w.iter_mut().for_each(|v| *v = (2.0 * random::uniform(rng) - 1.0) * a);
            }
            Init::GlorotNormal | Init::HeNormal => {
                let sd =
                    if self == Init::GlorotNormal { (2.0 / (fi + fo)).sqrt() } else { (2.0 / fi).sqrt() };
                w.iter_mut().for_each(|v| *v = (random::normal(rng) * sd) as f32);
            }
        }
    }
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let n = s.trim().to_ascii_lowercase().replace('-', "_");
        let n = match n.as_str() {
            "glorot" | "xavier" | "xavier_uniform" => "glorot_uniform",
            "xavier_normal" => "glorot_normal",
            "he" | "kaiming" | "kaiming_uniform" => "he_uniform",
            "kaiming_normal" => "he_normal",
            o => o,
        }
        .to_string();
        Init::ALL.iter().copied().find(|i| i.name() == n).ok_or_else(|| {
            Error::config("init", format!("unknown initialisation {s:?}; expected glorot_uniform, glorot_normal, he_uniform or he_normal"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{rng, Stream};

    #[test]
    fn draws_have_the_stated_spread() {
        let (fi, fo) = (300, 100);
        for init in Init::ALL {
            let mut w = vec![0.0f32; 200_000];
            init.fill(&mut w, fi, fo, &mut rng(0, Stream::Init));
            let var = w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / w.len() as f64;
            let want = match init {
                Init::GlorotUniform | Init::GlorotNormal => 2.0 / (fi + fo) as f64,
                Init::HeUniform | Init::HeNormal => 2.0 / fi as f64,
            };
            assert!((var / want - 1.0).abs() < 0.02, "{init}: {var} vs {want}");
            if init == Init::GlorotUniform {
                let a = (6.0f64 / 400.0).sqrt() as f32;
                assert!(w.iter().all(|v| v.abs() <= a));
            }
        }
    }
}
