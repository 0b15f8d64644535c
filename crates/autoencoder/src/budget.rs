//! The memory budget: the bytes a run may hold, read from a size such as `1.5G` or
//! taken as half the machine's memory. Training and scoring decide here whether table
//! files are over it (they are then streamed: [`fit_streamed`](crate::train::fit_streamed)
//! trains on them, [`score_parts`](crate::anomaly::score_parts) scores them), and every
//! allocation whose size a user's count or width sets (a batch, importance samples, an
//! output made whole) is checked against it before it is made. Every front (`ae`, the
//! Python package) decides here; `train` re-exports it.

use std::path::PathBuf;

use crate::data::chunks::estimate_bytes;
use crate::error::{Error, Result};

/// A memory budget in bytes, at least one.
///
/// ```
/// use autoencoder::train::MemoryBudget;
/// assert_eq!("1.5G".parse::<MemoryBudget>().unwrap().bytes(), 3 << 29);
/// assert_eq!("512MiB".parse::<MemoryBudget>().unwrap().bytes(), 512 << 20);
/// assert_eq!("2000".parse::<MemoryBudget>().unwrap().bytes(), 2000);
/// assert!("lots".parse::<MemoryBudget>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget(u64);

impl MemoryBudget {
    /// A budget of `bytes` (at least one).
    pub fn new(bytes: u64) -> Result<MemoryBudget> {
        if bytes == 0 {
            return Err(Error::config("memory_budget", "must be at least one byte"));
        }
        Ok(MemoryBudget(bytes))
    }

    /// Half the machine's memory (`MemTotal` of `/proc/meminfo`), or 8 GiB where that
    /// cannot be read, shared by `processes` processes on the machine.
    pub fn of_machine(processes: usize) -> MemoryBudget {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        let half = total.map_or(8 << 30, |kib| kib * 1024 / 2);
        MemoryBudget((half / processes.max(1) as u64).max(1))
    }

    /// The budget in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Errors, before anything is allocated, when `rows` rows of `cols` f32 values, held
    /// at once (an output made whole: a grid, an archive, an array returned to Python),
    /// take more than this budget; the message starts with `what` and gives the sizes.
    ///
    /// ```
    /// use autoencoder::train::MemoryBudget;
    /// let budget = MemoryBudget::new(1 << 20).unwrap();
    /// assert!(budget.check_held("samples", 1000, 256).is_ok());
    /// let e = budget.check_held("samples", 100_000, 256).unwrap_err().to_string();
    /// assert!(e.contains("samples: 100000 rows of 256 values are 97.7 MiB"), "{e}");
    /// ```
    pub fn check_held(self, what: &str, rows: usize, cols: usize) -> Result<()> {
        let bytes = (rows as u64).saturating_mul(cols as u64).saturating_mul(4);
        if bytes > self.0 {
            return Err(Error::Data(format!(
                "{what}: {rows} rows of {cols} values are {} in memory, more than the memory budget of {self}",
                human_bytes(bytes)
            )));
        }
        Ok(())
    }

    /// Whether the rows of the table files `paths`, shared among `among` processes
    /// (1: one process holds them all), take more than the budget in memory, as
    /// [`estimate_bytes`] estimates them without reading them: training on them then
    /// streams.
    pub fn exceeded_by(self, paths: &[PathBuf], among: usize) -> Result<bool> {
        Ok(estimate_bytes(paths)? / among.max(1) as u64 > self.0)
    }
}

impl std::fmt::Display for MemoryBudget {
    /// As [`human_bytes`] writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&human_bytes(self.0))
    }
}

/// `bytes` as people read a size: binary units with one decimal.
///
/// ```
/// use autoencoder::train::human_bytes;
/// assert_eq!(human_bytes(3 << 29), "1.5 GiB");
/// assert_eq!(human_bytes(100 << 20), "100.0 MiB");
/// assert_eq!(human_bytes(512), "0.5 KiB");
/// ```
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{:.1} KiB", b as f64 / 1024.0),
    }
}

impl std::str::FromStr for MemoryBudget {
    type Err = Error;

    /// A number of bytes with an optional binary unit, `K`, `M`, `G` or `T` (powers of
    /// 1024; `GiB`, `GB` and `g` read the same): `1G`, `512M`, `1.5G`, `2000000000`.
    fn from_str(v: &str) -> Result<MemoryBudget> {
        let bad = || Error::config("memory_budget", format!("{v:?} is not a size such as 512M, 1G or 1.5G"));
        let t = v.trim().to_ascii_lowercase();
        let t = t.trim_end_matches("ib").trim_end_matches('b');
        let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
            Some((i, _)) => (&t[..i], &t[i..]),
            None => (t, ""),
        };
        let scale: u64 = match unit {
            "" => 1,
            "k" => 1 << 10,
            "m" => 1 << 20,
            "g" => 1 << 30,
            "t" => 1 << 40,
            _ => return Err(bad()),
        };
        let n: f64 = num.trim().parse().map_err(|_| bad())?;
        let bytes = n * scale as f64;
        if !(bytes.is_finite() && bytes >= 1.0 && bytes < 2f64.powi(63)) {
            return Err(bad());
        }
        Ok(MemoryBudget(bytes as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_binary_units_and_refuse_the_rest() {
        let b = |s: &str| s.parse::<MemoryBudget>().map(MemoryBudget::bytes);
        assert_eq!(b("1k").unwrap(), 1024);
        assert_eq!(b(" 2 GB ").unwrap(), 2 << 30);
        assert_eq!(b("0.5T").unwrap(), 1 << 39);
        assert_eq!(b("128.2M").unwrap(), (128.2 * (1 << 20) as f64) as u64);
        for bad in ["", "0", "-1G", "1X", "nanM", "inf", "1e30T", "0.1"] {
            let e = b(bad).unwrap_err().to_string();
            assert!(e.contains("memory_budget") && e.contains("is not a size"), "{bad:?}: {e}");
        }
        assert!(MemoryBudget::new(0).is_err());
    }

    #[test]
    fn files_exceed_a_budget_by_their_share_of_the_bytes() {
        let dir = std::env::temp_dir().join(format!("ae-budget-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        std::fs::write(&path, "1,2\n".repeat(1000)).unwrap(); // 4000 bytes
        let paths = [path];
        let budget = MemoryBudget::new(3000).unwrap();
        assert!(budget.exceeded_by(&paths, 1).unwrap());
        assert!(!budget.exceeded_by(&paths, 2).unwrap());
        assert!(!MemoryBudget::new(4000).unwrap().exceeded_by(&paths, 1).unwrap());
        assert!(MemoryBudget::of_machine(1).bytes() >= MemoryBudget::of_machine(4).bytes());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
