//! Data-parallel training under `mpirun`: whether this process is one rank of an MPI
//! job, and the MPI world as the library's [`Peers`] (`MPI_Alltoallv` and
//! `MPI_Allgatherv` with counts every rank knows; the library adds the partial
//! gradients in its fixed tree, never MPI).

use autoencoder::{Error, Peers, Result};

/// Whether `mpirun` (OpenMPI, or a PMI launcher such as MPICH's or Slurm's) started
/// this process, and how many processes it started.
pub fn launched_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|v| v.trim().parse().ok())
}

/// This rank of the MPI job (MPI initialised for the process's life).
pub struct Job {
    #[cfg(feature = "mpi")]
    _universe: mpi::environment::Universe,
    rank: usize,
    size: usize,
    /// The ranks on this machine (this one included).
    local: usize,
}

impl Job {
    /// The job this process is a rank of, or `None` when no launcher started it. An
    /// `ae` built without the `mpi` feature refuses a job of more than one process
    /// (each would train alone and write the same file).
    pub fn detect() -> Result<Option<Job>> {
        let Some(size) = launched_size() else { return Ok(None) };
        Job::start(size)
    }

    #[cfg(feature = "mpi")]
    fn start(_size: usize) -> Result<Option<Job>> {
        use mpi::traits::Communicator;
        // Serialized: the calls come from whichever thread runs the training step
        // (a worker of the private pool with --threads > 1), one at a time.
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| Error::config("mpi", "MPI could not be initialised (MPI_Init_thread failed)"))?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        // The ranks that share this machine's memory (MPI_Comm_split_type, shared).
        let local = world.split_shared(world.rank()).size() as usize;
        Ok(Some(Job { _universe: universe, rank, size, local }))
    }

    #[cfg(not(feature = "mpi"))]
    fn start(size: usize) -> Result<Option<Job>> {
        if size > 1 {
            return Err(Error::config(
                "mpi",
                format!(
                    "ae runs under mpirun as one of {size} processes, but was built without MPI; build it with `cargo build --release -p autoencoder-cli --features mpi` (needs libopenmpi-dev)"
                ),
            ));
        }
        Ok(Some(Job { rank: 0, size: 1, local: 1 }))
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The ranks on this machine, this one included: what share of its memory a rank
    /// takes by default.
    pub fn local_size(&self) -> usize {
        self.local
    }

    /// The job as the library's peers (none for a job of one process without MPI).
    pub fn peers(&self) -> Option<Box<dyn Peers>> {
        #[cfg(feature = "mpi")]
        return Some(Box::new(World { rank: self.rank, size: self.size }));
        #[cfg(not(feature = "mpi"))]
        None
    }
}

/// The MPI world communicator, fetched on each call (a handle to MPI's global world;
/// holding none keeps this `Send`).
#[cfg(feature = "mpi")]
struct World {
    rank: usize,
    size: usize,
}

#[cfg(feature = "mpi")]
impl World {
    /// `MPI_Allgatherv` with the counts every rank knows.
    fn gather<T: mpi::datatype::Equivalence>(
        &self,
        mine: &[T],
        counts: &[usize],
        all: &mut [T],
    ) -> Result<()> {
        use mpi::datatype::PartitionMut;
        use mpi::traits::CommunicatorCollectives;
        let (counts, displs) = counts_and_displacements(counts)?;
        let world = mpi::topology::SimpleCommunicator::world();
        let mut partition = PartitionMut::new(all, &counts[..], &displs[..]);
        world.all_gather_varcount_into(mine, &mut partition);
        Ok(())
    }
}

/// MPI's counts and displacements (C ints) for parts of `counts` values in order.
#[cfg(feature = "mpi")]
fn counts_and_displacements(counts: &[usize]) -> Result<(Vec<mpi::Count>, Vec<mpi::Count>)> {
    let too_big = || {
        Error::config("mpi", "an exchange of more than 2³¹ values per rank; use fewer, larger micro-batches or a smaller model")
    };
    let counts: Vec<mpi::Count> =
        counts.iter().map(|&c| mpi::Count::try_from(c).map_err(|_| too_big())).collect::<Result<_>>()?;
    let mut displs = Vec::with_capacity(counts.len());
    let mut at: mpi::Count = 0;
    for &c in &counts {
        displs.push(at);
        at = at.checked_add(c).ok_or_else(too_big)?;
    }
    Ok((counts, displs))
}

#[cfg(feature = "mpi")]
impl Peers for World {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> Result<()> {
        self.gather(mine, counts, all)
    }
    fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> Result<()> {
        self.gather(mine, counts, all)
    }
    fn all_to_all_f32(
        &mut self,
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
    ) -> Result<()> {
        use mpi::datatype::{Partition, PartitionMut};
        use mpi::traits::CommunicatorCollectives;
        let (sc, sd) = counts_and_displacements(send_counts)?;
        let (rc, rd) = counts_and_displacements(recv_counts)?;
        let world = mpi::topology::SimpleCommunicator::world();
        let send = Partition::new(send, &sc[..], &sd[..]);
        let mut recv = PartitionMut::new(recv, &rc[..], &rd[..]);
        world.all_to_all_varcount_into(&send, &mut recv);
        Ok(())
    }
}
