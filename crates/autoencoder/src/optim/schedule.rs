//! Learning-rate schedules: a factor on the optimizer's learning rate, set once per
//! epoch — constant, step decay, cosine annealing, or reduce-on-plateau.

use std::str::FromStr;

use crate::error::{Error, Result};

/// How the learning rate changes from epoch to epoch (the factor multiplies `lr`).
/// Epochs count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Schedule {
    /// The same rate throughout.
    #[default]
    Constant,
    /// `γ^⌊(epoch−1)/every⌋`: multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays.
        every: usize,
        /// The factor per decay.
        gamma: f64,
    },
    /// Cosine annealing over the run to `min_factor`:
    /// `m + (1 − m)·(1 + cos(π·(epoch−1)/(epochs−1)))/2`.
    Cosine {
        /// The final factor (0 anneals to zero).
        min_factor: f64,
    },
    /// Multiply by `factor` when the monitored loss (validation, else training) has
    /// not improved for `patience` epochs, down to `min_factor`.
    Plateau {
        /// Epochs without improvement before reducing.
        patience: usize,
        /// The factor per reduction.
        factor: f64,
        /// The smallest factor.
        min_factor: f64,
    },
}

impl Schedule {
    /// Check the numbers once.
    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::config("lr_schedule", m.to_string()));
        match *self {
            Schedule::Step { every, gamma } if every == 0 || !(gamma > 0.0 && gamma <= 1.0) => {
                bad("step needs every ≥ 1 and 0 < gamma ≤ 1")
            }
            Schedule::Cosine { min_factor } if !(0.0..=1.0).contains(&min_factor) => {
                bad("cosine's min_factor must be in [0, 1]")
            }
            Schedule::Plateau { patience, factor, min_factor }
                if patience == 0 || !(factor > 0.0 && factor < 1.0) || !(0.0..=1.0).contains(&min_factor) =>
            {
                bad("plateau needs patience ≥ 1, 0 < factor < 1 and min_factor in [0, 1]")
            }
            _ => Ok(()),
        }
    }

    /// The factor for `epoch` of `epochs`, for the schedules that depend only on the
    /// epoch (`Plateau` returns `current`, which [`PlateauState`] updates).
    pub fn factor(&self, epoch: usize, epochs: usize, current: f64) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powi(((epoch.max(1) - 1) / every.max(1)) as i32),
            Schedule::Cosine { min_factor } => {
                let t = if epochs > 1 { (epoch.max(1) - 1) as f64 / (epochs - 1) as f64 } else { 0.0 };
                min_factor + (1.0 - min_factor) * (1.0 + (std::f64::consts::PI * t).cos()) / 2.0
            }
            Schedule::Plateau { .. } => current,
        }
    }
}

/// Reduce-on-plateau's memory: the factor in force, the best loss, epochs since.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlateauState {
    /// The factor in force.
    pub factor: f64,
    /// The best monitored loss so far.
    pub best: Option<f64>,
    /// Epochs since it improved (or since the last reduction).
    pub wait: usize,
}

impl Default for PlateauState {
    fn default() -> Self {
        PlateauState { factor: 1.0, best: None, wait: 0 }
    }
}

impl PlateauState {
    /// After an epoch with loss `monitored`: reduce the factor when patience runs out.
    pub fn update(&mut self, schedule: &Schedule, monitored: f64) {
        let Schedule::Plateau { patience, factor, min_factor } = *schedule else { return };
        if self.best.is_none_or(|b| monitored < b) {
            self.best = Some(monitored);
            self.wait = 0;
        } else {
            self.wait += 1;
            if self.wait >= patience {
                self.factor = (self.factor * factor).max(min_factor);
                self.wait = 0;
            }
        }
    }
}

impl FromStr for Schedule {
    type Err = Error;
    /// `constant`, `step:EVERY:GAMMA` (e.g. `step:10:0.5`), `cosine[:MIN]`,
    /// `plateau[:PATIENCE:FACTOR[:MIN]]` (default `plateau:5:0.5:0.001`).
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |i: usize, default: f64| -> Result<f64> {
            parts.get(i).map_or(Ok(default), |p| {
                p.parse().map_err(|_| Error::config("lr_schedule", format!("{p:?} in {s:?} is not a number")))
            })
        };
        let schedule = match parts[0].to_ascii_lowercase().as_str() {
            "constant" | "none" => Schedule::Constant,
            "step" => Schedule::Step { every: num(1, 10.0)? as usize, gamma: num(2, 0.5)? },
            "cosine" => Schedule::Cosine { min_factor: num(1, 0.0)? },
            "plateau" => {
                Schedule::Plateau { patience: num(1, 5.0)? as usize, factor: num(2, 0.5)?, min_factor: num(3, 0.001)? }
            }
            other => {
                return Err(Error::config(
                    "lr_schedule",
                    format!("unknown schedule {other:?}; expected constant, step:EVERY:GAMMA, cosine[:MIN] or plateau[:PATIENCE:FACTOR[:MIN]]"),
                ))
            }
        };
        schedule.check()?;
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_match_hand_computed_values() {
        let step: Schedule = "step:2:0.5".parse().unwrap();
        let f: Vec<f64> = (1..=5).map(|e| step.factor(e, 5, 1.0)).collect();
        assert_eq!(f, [1.0, 1.0, 0.5, 0.5, 0.25]);
        let cos: Schedule = "cosine".parse().unwrap();
        // epochs 1, 3, 5 of 5: t = 0, 0.5, 1 → 1, 0.5, 0
        assert!((cos.factor(1, 5, 1.0) - 1.0).abs() < 1e-12);
        assert!((cos.factor(3, 5, 1.0) - 0.5).abs() < 1e-12);
        assert!(cos.factor(5, 5, 1.0).abs() < 1e-12);
        let cos_min: Schedule = "cosine:0.1".parse().unwrap();
        assert!((cos_min.factor(5, 5, 1.0) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn plateau_reduces_after_patience_and_stops_at_the_floor() {
        let p: Schedule = "plateau:2:0.5:0.2".parse().unwrap();
        let mut s = PlateauState::default();
        for loss in [1.0, 0.9, 0.95, 0.91] {
            s.update(&p, loss);
        }
        assert_eq!(s.factor, 0.5); // two epochs without beating 0.9
        for loss in [0.92, 0.93, 0.94, 0.95, 0.96, 0.97] {
            s.update(&p, loss);
        }
        assert_eq!(s.factor, 0.2); // 0.5 → 0.25 → floor 0.2
        assert!("plateau:0:0.5".parse::<Schedule>().is_err());
        assert!("warmup".parse::<Schedule>().unwrap_err().to_string().contains("unknown schedule"));
    }
}
