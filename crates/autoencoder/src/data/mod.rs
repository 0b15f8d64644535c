//! Data: the `Dataset` every loader produces, one module per file format, the
//! normalisers, the built-in synthetic images and the named datasets.

pub mod buffer;
pub mod builtin;
pub mod bytes;
pub mod chunks;
#[cfg(feature = "parquet")]
pub mod columnar;
pub mod columns;
pub mod csv;
pub mod dataset;
pub mod idx;
pub mod image;
pub mod mat;
pub mod normalize;
pub mod npy;
pub mod open;
pub mod rows_writer;
pub mod shards;
pub mod synthetic;
#[cfg(test)]
pub(crate) mod test_data;
mod values;

pub use dataset::{DataShape, Dataset, ImageShape, RowIds, ValueRange};
pub use normalize::{NormalizeKind, Normalizer};
