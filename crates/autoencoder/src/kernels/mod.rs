//! Every inner loop of the engine: the matrix product (over faer), the fused
//! element-wise passes, reductions, optimizer updates, and the thread policy.
//!
//! Layers, losses and optimizers call these functions and never loop over elements
//! themselves: this is the one place to optimise and the seam for another backend.
//!
//! Internal: public (and `#[doc(hidden)]`) only for the `ae` command, the tests and the
//! benches; not part of the library's promised API, and it may change in any release.
//! [`Threads`] is the crate root's `autoencoder::Threads`.

pub mod conv;
pub mod elementwise;
pub mod gaussian;
pub mod math;
pub mod matmul;
pub mod norm;
pub mod update;

mod threads;

pub use matmul::{clear_upper_registers, matmul, matmul_transposed_rows, Transpose};
pub(crate) use threads::Shared;
pub use threads::{Awake, FlushDenormals, Threads, MAX_THREADS};

/// Run `f` compiled for the best instruction set this CPU has (AVX-512, AVX2+FMA, or
/// baseline x86-64), detected at run time. Everything `f` calls must be
/// `#[inline(always)]` to benefit.
///
/// Results do not depend on the instruction set chosen: Rust never contracts `a*b+c`
/// into a fused multiply-add nor reorders floating-point sums, so the wider vectors
/// compute the same bits as the scalar code. A fused multiply-add written out
/// (`f32::mul_add`, as in [`math::exp`]) rounds once on every path: an instruction
/// with AVX2 or AVX-512, a correctly rounded library call on baseline x86-64.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}
