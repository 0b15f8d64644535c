//! Rows as the core's functions take them from Python: a 2-D, C-contiguous, aligned
//! array of native float32 (`rows × features`), borrowed without a copy, or a one-line
//! error saying what the array is instead.

use numpy::{PyArrayDescrMethods, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A 2-D C-contiguous aligned float32 array: what `Model`'s methods and the core's
/// functions take (the `Autoencoder` estimator converts any rows to it first). Any other
/// array is refused, never read in another order: a Fortran-ordered or strided array's
/// memory is not its rows.
pub struct Rows<'py>(PyReadonlyArray2<'py, f32>);

impl<'py> std::ops::Deref for Rows<'py> {
    type Target = PyReadonlyArray2<'py, f32>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Rows<'py> {
    type Error = PyErr;

    /// A `TypeError` for what is not a 2-D float32 array (pyo3 adds the argument's name),
    /// a `ValueError` for one whose memory is not its rows in order.
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        const CONVERT: &str =
            "np.ascontiguousarray(x, dtype=np.float32) makes one; Autoencoder's methods take any rows";
        let Ok(array) = obj.cast::<PyUntypedArray>() else {
            let kind = obj.get_type().name().map_or_else(|_| "an object".to_string(), |n| n.to_string());
            return Err(PyTypeError::new_err(format!(
                "expected a 2-D float32 numpy array (rows × features), got {kind} ({CONVERT})"
            )));
        };
        if array.ndim() != 2 {
            return Err(PyTypeError::new_err(format!(
                "expected a 2-D float32 array (rows × features), got one of {} dimensions ({CONVERT})",
                array.ndim()
            )));
        }
        let dtype = array.dtype();
        if !dtype.is_equiv_to(&numpy::dtype::<f32>(obj.py())) {
            let name = dtype.str().map_or_else(|_| "another type".to_string(), |s| s.to_string());
            return Err(PyTypeError::new_err(format!(
                "expected float32 values in native byte order, got {name} ({CONVERT})"
            )));
        }
        if !array.is_c_contiguous() || !array.is_aligned() {
            return Err(PyValueError::new_err(format!(
                "expected rows in C order, aligned, got an array that is {} ({CONVERT}, with .copy() for an unaligned buffer)",
                if array.is_c_contiguous() { "not aligned" } else { "not C-contiguous (a Fortran-ordered, transposed or strided view)" }
            )));
        }
        Ok(Rows(obj.extract::<PyReadonlyArray2<'py, f32>>()?))
    }
}

/// The values of `x`, row after row, without a copy.
pub fn rows<'a>(x: &'a Rows<'_>, what: &str) -> PyResult<&'a [f32]> {
    x.as_slice().map_err(|_| PyValueError::new_err(format!("{what} must be a C-contiguous float32 array")))
}
