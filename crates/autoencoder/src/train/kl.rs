//! The KL term of a variational autoencoder's objective: for an encoder output
//! `(μ, log σ²)` (`2k` values per row) and the prior `N(0, I)`,
//!
//! `KL(q(z|x) ‖ p(z)) = ½ Σⱼ (μⱼ² + σⱼ² − 1 − log σⱼ²)`,
//!
//! with gradient `∂KL/∂μⱼ = μⱼ`, `∂KL/∂log σⱼ² = ½(σⱼ² − 1)`. The training loss is the
//! negative ELBO per value, `(Σ reconstruction + β·Σ KL) / (n·d)`, so the KL gradient
//! enters with the scale `β/(n·d)`.

pub use crate::kernels::gaussian::{add_kl_gradient, kl_sum};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_of_the_prior_is_zero_and_of_a_shifted_gaussian_is_known() {
        assert_eq!(kl_sum(&[0.0, 0.0, 0.0, 0.0], 1, 2), 0.0);
        // μ = 1, σ² = e: ½(1 + e − 1 − 1) = ½(e − 1).
        let want = 0.5 * (std::f64::consts::E - 1.0);
        assert!((kl_sum(&[1.0, 1.0], 1, 1) - want).abs() < 1e-6);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x = [0.3f32, -1.2, 0.5, -0.7, 1.1, 0.2];
        let mut g = [0.0f32; 6];
        add_kl_gradient(&x, 1, 3, 1.0, &mut g);
        for i in 0..6 {
            let h = 1e-3;
            let (mut up, mut down) = (x, x);
            up[i] += h;
            down[i] -= h;
            let numeric = (kl_sum(&up, 1, 3) - kl_sum(&down, 1, 3)) / (2.0 * f64::from(h));
            assert!((f64::from(g[i]) - numeric).abs() < 1e-3, "{i}: {} vs {numeric}", g[i]);
        }
    }
}
