//! `mpirun -n N ae train`: any number of ranks writes the bytes one process writes with
//! the same micro-batches; a rank that dies ends the job naming it, and one process
//! resumes the last checkpoint to the uninterrupted run's bytes. (Built with the `mpi`
//! feature; skipped, saying why, where OpenMPI's `mpirun` is missing.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{ae, ok};

/// `mpirun`, allowed to run as root (CI containers), or `None` when it is not installed.
fn mpirun() -> Option<Command> {
    let found = Command::new("mpirun").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: OpenMPI's mpirun is not installed (apt-get install openmpi-bin)");
        return None;
    }
    let mut c = Command::new("mpirun");
    c.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    c.args(["--oversubscribe", "--bind-to", "none"]);
    Some(c)
}

fn ae_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("ae")
}

/// A table of `rows` rows of 12 correlated columns.
fn table(dir: &Path, rows: usize) -> PathBuf {
    let mut s = (0..12).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",") + "\n";
    let mut state = 7u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 40) as f64 / (1u64 << 24) as f64) - 0.5
    };
    for _ in 0..rows {
        let (a, b) = (next(), next());
        let row: Vec<String> =
            (0..12).map(|i| format!("{:.4}", a * i as f64 / 5.0 + b + 0.05 * next())).collect();
        s += &(row.join(",") + "\n");
    }
    let p = dir.join("table.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("mpirun runs");
    assert!(
        out.status.success(),
        "mpirun failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// A dense model with dropout and input noise, a variational one, and a conv model with
/// batch norm (images): one process with `--micro-batch 16`, and `mpirun -n 1`, `-n 2`
/// and `-n 3` with the same flag (and `-n 2` without it, where 32 is the default,
/// against one process with 32) write the same bytes; only rank 0 writes; other
/// settings give other bytes.
#[test]
fn every_rank_count_writes_the_bytes_of_one_process() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = table(dir.path(), 300);
    let images = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0/images.npy");
    let models: [(&Path, &[&str]); 3] = [
        (&table, &["--layers", "8,3", "--dropout", "0.1", "--noise", "gaussian:0.1"]),
        (&table, &["--layers", "8,3", "--variational"]),
        (&images, &["--arch", "conv", "--channels", "4", "--layers", "6", "--batch-norm"]),
    ];
    for (m, (data, model)) in models.iter().enumerate() {
        let common = |out: &Path, micro: Option<&str>| {
            let mut v: Vec<String> = vec!["train".into(), data.display().to_string()];
            v.extend(model.iter().map(|s| s.to_string()));
            v.extend(
                [
                    "--epochs",
                    "3",
                    "--batch-size",
                    "64",
                    "--validation-split",
                    "0.1",
                    "--threads",
                    "1",
                    "--no-plots",
                ]
                .map(String::from),
            );
            if let Some(mb) = micro {
                v.extend(["--micro-batch".to_string(), mb.to_string()]);
            }
            v.extend(["-o".to_string(), out.display().to_string()]);
            v
        };
        let one = dir.path().join(format!("one{m}.ae"));
        ok(ae().args(common(&one, Some("16"))));
        let want = std::fs::read(&one).unwrap();
        for n in [1, 2, 3] {
            let out = dir.path().join(format!("n{n}-{m}.ae"));
            run(mpirun().unwrap().args(["-n", &n.to_string()]).arg(ae_path()).args(common(&out, Some("16"))));
            assert!(std::fs::read(&out).unwrap() == want, "model {m}: mpirun -n {n} wrote other bytes");
        }
        let default_one = dir.path().join(format!("default{m}.ae"));
        ok(ae().args(common(&default_one, Some("32"))));
        let default_two = dir.path().join(format!("default-n2-{m}.ae"));
        run(mpirun().unwrap().args(["-n", "2"]).arg(ae_path()).args(common(&default_two, None)));
        assert!(std::fs::read(&default_two).unwrap() == std::fs::read(&default_one).unwrap(), "model {m}");
        assert!(std::fs::read(&default_one).unwrap() != want, "model {m}: other micro-batches, other bytes");
        let whole = dir.path().join(format!("whole{m}.ae"));
        ok(ae().args(common(&whole, None)));
        assert!(std::fs::read(&whole).unwrap() != want, "model {m}: whole batches, other bytes");
    }
    // No stray file (a temporary, a plot) beside the models named. (That the other ranks
    // skip the write is not visible here: they would write the same bytes.)
    let mut names = crate::common::listing(dir.path());
    names.retain(|n| !n.ends_with(".ae") && n != "table.csv");
    assert!(names.is_empty(), "{names:?}");
}

/// `ae train DATA FLAGS --threads 1 --no-plots -o OUT`: one thread a rank, no pictures.
fn train_args(data: &Path, flags: &[&str], out: &Path) -> Vec<String> {
    let mut v: Vec<String> = vec!["train".into(), data.display().to_string()];
    v.extend(flags.iter().map(|f| f.to_string()));
    v.extend(["--threads", "1", "--no-plots", "-o"].map(String::from));
    v.push(out.display().to_string());
    v
}

/// `ae train DATA` with z-scores, input noise, micro-batches of 16, a validation split
/// and a threshold, writing `out`: the runs that one process and the ranks compare.
fn shared_out_args(data: &Path, out: &Path) -> Vec<String> {
    let flags = [
        "--layers",
        "8,3",
        "--noise",
        "gaussian:0.1",
        "--normalize",
        "zscore",
        "--epochs",
        "3",
        "--batch-size",
        "64",
        "--micro-batch",
        "16",
        "--validation-split",
        "0.1",
        "--threshold",
        "contamination=0.1",
    ];
    train_args(data, &flags, out)
}

/// `--shard`: each rank reads and holds only its rows and fetches each step's rows from
/// the others. `mpirun -n 2` and `-n 3` write the bytes one process writes with the
/// same micro-batches (z-scores, a validation split, input noise, a threshold), from a
/// CSV file (read whole, the rank's rows kept), from NPY shards (only the files that
/// hold a rank's rows read) and from CSV shards with a categorical column whose values
/// differ between them and rows left out for a missing number; trimmed (a second pass
/// on the rows the first scores lowest) with the standardized score (its feature scales
/// from each rank's error sums, joined); without mpirun the flag is refused.
#[test]
fn ranks_holding_only_their_rows_write_the_bytes_of_one_process() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 300);
    let args = shared_out_args;
    // The same rows as three NPY files of 100 rows.
    let shards = dir.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<f32>> =
        text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    for (k, part) in rows.chunks(100).enumerate() {
        let values: Vec<f32> = part.concat();
        crate::cli::write_npy(&shards.join(format!("part{k}.npy")), &values, part.len(), 12);
    }
    // The same rows as three CSV files with a categorical column, whose values differ
    // from file to file (one value in one file only, empty fields in another), and
    // numbers missing in some rows, left out (`--missing drop`): every rank one-hot
    // encodes with every file's values, and numbers the rows kept as one process does.
    let kinds = dir.path().join("kinds");
    std::fs::create_dir(&kinds).unwrap();
    let header = text.lines().next().unwrap();
    let values = [&["a", "b"][..], &["c", "", "b"], &["d", "a"]];
    for (k, part) in text.lines().skip(1).collect::<Vec<_>>().chunks(100).enumerate() {
        let body: String = part
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let l = if (i + k) % 13 == 5 {
                    format!(",{}", l.split_once(',').unwrap().1)
                } else {
                    l.to_string()
                };
                format!("{l},{}\n", values[k][i % values[k].len()])
            })
            .collect();
        std::fs::write(kinds.join(format!("part{k}.csv")), format!("{header},kind\n{body}")).unwrap();
    }
    let categorical = ["--categorical", "kind", "--missing", "drop"].map(String::from);
    let trim = ["--trim", "0.3", "--score", "standardized"].map(String::from);
    for (data, what, extra) in [
        (&csv, "csv", &[][..]),
        (&shards, "npy shards", &[][..]),
        (&csv, "trimmed, standardized", &trim[..]),
        (&kinds, "categorical", &categorical[..]),
    ] {
        let one = dir.path().join("one.ae");
        ok(ae().args(args(data, &one)).args(extra));
        let want = std::fs::read(&one).unwrap();
        for n in [2, 3] {
            let out = dir.path().join(format!("shard-{n}.ae"));
            let mut cmd = mpirun().unwrap();
            run(cmd
                .args(["-n", &n.to_string()])
                .arg(ae_path())
                .args(args(data, &out))
                .args(extra)
                .arg("--shard"));
            assert!(std::fs::read(&out).unwrap() == want, "{what}: mpirun -n {n} --shard wrote other bytes");
        }
    }
    // The model encodes later rows with the values of all three files.
    let model = autoencoder::file::load(&dir.path().join("one.ae")).unwrap();
    assert_eq!(model.categories[0].values, ["a", "b", "c", "d"]);
    let out = ae().args(args(&csv, &dir.path().join("alone.ae"))).arg("--shard").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("mpirun"), "{err}");
}

/// `--shard --validation FILE`: each rank reads only the rows of the validation batches
/// it measures (a CSV file's, read a chunk at a time). `mpirun -n 2` and `-n 3` write the
/// bytes (the validation losses among them) one process writes reading the file whole:
/// in memory, trimmed, and streamed in windows.
#[test]
fn a_validation_file_shared_out_writes_the_bytes_of_one_process() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 300);
    // 130 other rows: the last of the table's, in reverse order.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut v = lines[0].to_string() + "\n";
    lines[171..].iter().rev().for_each(|l| v += &format!("{l}\n"));
    let validation = dir.path().join("validation.csv");
    std::fs::write(&validation, v).unwrap();
    let args = |out: &Path, extra: &[String]| {
        let mut v = shared_out_args(&csv, out);
        v.extend(["--validation".to_string(), validation.display().to_string()]);
        v.extend(extra.iter().cloned());
        v
    };
    // Streamed in windows of 128 rows: one process's budget holds 128 rows, each of two
    // ranks' its 64 (see the streaming test for the budget).
    let stream = |rows: u64| {
        [
            "--stream".to_string(),
            "--memory-budget".into(),
            ((128u64 << 20) + 3 * 300 * 12 * 4 + rows * 56).to_string(),
        ]
    };
    let trim = ["--trim", "0.3"].map(String::from);
    for (what, alone, ranked, ranks) in [
        ("in memory", &[][..], &[][..], &[2, 3][..]),
        ("trimmed", &trim[..], &trim[..], &[3][..]),
        ("streamed", &stream(128)[..], &stream(64)[..], &[2][..]),
    ] {
        let one = dir.path().join("one.ae");
        ok(ae().args(args(&one, alone)));
        let want = std::fs::read(&one).unwrap();
        let model = autoencoder::file::load(&one).unwrap();
        let summary = model.training.as_ref().unwrap();
        assert_eq!((summary.rows.1, summary.val_loss.len()), (130, 3), "{what}");
        for &n in ranks {
            let out = dir.path().join(format!("shard-{n}.ae"));
            let mut cmd = mpirun().unwrap();
            run(cmd.args(["-n", &n.to_string()]).arg(ae_path()).args(args(&out, ranked)).arg("--shard"));
            assert!(std::fs::read(&out).unwrap() == want, "{what}: mpirun -n {n} --shard wrote other bytes");
        }
    }
}

/// Every rank streams when any rank chooses to: ranks decide from their own budget (and
/// machines differ in memory), and one that read its rows whole while the others
/// streamed would make other exchanges. Here rank 1 streams (`--stream`) and rank 0,
/// whose share is under its budget, would not: both stream, write the bytes of one
/// process streaming in windows of 128 rows, and rank 0 says why it streams.
#[test]
fn every_rank_streams_when_any_rank_chooses_to() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 300);
    // A window of `rows` rows of 12 values: the reserve, three reads of the file's one
    // chunk of 300 rows, 56 bytes a row (see the streaming test).
    let budget = |rows: u64| ((128u64 << 20) + 3 * 300 * 12 * 4 + rows * 56).to_string();
    let one = dir.path().join("one.ae");
    let mut alone = shared_out_args(&csv, &one);
    alone.extend(["--stream".into(), "--memory-budget".into(), budget(128)]);
    ok(ae().args(alone));
    let out = dir.path().join("ranks.ae");
    let rank = |stream: bool| {
        let mut v = shared_out_args(&csv, &out);
        v.extend(["--shard".into(), "--memory-budget".into(), budget(64)]);
        if stream {
            v.push("--stream".into());
        }
        v
    };
    let mut cmd = mpirun().unwrap();
    cmd.args(["-n", "1"])
        .arg(ae_path())
        .args(rank(false))
        .args([":", "-n", "1"])
        .arg(ae_path())
        .args(rank(true));
    let job = ended_within(
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&job.stderr);
    assert!(job.status.success(), "{stderr}");
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&one).unwrap(), "the ranks wrote other bytes");
    assert!(stderr.contains("as another rank chose to (its --stream or --memory-budget)"), "{stderr}");
}

/// Exchanges larger than one MPI call moves (2³¹ values: a held-out split of a file of
/// many GB, the gradient of a very large model) go in rounds, the same on every rank.
/// `AE_MPI_CALL_VALUES=40` lowers the limit so that this run's exchanges (the step's
/// rows, the gradient's partial sums, the validation rows) go in rounds of pieces of 13
/// to 20 values: `mpirun -n 2` and `-n 3 --shard` write the bytes of one process.
#[test]
fn exchanges_cut_into_rounds_write_the_bytes_of_one_process() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 300);
    let one = dir.path().join("one.ae");
    ok(ae().args(shared_out_args(&csv, &one)));
    let want = std::fs::read(&one).unwrap();
    for n in [2, 3] {
        let out = dir.path().join(format!("rounds-{n}.ae"));
        let mut cmd = mpirun().unwrap();
        cmd.env("AE_MPI_CALL_VALUES", "40").args(["-x", "AE_MPI_CALL_VALUES", "-n", &n.to_string()]);
        run(cmd.arg(ae_path()).args(shared_out_args(&csv, &out)).arg("--shard"));
        assert!(std::fs::read(&out).unwrap() == want, "mpirun -n {n} in rounds wrote other bytes");
    }
}

/// Standard input reaches one rank alone: `mpirun -n 2 ae train -` and `--validation -`
/// are refused at once, naming it, where a rank used to wait on it for ever.
#[test]
fn standard_input_under_mpirun_is_refused() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 50);
    let out = dir.path().join("m.ae");
    let dash = Path::new("-");
    for (what, data, extra) in
        [("the rows", dash, &[][..]), ("the validation rows", &csv, &["--validation", "-"][..])]
    {
        let mut cmd = mpirun().unwrap();
        let mut child = cmd
            .args(["-n", "2"])
            .arg(ae_path())
            .args(train_args(data, &["--epochs", "1"], &out))
            .args(extra)
            .stdin(std::fs::File::open(&csv).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{what} from standard input: the job still ran after 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let done = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&done.stderr);
        assert!(!done.status.success(), "{what}: {err}");
        assert!(err.contains("-: under mpirun every rank reads the data"), "{what}: {err}");
        assert!(!out.exists(), "{what}");
    }
}

/// `--stream` under mpirun: every rank streams every row, in the same windows, and
/// computes its micro-batches; with `--shard` too, each rank reads only its share of
/// every window, and its budget holds its share of a window `n` times as large.
/// `mpirun -n 2` and `-n 3` write the bytes one process writes with the same
/// micro-batches and windows: in one window (the default budget, shared by the ranks on
/// the machine: the in-memory model's bytes) and in windows of 120 rows a rank, plain
/// and trimmed with the standardized score.
#[test]
fn ranks_streaming_every_row_write_the_bytes_of_one_process() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 300);
    let args = |out: &Path| shared_out_args(&csv, out);
    // The flags of windows of `rows` rows: 128 MiB, three chunks (the file, 300 rows of
    // 12 values), and `rows` rows of 12 values and their place in the order (56 bytes a
    // row); and of the trimmed runs.
    let flags = |rows: Option<usize>, trim: bool| -> Vec<String> {
        let mut v = vec!["--stream".to_string()];
        if let Some(rows) = rows {
            let budget = (128u64 << 20) + 3 * 300 * 12 * 4 + rows as u64 * 56;
            v.extend(["--memory-budget".into(), budget.to_string()]);
        }
        if trim {
            v.extend(["--trim", "0.3", "--score", "standardized"].map(String::from));
        }
        v
    };
    let in_memory = dir.path().join("in-memory.ae");
    ok(ae().args(args(&in_memory)));
    // One process's bytes in windows of `rows` rows.
    let one = |rows: Option<usize>, trim: bool| {
        let path = dir.path().join("one.ae");
        let err =
            String::from_utf8_lossy(&ok(ae().args(args(&path)).args(flags(rows, trim))).stderr).to_string();
        if let Some(rows) = rows {
            assert!(err.contains(&format!("windows of {rows} rows")), "{rows} rows: {err}");
        }
        std::fs::read(&path).unwrap()
    };
    for (what, window, trim) in
        [("one window", None, false), ("windows", Some(120), false), ("trimmed", Some(120), true)]
    {
        let want = one(window, trim);
        if window.is_none() {
            assert!(want == std::fs::read(&in_memory).unwrap(), "one window: other bytes than in memory");
        }
        for n in [2, 3] {
            let out = dir.path().join(format!("stream-{n}.ae"));
            let mut cmd = mpirun().unwrap();
            run(cmd.args(["-n", &n.to_string()]).arg(ae_path()).args(args(&out)).args(flags(window, trim)));
            assert!(std::fs::read(&out).unwrap() == want, "{what}: mpirun -n {n} --stream wrote other bytes");
            // Shared out: each rank's window of 120 rows is its share of one of 120·n.
            let want = match window {
                Some(rows) => one(Some(rows * n), trim),
                None => want.clone(),
            };
            let mut cmd = mpirun().unwrap();
            let cmd =
                cmd.args(["-n", &n.to_string()]).arg(ae_path()).args(args(&out)).args(flags(window, trim));
            let err = String::from_utf8_lossy(&run(cmd.arg("--shard")).stderr).to_string();
            if let Some(rows) = window {
                let says = format!("windows of {} rows, each rank reading its {rows} (--shard)", rows * n);
                assert!(err.contains(&says), "{what}: mpirun -n {n} --shard: {err}");
            }
            assert!(
                std::fs::read(&out).unwrap() == want,
                "{what}: mpirun -n {n} --stream --shard wrote other bytes"
            );
        }
    }
}

/// NPY files whose first holds values in [0, 1] and the others values beyond: the
/// defaults are chosen from every rank's rows (z-scores and a linear output, as one
/// process holding them all chooses), not from the first file, and `mpirun -n 2
/// --shard` writes one process's bytes.
#[test]
fn shared_out_rows_choose_the_defaults_of_every_row() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let folder = crate::common::parts_first_in_unit_interval(dir.path(), 100, 6);
    let flags = ["--layers", "4,2", "--epochs", "2", "--batch-size", "50", "--micro-batch", "10"];
    let args = |out: &Path| train_args(&folder, &flags, out);
    let (one, two) = (dir.path().join("one.ae"), dir.path().join("two.ae"));
    ok(ae().args(args(&one)));
    run(mpirun().unwrap().args(["-n", "2"]).arg(ae_path()).args(args(&two)).arg("--shard"));
    let model = autoencoder::file::load(&one).unwrap();
    assert_eq!(model.config().normalize, autoencoder::NormalizeKind::ZScore);
    assert!(
        std::fs::read(&two).unwrap() == std::fs::read(&one).unwrap(),
        "mpirun -n 2 --shard wrote other bytes"
    );
}

/// The pid of the `ae` process of `rank` whose command line names `marker`.
fn rank_pid(rank: usize, marker: &str) -> Option<u32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let has = |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
        let first = cmdline.split(|&b| b == 0).next().unwrap_or_default();
        if first.ends_with(b"/ae")
            && has(&cmdline, marker)
            && environ.split(|&b| b == 0).any(|v| v == format!("OMPI_COMM_WORLD_RANK={rank}").as_bytes())
        {
            return Some(pid);
        }
    }
    None
}

/// `mpirun -n 2` with a checkpoint each epoch; rank 1 is killed after the second
/// checkpoint: the job ends within seconds with a message naming the rank, rank 0
/// writes no model, and `ae train --resume` in one process ends with the bytes of the
/// uninterrupted two-rank run.
#[test]
fn a_dead_rank_ends_the_job_and_one_process_resumes_it() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    kill_and_resume(dir.path(), &|| mpirun().unwrap());
}

/// `ae train` of `data` for 40 epochs, with a checkpoint each epoch, as each run of
/// [`kill_and_resume`] and [`ctrl_c_on_one_rank_stops_every_rank_after_the_same_epoch`] has it.
fn checkpointed(data: &Path, out: &Path, ckpt: &Path) -> Vec<String> {
    let mut v: Vec<String> = vec!["train".into(), data.display().to_string()];
    v.extend(
        [
            "--layers",
            "64,32,4",
            "--epochs",
            "40",
            "--batch-size",
            "64",
            "--micro-batch",
            "16",
            "--threads",
            "1",
            "--no-plots",
            "--checkpoint-every",
            "1",
            "--checkpoint",
        ]
        .map(String::from),
    );
    v.extend([ckpt.display().to_string(), "-o".into(), out.display().to_string()]);
    v
}

/// The epochs a checkpoint at `p` has done, once it can be read.
fn epochs_done(p: &Path) -> Option<usize> {
    autoencoder::train::load_checkpoint(p).map(|c| c.resume.state.epochs_done).ok()
}

/// What `job` wrote, once it ended; a job still running after `limit` is ended
/// (SIGTERM to `mpirun`, which ends its ranks) and fails the test, rather than hang it.
fn ended_within(mut job: std::process::Child, limit: Duration) -> Output {
    let t0 = Instant::now();
    while job.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            Command::new("kill").args(["-TERM", &job.id().to_string()]).status().unwrap();
            let out = job.wait_with_output().unwrap();
            panic!("the job was still running after {limit:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    job.wait_with_output().unwrap()
}

/// `launch -n 2 ae train` as [`checkpointed`] writing `cut` and `ckpt`, once its second
/// checkpoint is written; and the pid of its rank 1.
fn started_two_ranks(
    launch: &dyn Fn() -> Command,
    data: &Path,
    cut: &Path,
    ckpt: &Path,
) -> (std::process::Child, u32) {
    let mut job = launch()
        .args(["-n", "2"])
        .arg(ae_path())
        .args(checkpointed(data, cut, ckpt))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while epochs_done(ckpt).is_none_or(|e| e < 2) {
        assert!(t0.elapsed() < Duration::from_secs(120), "no second checkpoint in 2 minutes");
        assert!(job.try_wait().unwrap().is_none(), "the job ended before the second checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rank_pid(1, &cut.display().to_string()).expect("rank 1 is running");
    (job, pid)
}

/// Ctrl-C (SIGINT) reaching rank 1 alone (mpirun forwards it to every rank, each at its
/// own moment): every rank stops after the same epoch, rank 0 writes the model and the
/// checkpoint of that epoch, the job exits with 130, and `ae train --resume` in one
/// process ends with the bytes of the uninterrupted run. (Before the ranks agreed on
/// stopping, rank 0 went on into an exchange rank 1 never made, and waited for ever.)
#[test]
fn ctrl_c_on_one_rank_stops_every_rank_after_the_same_epoch() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = table(dir, 4000);
    let (full, full_ckpt) = (dir.join("full.ae"), dir.join("full.ckpt"));
    run(mpirun().unwrap().args(["-n", "2"]).arg(ae_path()).args(checkpointed(&data, &full, &full_ckpt)));
    let (cut, ckpt) = (dir.join("cut.ae"), dir.join("cut.ckpt"));
    let (job, pid) = started_two_ranks(&|| mpirun().unwrap(), &data, &cut, &ckpt);
    Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    let out = ended_within(job, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stopping after this epoch"), "{err}");
    assert_eq!(out.status.code(), Some(130), "interrupted, as one process says it: {err}");
    let at = epochs_done(&ckpt).unwrap();
    assert!((2..40).contains(&at), "{at}: {err}");
    // The model of the epoch the ranks stopped after, as its checkpoint holds it.
    let model = autoencoder::file::load(&cut).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(model.training.as_ref().map(|t| t.epochs_run), Some(at), "{err}");
    let resumed = dir.join("resumed.ae");
    ok(ae().args(checkpointed(&data, &resumed, &ckpt)).arg("--resume").arg(&ckpt));
    assert!(std::fs::read(&resumed).unwrap() == std::fs::read(&full).unwrap(), "resumed from epoch {at}");
}

/// [`a_dead_rank_ends_the_job_and_one_process_resumes_it`] with the `mpirun` that
/// `launch` gives.
fn kill_and_resume(dir: &Path, launch: &dyn Fn() -> Command) {
    let data = table(dir, 4000);
    let args = |out: &Path, ckpt: &Path| checkpointed(&data, out, ckpt);
    let (full, full_ckpt) = (dir.join("full.ae"), dir.join("full.ckpt"));
    run(launch().args(["-n", "2"]).arg(ae_path()).args(args(&full, &full_ckpt)));

    let (cut, ckpt) = (dir.join("cut.ae"), dir.join("cut.ckpt"));
    let (job, pid) = started_two_ranks(launch, &data, &cut, &ckpt);
    let killed = Instant::now();
    Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    let out = job.wait_with_output().unwrap();
    let waited = killed.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(waited < Duration::from_secs(20), "the job took {waited:?} to end");
    assert!(err.contains("rank 1"), "the message names the rank: {err}");
    assert!(!cut.exists(), "no model from a broken job");
    let at = epochs_done(&ckpt).unwrap();
    assert!((2..40).contains(&at), "{at}");
    eprintln!("killed rank 1 after epoch {at}; the job ended in {waited:?}");

    let resumed = dir.join("resumed.ae");
    ok(ae().args(args(&resumed, &ckpt)).arg("--resume").arg(&ckpt));
    assert!(std::fs::read(&resumed).unwrap() == std::fs::read(&full).unwrap(), "resumed from epoch {at}");
}

/// Two hosts on this machine: two network namespaces joined by a veth pair, each with
/// its own host name; `mpirun` starts in the first and reaches the second over TCP
/// (its remote launcher is `ip netns exec`, where a cluster's is ssh). Removed on drop.
struct TwoHosts {
    ns: [String; 2],
    hosts: [String; 2],
    net: String,
    agent: PathBuf,
}

impl TwoHosts {
    /// `None` (saying why) where namespaces cannot be made: not root, or no `ip`.
    fn new(dir: &Path) -> Option<TwoHosts> {
        let id = std::process::id() % 100_000;
        let ns = [format!("ae{id}a"), format!("ae{id}b")];
        let hosts = [format!("aehost{id}a"), format!("aehost{id}b")];
        let subnet = 16 + id % 200;
        let net = format!("10.{subnet}.77.0/24");
        let sh = |c: &str| Command::new("sh").args(["-c", c]).output().is_ok_and(|o| o.status.success());
        if !sh(&format!("ip netns add {}", ns[0])) {
            eprintln!("skipped: network namespaces need root and iproute2 (ip netns add failed)");
            return None;
        }
        let two = TwoHosts { ns: ns.clone(), hosts: hosts.clone(), net, agent: dir.join("netns-agent") };
        let (va, vb) = (format!("aev{id}a"), format!("aev{id}b"));
        let mut script =
            format!("set -e; ip netns add {}; ip link add {va} type veth peer name {vb}\n", ns[1]);
        for (i, v) in [&va, &vb].iter().enumerate() {
            let n = &ns[i];
            script += &format!(
                "ip link set {v} netns {n}; ip -n {n} addr add 10.{subnet}.77.{}/24 dev {v}; ip -n {n} link set {v} up; ip -n {n} link set lo up\n",
                i + 1
            );
            // `ip netns exec` puts /etc/netns/NS/hosts over /etc/hosts: the names resolve.
            script += &format!(
                "mkdir -p /etc/netns/{n}; printf '127.0.0.1 localhost\\n10.{subnet}.77.1 {}\\n10.{subnet}.77.2 {}\\n' > /etc/netns/{n}/hosts\n",
                hosts[0], hosts[1]
            );
        }
        assert!(sh(&script), "the namespaces were not made: {script}");
        let agent = format!(
            "#!/bin/sh\nhost=$1; shift\ncase $host in {h0}) ns={n0};; {h1}) ns={n1};; *) echo \"unknown host $host\" >&2; exit 1;; esac\nexec ip netns exec $ns unshare --uts sh -c \"hostname $host; exec $*\"\n",
            h0 = hosts[0],
            h1 = hosts[1],
            n0 = ns[0],
            n1 = ns[1]
        );
        std::fs::write(&two.agent, agent).unwrap();
        assert!(sh(&format!("chmod +x {}", two.agent.display())));
        Some(two)
    }

    /// `mpirun` in the first namespace, one slot on each host, TCP on the veth pair
    /// only; the arguments given after it are mpirun's.
    fn mpirun(&self) -> Command {
        let script = format!(
            "hostname {h0}; exec mpirun --host {h0}:1,{h1}:1 --mca plm_rsh_agent {agent} --mca plm_rsh_no_tree_spawn 1 --mca btl tcp,self --mca btl_tcp_if_include {net} --mca oob_tcp_if_include {net} \"$@\"",
            h0 = self.hosts[0],
            h1 = self.hosts[1],
            agent = self.agent.display(),
            net = self.net
        );
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns[0], "unshare", "--uts", "sh", "-c", &script, "sh"]);
        c.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        c
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        for n in &self.ns {
            // Deleting a namespace deletes its end of the veth pair, and so the pair.
            let _ = Command::new("ip").args(["netns", "del", n]).status();
            let _ = std::fs::remove_dir_all(format!("/etc/netns/{n}"));
        }
    }
}

/// Two hosts, one rank on each, `mpirun` over TCP between them: the bytes of one
/// process; then rank 1 (on the second host) is killed mid-run, the job ends naming
/// it, and one process resumes the last checkpoint to the uninterrupted run's bytes.
#[test]
fn two_hosts_over_tcp_write_the_bytes_of_one_process() {
    let Some(_) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(hosts) = TwoHosts::new(dir.path()) else { return };
    let data = table(dir.path(), 300);
    let flags =
        ["--layers", "8,3", "--dropout", "0.1", "--epochs", "3", "--batch-size", "64", "--micro-batch", "16"];
    let args = |out: &Path| train_args(&data, &flags, out);
    let one = dir.path().join("one.ae");
    ok(ae().args(args(&one)));
    let two = dir.path().join("two.ae");
    let out = run(hosts.mpirun().args(["-n", "2", "sh", "-c", "ip netns identify $$; hostname"]));
    let seen = String::from_utf8_lossy(&out.stdout);
    for (n, h) in hosts.ns.iter().zip(&hosts.hosts) {
        assert!(seen.contains(n.as_str()) && seen.contains(h.as_str()), "a rank on each host: {seen}");
    }
    run(hosts.mpirun().args(["-n", "2"]).arg(ae_path()).args(args(&two)));
    assert!(std::fs::read(&two).unwrap() == std::fs::read(&one).unwrap(), "two hosts wrote other bytes");
    let kill = dir.path().join("kill");
    std::fs::create_dir(&kill).unwrap();
    kill_and_resume(&kill, &|| hosts.mpirun());
}

/// Without `--stream`, each rank of `--shard` decides by itself whether its share of
/// the rows is over its budget, and all stream when one does: here each rank's share
/// (300 rows of 12 values, 7 KiB each) is over a budget of 5,000 bytes, too small for a
/// window, and every rank ends at once with the error naming the budget in its units.
/// (A budget that holds a window besides the 128 MiB reserve and is still below a
/// share needs a file of more than 256 MiB: `every_rank_streams_when_any_rank_chooses_to`
/// makes the same agreement with `--stream` on one rank.)
#[test]
fn ranks_over_their_budget_stream_by_themselves() {
    let Some(mut cmd) = mpirun() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 300);
    let out = dir.path().join("m.ae");
    let mut args = shared_out_args(&csv, &out);
    args.extend(["--shard", "--memory-budget", "5000"].map(String::from));
    let job = ended_within(
        cmd.args(["-n", "2"])
            .arg(ae_path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&job.stderr);
    assert!(!job.status.success() && !out.exists(), "{stderr}");
    assert!(stderr.contains("invalid memory_budget: 4.9 KiB cannot hold a window of 64 rows"), "{stderr}");
}
