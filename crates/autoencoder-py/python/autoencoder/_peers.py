"""Data-parallel fitting: processes that each hold rows of their own fit one model
together, ``fit(X_part, peers=...)``. The peers carry the exchanges (an all-gather and
an all-to-all with counts every process knows); the library sums the partial gradients
in its fixed tree, so every process returns the model one process given every row
returns, bit for bit, whatever the number of processes."""

import contextlib
import signal
import sys
import threading

import numpy as np


class MPIPeers:
    """An mpi4py communicator as the peers of a fit (``MPI.COMM_WORLD`` by default):
    ``Allgatherv`` and ``Alltoallv`` on numpy buffers. Process ``rank`` passes its rows,
    which follow those of the processes of lower rank::

        from mpi4py import MPI
        est.fit(X_part, peers=MPIPeers(MPI.COMM_WORLD))   # or peers=MPI.COMM_WORLD

    Any object with ``rank``, ``size``, ``all_gather(mine, counts)`` and
    ``all_to_all(send, send_counts, recv_counts)`` (each returning a 1-D numpy array of
    the dtype it was given) serves as well: a transport of your own (Ray, sockets). Give
    it an ``abort(message)`` method too, and an exception inside its exchanges calls it
    before it is raised, as this class aborts the MPI job.

    An exception inside an exchange (the MPI call failing, no memory for the values to
    receive, a second Ctrl-C) would leave the other processes waiting in that exchange
    for ever. So the process writes the exception, naming itself, to standard error
    and aborts the job (``MPI_Abort``), as ``python -m mpi4py`` does for an exception
    anywhere: the job ends with it."""

    def __init__(self, comm=None):
        if comm is None:
            from mpi4py import MPI

            comm = MPI.COMM_WORLD
        self.comm = comm
        self.rank = int(comm.Get_rank())
        self.size = int(comm.Get_size())

    def all_gather(self, mine, counts):
        """Every process's ``mine`` (``counts[r]`` values from process ``r``), in rank order."""
        try:
            out = np.empty(int(sum(counts)), dtype=mine.dtype)
            self.comm.Allgatherv(mine, [out, [int(c) for c in counts]])
            return out
        except BaseException as e:
            self._abort("all_gather", e)

    def all_to_all(self, send, send_counts, recv_counts):
        """``send`` cut into ``send_counts[q]`` values for each process ``q``; returns the
        ``recv_counts[p]`` values each process ``p`` cut for this one, in rank order."""
        try:
            out = np.empty(int(sum(recv_counts)), dtype=send.dtype)
            self.comm.Alltoallv([send, [int(c) for c in send_counts]], [out, [int(c) for c in recv_counts]])
            return out
        except BaseException as e:
            self._abort("all_to_all", e)

    def _abort(self, exchange, e):
        """End the job: ``e`` was raised inside this process's ``exchange``, which the
        others are waiting in."""
        sys.stderr.write(
            f"autoencoder: process {self.rank} of {self.size} failed in an exchange ({exchange}): "
            f"{type(e).__name__}: {e}; aborting the job (MPI_Abort) so that the others do not wait for it\n"
        )
        sys.stderr.flush()
        self.comm.Abort(1)
        raise e  # (Abort does not return; a stand-in communicator's might)


class _Aborting:
    """A transport of the user's own that has an ``abort(message)`` method: an exception
    inside one of its exchanges calls it, with the message :class:`MPIPeers` writes, and
    is then raised. ``abort`` is the transport's way to end the job (close its sockets,
    kill its actors), so that the other processes, waiting in that exchange, fail in
    turn rather than wait for ever."""

    def __init__(self, peers):
        self.peers = peers
        self.rank, self.size = peers.rank, peers.size

    def all_gather(self, mine, counts):
        try:
            return self.peers.all_gather(mine, counts)
        except BaseException as e:
            self._abort("all_gather", e)

    def all_to_all(self, send, send_counts, recv_counts):
        try:
            return self.peers.all_to_all(send, send_counts, recv_counts)
        except BaseException as e:
            self._abort("all_to_all", e)

    def _abort(self, exchange, e):
        self.peers.abort(
            f"autoencoder: process {self.rank} of {self.size} failed in an exchange ({exchange}): "
            f"{type(e).__name__}: {e}"
        )
        raise e


def as_peers(peers):
    """``peers`` as the core takes it: an mpi4py communicator wrapped in
    :class:`MPIPeers`, a transport with an ``abort`` method in :class:`_Aborting`,
    anything else as given (the core checks it)."""
    if peers is not None and hasattr(peers, "Allgatherv") and hasattr(peers, "Get_rank"):
        return MPIPeers(peers)
    methods = ("all_gather", "all_to_all", "abort", "rank", "size")
    if peers is not None and all(hasattr(peers, m) for m in methods) and callable(peers.abort):
        return _Aborting(peers)
    return peers


def not_ready(peers):
    """Tell the other processes that this one cannot start the fit (its rows were
    refused): the fit's first exchange, one flag each, which the core makes once this
    process's inputs passed (``train::all_ready``). The others then raise, naming it,
    instead of waiting for it. A transport that fails here is passed over: the error
    this process raises is its own."""
    try:
        p = as_peers(peers)
        p.all_gather(np.ones(1, dtype=np.float64), [1] * int(p.size))
    except Exception:  # noqa: BLE001 (the original error is the one to raise)
        pass


@contextlib.contextmanager
def interrupt_after_epoch(progress):
    """With peers, Ctrl-C stops training after the current epoch on every process. The
    other processes would otherwise wait for ever in an exchange that this one never
    makes. While the fit runs, SIGINT sets ``progress.interrupted``, and the epoch's
    callback then stops training: every process agrees to stop after the same epoch. The
    block then raises ``KeyboardInterrupt``. A second Ctrl-C raises at once. This applies
    on the main thread with Python's own SIGINT handler; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def handler(signum, frame):
        if progress.interrupted:
            raise KeyboardInterrupt
        progress.interrupted = True

    progress.stops_on_interrupt = True
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if progress.interrupted:
        raise KeyboardInterrupt("Ctrl-C: every process stopped after the same epoch")
