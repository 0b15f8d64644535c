//! Table files as the Python layer's `Files` names them (`_core.TableFiles`): their
//! paths and the roles of their columns, turned once into the library's
//! [`LoadOptions`] for a fit (with the estimator's rule for missing values) or for a
//! model's inference (with the model's categorical encodings).

use std::path::PathBuf;

use autoencoder::data::columns::{ColumnRef, Columns, Missing};
use autoencoder::data::open::LoadOptions;
use autoencoder::Autoencoder;
use pyo3::prelude::*;

/// Table files (every path a shard of one table: a file, a folder of table files or a
/// glob pattern) and their columns' roles: the label, the id, the features (by default
/// every other column), the columns left out, and the text columns one-hot encoded
/// (`ae train --categorical`). A column is a header name or a 0-based index.
#[pyclass(module = "autoencoder._core", frozen)]
pub struct TableFiles {
    pub paths: Vec<PathBuf>,
    columns: Columns,
}

#[pymethods]
impl TableFiles {
    #[new]
    #[pyo3(signature = (paths, *, label_column=None, id_column=None, columns=None, ignore_columns=Vec::new(), categorical=Vec::new()))]
    fn new(
        paths: Vec<PathBuf>,
        label_column: Option<String>,
        id_column: Option<String>,
        columns: Option<Vec<String>>,
        ignore_columns: Vec<String>,
        categorical: Vec<String>,
    ) -> TableFiles {
        let column = |s: String| s.parse::<ColumnRef>().unwrap_or_else(|never| match never {});
        let columns = Columns {
            label: label_column.map(column),
            id: id_column.map(column),
            features: columns.map(|c| c.into_iter().map(column).collect()),
            ignore: ignore_columns.into_iter().map(column).collect(),
            categorical: categorical.into_iter().map(column).collect(),
            ..Columns::default()
        };
        TableFiles { paths, columns }
    }
}

impl TableFiles {
    /// How a fit reads them: a missing value is what `missing` says (`error`, `drop`
    /// or `mean`), and the categorical columns take the values the rows hold.
    pub fn for_fit(&self, missing: Missing) -> LoadOptions {
        LoadOptions { columns: Columns { missing, ..self.columns.clone() }, ..LoadOptions::default() }
    }

    /// How `model` reads them, as `ae score` and `ae encode` do: its categorical columns
    /// encoded with its training values, and a missing value NaN, which the model fills
    /// (trained with `missing="mean"`) or refuses.
    pub fn for_model(&self, model: &Autoencoder) -> LoadOptions {
        let fill = self.for_fit(Missing::Mean);
        LoadOptions { columns: fill.columns.with_categories(&model.categories), ..fill }
    }
}
