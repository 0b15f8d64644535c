//! A Python object as the library's [`Peers`]: the processes of a data-parallel fit
//! that the Python side connects (`autoencoder.MPIPeers` over mpi4py, or any object
//! with `rank`, `size`, `all_gather` and `all_to_all`), called back with the GIL taken
//! for each exchange.

use std::sync::{Arc, Mutex};

use autoencoder::{Error, Peers, Result};
use numpy::{Element, PyArray1, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The most processes a fit may be shared among (2²⁰).
const MAX_PROCESSES: usize = 1 << 20;

/// The Python object, this process's rank among `size`, and the first exception one of
/// its methods raised (the fit re-raises it, rather than the library's message).
pub(crate) struct PyPeers {
    object: Py<PyAny>,
    rank: usize,
    size: usize,
    raised: Arc<Mutex<Option<PyErr>>>,
}

impl PyPeers {
    /// `object` checked: integer `rank` and `size` with `0 ≤ rank < size`, and the two
    /// methods.
    pub(crate) fn new(object: &Bound<'_, PyAny>) -> PyResult<PyPeers> {
        let int = |name: &str| -> PyResult<usize> {
            object.getattr(name).and_then(|v| v.extract::<usize>()).map_err(|_| {
                PyValueError::new_err(format!(
                    "peers.{name} must be a non-negative int (the process's place)"
                ))
            })
        };
        let (rank, size) = (int("rank")?, int("size")?);
        if size == 0 || rank >= size {
            return Err(PyValueError::new_err(format!(
                "peers.rank must be below peers.size, got rank {rank} of size {size}"
            )));
        }
        // Exchanges hold a few numbers per process: a size no job has is refused before
        // it is allocated.
        if size > MAX_PROCESSES {
            return Err(PyValueError::new_err(format!(
                "peers.size must be at most {MAX_PROCESSES} processes, got {size}"
            )));
        }
        for method in ["all_gather", "all_to_all"] {
            if !object.getattr(method).is_ok_and(|m| m.is_callable()) {
                return Err(PyValueError::new_err(format!(
                    "peers must have a method {method} (see autoencoder.MPIPeers)"
                )));
            }
        }
        Ok(PyPeers { object: object.clone().unbind(), rank, size, raised: Arc::default() })
    }

    /// Where the first exception a method raised is kept.
    pub(crate) fn raised(&self) -> Arc<Mutex<Option<PyErr>>> {
        Arc::clone(&self.raised)
    }

    /// `peers.method(*args)` as `n` values of `T` copied into `out`; an exception, or a
    /// result that is no 1-D array of `n` values of `T`, is kept and becomes an error.
    fn call<T: Element + Copy>(
        &self,
        method: &str,
        args: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyTuple>>,
        out: &mut [T],
    ) -> Result<()> {
        Python::attach(|py| {
            let got = (|| -> PyResult<()> {
                let r = self.object.bind(py).call_method1(method, args(py)?)?;
                let wrong = || {
                    PyValueError::new_err(format!(
                        "peers.{method} must return a 1-D numpy array of {} {} values",
                        out.len(),
                        std::any::type_name::<T>()
                    ))
                };
                let array = r.extract::<PyReadonlyArray1<'_, T>>().map_err(|_| wrong())?;
                if array.len() != out.len() {
                    return Err(wrong());
                }
                match array.as_slice() {
                    Ok(s) => out.copy_from_slice(s),
                    Err(_) => out.iter_mut().zip(array.as_array().iter()).for_each(|(o, &v)| *o = v),
                }
                Ok(())
            })();
            got.map_err(|e| {
                let message = format!("peers.{method}: {e}");
                self.raised.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                Error::config("peers", message)
            })
        })
    }

    fn gather<T: Element + Copy>(&self, mine: &[T], counts: &[usize], all: &mut [T]) -> Result<()> {
        self.call("all_gather", |py| (PyArray1::from_slice(py, mine), counts.to_vec()).into_pyobject(py), all)
    }
}

impl Peers for PyPeers {
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
        _most: usize,
    ) -> Result<()> {
        self.call(
            "all_to_all",
            |py| {
                (PyArray1::from_slice(py, send), send_counts.to_vec(), recv_counts.to_vec()).into_pyobject(py)
            },
            recv,
        )
    }
}
