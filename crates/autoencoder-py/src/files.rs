//! Tables as the Python layer hands them to the library: files as `Files` names them
//! (`_core.TableFiles`: their paths and the roles of their columns, turned once into the
//! library's [`LoadOptions`] for a fit, with the estimator's rule for missing values,
//! or for a model's inference, with its categorical encodings), and DataFrames with
//! text columns as Arrow IPC bytes, read by the library's Arrow reader
//! ([`read_arrow_ipc`]) so that their one-hot encoding is `ae train --categorical`'s.

use std::path::PathBuf;

use autoencoder::data::columns::{Categorical, ColumnRef, Columns, Missing};
use autoencoder::data::csv::{parse_delimiter, CsvOptions};
use autoencoder::data::open::LoadOptions;
use autoencoder::Autoencoder;
use numpy::PyArray2;
use pyo3::prelude::*;

use crate::{array2, to_py};

/// Table files (every path a shard of one table: a file, a folder of table files or a
/// glob pattern) and their columns' roles: the label, the id, the features (by default
/// every other column), the columns left out, and the text columns one-hot encoded
/// (`ae train --categorical`). A column is a header name or a 0-based index. CSV files
/// are read with `header` (`auto`, `yes`, `no`), `delimiter` (`None`: told from the
/// file; `tab` or one character), `decimal` (`point` or `comma`) and `thousands`
/// (`None`, or a separator: `comma`, `point`, `space` …), as `ae`'s flags of those names
/// say.
#[pyclass(module = "autoencoder._core", frozen)]
pub struct TableFiles {
    pub paths: Vec<PathBuf>,
    columns: Columns,
    csv: CsvOptions,
}

#[pymethods]
impl TableFiles {
    #[new]
    #[pyo3(signature = (paths, *, label_column=None, id_column=None, columns=None, ignore_columns=Vec::new(), categorical=Vec::new(), header="auto", delimiter=None, decimal="point", thousands=None))]
    #[allow(clippy::too_many_arguments)] // the keywords of Python's `Files`
    fn new(
        paths: Vec<PathBuf>,
        label_column: Option<String>,
        id_column: Option<String>,
        columns: Option<Vec<String>>,
        ignore_columns: Vec<String>,
        categorical: Vec<String>,
        header: &str,
        delimiter: Option<&str>,
        decimal: &str,
        thousands: Option<&str>,
    ) -> PyResult<TableFiles> {
        let column = |s: String| s.parse::<ColumnRef>().unwrap_or_else(|never| match never {});
        let columns = Columns {
            label: label_column.map(column),
            id: id_column.map(column),
            features: columns.map(|c| c.into_iter().map(column).collect()),
            ignore: ignore_columns.into_iter().map(column).collect(),
            categorical: categorical.into_iter().map(column).collect(),
            ..Columns::default()
        };
        let csv = CsvOptions {
            header: header.parse().map_err(to_py)?,
            delimiter: parse_delimiter(delimiter.unwrap_or("auto")).map_err(to_py)?,
            decimal: decimal.parse().map_err(to_py)?,
            thousands: thousands.map(str::parse).transpose().map_err(to_py)?,
        };
        csv.check().map_err(to_py)?;
        Ok(TableFiles { paths, columns, csv })
    }
}

impl TableFiles {
    /// How a fit reads them: a missing value is what `missing` says (`error`, `drop`
    /// or `mean`), and the categorical columns take the values the rows hold.
    pub fn for_fit(&self, missing: Missing) -> LoadOptions {
        let columns = Columns { missing, ..self.columns.clone() };
        LoadOptions { columns, csv: self.csv.clone(), ..LoadOptions::default() }
    }

    /// How `model` reads them, as `ae score` and `ae encode` do
    /// ([`Autoencoder::reading_columns`]): its categorical columns encoded with its
    /// training values, and a missing value filled (trained with `missing="mean"`) or
    /// refused.
    pub fn for_model(&self, model: &Autoencoder) -> LoadOptions {
        let reading = model.reading_columns();
        let columns = Columns { missing: reading.missing, ..self.columns.clone() };
        let columns = columns.with_categories(&reading.categories);
        LoadOptions { columns, csv: self.csv.clone(), ..LoadOptions::default() }
    }

    /// Their rows read whole with `opts` ([`load_tables`](autoencoder::data::open::load_tables)),
    /// without the GIL.
    pub fn read(&self, py: Python<'_>, opts: &LoadOptions) -> PyResult<autoencoder::Dataset> {
        py.detach(|| autoencoder::data::open::load_tables(&self.paths, opts)).map_err(to_py)
    }
}

/// The one-hot encodings of a table's categorical columns (each column's values), as
/// a fit found them or a model keeps them: what later tables are encoded with.
#[pyclass(module = "autoencoder._core", frozen)]
#[derive(Clone)]
pub struct Categories(pub Vec<Categorical>);

impl Categories {
    /// A model's encodings.
    pub fn of(model: &Autoencoder) -> Categories {
        Categories(model.categories.clone())
    }
}

/// `(rows, feature names, encodings)` of [`read_arrow_ipc`].
type ReadTable<'py> = (Bound<'py, PyArray2<f32>>, Option<Vec<String>>, Categories);

/// The rows of a table given as Arrow IPC stream bytes (a DataFrame the Python layer
/// wrote with pyarrow), read as `ae` reads an Arrow file: `columns`' roles (its paths
/// are not used), its categorical columns one-hot encoded with `categories` when given
/// (a model's, or a fit's for its validation rows), else with the values the rows
/// hold, and a missing value NaN. `name` names the table in errors.
#[pyfunction]
#[pyo3(signature = (ipc, columns, name="X", categories=None))]
pub fn read_arrow_ipc<'py>(
    py: Python<'py>,
    ipc: &[u8],
    columns: PyRef<'_, TableFiles>,
    name: &str,
    categories: Option<PyRef<'_, Categories>>,
) -> PyResult<ReadTable<'py>> {
    let mut opts = columns.for_fit(Missing::Mean);
    if let Some(c) = &categories {
        opts.columns = opts.columns.with_categories(&c.0);
    }
    let name = std::path::Path::new(name);
    let data = py.detach(|| autoencoder::data::open::load_reader(ipc, name, &opts)).map_err(to_py)?;
    let (cols, names, found) = (data.cols(), data.feature_names.clone(), Categories(data.categories.clone()));
    Ok((array2(py, data.into_vec(), cols)?, names, found))
}
