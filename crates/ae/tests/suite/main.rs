//! `ae` end to end: every test of the command in one test binary. One file per concern,
//! each a module here; `common` holds the helpers they share. (One binary links once:
//! sixteen binaries cost about two minutes of linking in a release build. The
//! malformed-file corpus, `tests/malformed.rs`, stays a binary of its own.)

mod common;

mod anomaly;
mod cli;
mod completions;
mod compress;
mod conv;
mod defaults;
mod family;
mod hostile;
mod layout;
mod library_api;
mod limits;
#[cfg(feature = "mpi")]
mod mpi;
mod no_clobber;
mod old_models;
mod pipes;
mod readme;
mod report;
mod resume;
#[cfg(feature = "serve")]
mod serve;
mod stream;
