//! The library's integration tests in one test binary (one link instead of six): one
//! module per concern; `common` holds the gradient checks they share. The tests with a
//! global allocator of their own (`no_alloc`, `pca_memory`) stay binaries apart.

mod common;

mod conv_gradients;
mod gradients;
mod layout;
mod micro_batches;
mod real_data;
mod resume_data;
mod threads;
mod training;
