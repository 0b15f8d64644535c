//! Optimizer steps against values computed by hand (in f64, from the update formulas
//! in the docs; Adam's match Keras 3's `Adam` on the same inputs).

use super::*;

/// One weight (decays) and one bias (does not), both starting at 1.0, gradient 0.5
/// then −0.2 for the weight; returns the weight after each step.
fn run(config: OptimizerConfig, gt: GradTransform, grads: &[f32]) -> Vec<f32> {
    let slots =
        [TensorSlot { offset: 0, len: 1, decays: true }, TensorSlot { offset: 1, len: 1, decays: false }];
    let mut opt = Optimizer::new(config, 2).unwrap();
    let mut params = [1.0f32, 1.0];
    grads
        .iter()
        .map(|&g| {
            opt.step(&mut params, &[g, g], &slots, gt, 1.0);
            params[0]
        })
        .collect()
}

fn close(a: &[f32], b: &[f64]) {
    for (x, y) in a.iter().zip(b) {
        assert!((*x as f64 - y).abs() < 2e-6, "{a:?} vs {b:?}");
    }
}

#[test]
fn sgd_plain_momentum_and_nesterov() {
    let mut c = OptimizerConfig::new(OptimizerKind::Sgd);
    c.lr = 0.1;
    close(&run(c.clone(), GradTransform::IDENTITY, &[0.5, -0.2]), &[0.95, 0.97]);
    c.momentum = 0.9;
    // v = −0.05 → w = 0.95; v = 0.9·(−0.05) + 0.02 = −0.025 → w = 0.925
    close(&run(c.clone(), GradTransform::IDENTITY, &[0.5, -0.2]), &[0.95, 0.925]);
    c.nesterov = true;
    // w += μv − ηg: 1 − 0.045 − 0.05 = 0.905; then 0.905 − 0.0225 + 0.02 = 0.9025
    close(&run(c, GradTransform::IDENTITY, &[0.5, -0.2]), &[0.905, 0.9025]);
}

#[test]
fn adam_follows_keras() {
    let mut c = OptimizerConfig::new(OptimizerKind::Adam);
    c.lr = 0.1;
    close(&run(c, GradTransform::IDENTITY, &[0.5, -0.2]), &[0.900_000_632_451_532, 0.865_440_250_693_355_7]);
}

#[test]
fn adamw_decays_weights_but_not_biases() {
    let mut c = OptimizerConfig::new(OptimizerKind::AdamW);
    c.lr = 0.1;
    c.weight_decay = 0.1;
    let slots =
        [TensorSlot { offset: 0, len: 1, decays: true }, TensorSlot { offset: 1, len: 1, decays: false }];
    let mut opt = Optimizer::new(c, 2).unwrap();
    let mut p = [1.0f32, 1.0];
    opt.step(&mut p, &[0.5, 0.5], &slots, GradTransform::IDENTITY, 1.0);
    close(&p, &[0.890_000_632_451_531_9, 0.900_000_632_451_532]);
}

#[test]
fn rmsprop_follows_keras() {
    let mut c = OptimizerConfig::new(OptimizerKind::RmsProp);
    c.lr = 0.1;
    close(&run(c, GradTransform::IDENTITY, &[0.5, -0.2]), &[0.683_772_866_436_796_7, 0.806_631_657_994_765]);
}

#[test]
fn penalties_and_clipping_transform_the_gradient() {
    let mut c = OptimizerConfig::new(OptimizerKind::Sgd);
    c.lr = 0.1;
    let slots =
        [TensorSlot { offset: 0, len: 1, decays: true }, TensorSlot { offset: 1, len: 1, decays: false }];
    let step = |gt: GradTransform| {
        let mut opt = Optimizer::new(c.clone(), 2).unwrap();
        let mut p = [1.0f32, 1.0];
        opt.step(&mut p, &[0.5, 0.5], &slots, gt, 1.0);
        p
    };
    // L2 0.5: g = 0.5 + 2·0.5·1 = 1.5 → 0.85; the bias ignores it → 0.95
    close(&step(GradTransform { grad_scale: 1.0, l1: 0.0, l2: 0.5 }), &[0.85, 0.95]);
    // L1 0.3: g = 0.5 + 0.3 = 0.8 → 0.92
    close(&step(GradTransform { grad_scale: 1.0, l1: 0.3, l2: 0.0 }), &[0.92, 0.95]);
    // clipping scale 0.5: g = 0.25 → 0.975 for both
    close(&step(GradTransform { grad_scale: 0.5, l1: 0.0, l2: 0.0 }), &[0.975, 0.975]);
}

#[test]
fn invalid_settings_name_the_field() {
    let mut c = OptimizerConfig::new(OptimizerKind::Adam);
    c.lr = -1.0;
    assert!(Optimizer::new(c, 1).unwrap_err().to_string().contains("learning rate"));
    let mut c = OptimizerConfig::new(OptimizerKind::Sgd);
    c.nesterov = true;
    assert!(Optimizer::new(c, 1).unwrap_err().to_string().contains("nesterov"));
    // An ε that float32 holds only as 0 or a subnormal would step an unused parameter
    // by 0/0; the smallest normal float32 is accepted.
    let mut c = OptimizerConfig::new(OptimizerKind::Adam);
    c.eps = 1e-40;
    assert!(Optimizer::new(c.clone(), 1).unwrap_err().to_string().contains("eps"));
    c.eps = f32::MIN_POSITIVE as f64;
    let mut opt = Optimizer::new(c, 1).unwrap();
    let mut w = [0.5f32];
    opt.step(
        &mut w,
        &[0.0],
        &[TensorSlot { offset: 0, len: 1, decays: false }],
        GradTransform::IDENTITY,
        1.0,
    );
    assert_eq!(w, [0.5], "a zero gradient leaves the weight");
}

/// Every rule's update split over 2 and 3 threads (one pass over every tensor, in
/// pieces of 8,192) gives the bits of one thread: AdamW with L1/L2 and clipping's scale,
/// Adam, SGD with (Nesterov) momentum and without, RMSprop with momentum; tensors of
/// several pieces and of one, decaying and not, with a gap between two, over several
/// steps; and tensors out of order, which the split leaves to one pass each.
/// Every rule: AdamW, Adam, SGD plain, with momentum and Nesterov, RMSprop plain and
/// with momentum.
fn every_rule() -> Vec<OptimizerConfig> {
    let mut configs = Vec::new();
    for kind in [OptimizerKind::AdamW, OptimizerKind::Adam, OptimizerKind::Sgd, OptimizerKind::RmsProp] {
        let mut c = OptimizerConfig::new(kind);
        c.weight_decay = 0.01;
        configs.push(c.clone());
        if kind == OptimizerKind::Sgd {
            c.momentum = 0.9;
            configs.push(c.clone());
            c.nesterov = true;
            configs.push(c);
        } else if kind == OptimizerKind::RmsProp {
            c.momentum = 0.5;
            configs.push(c);
        }
    }
    configs
}

/// Weights streamed past the cache ([`WeightStore::Streamed`]: whole aligned lines
/// through a local copy, the head and tail as usual) are the bits of ordinary stores,
/// and so are the optimizer's states, for every rule, every alignment of the tensor's
/// start and lengths around a line's.
#[test]
fn streamed_weights_have_the_bits_of_cached_ones() {
    let n = 1_000;
    let gt = GradTransform { grad_scale: 0.7, l1: 1e-4, l2: 1e-3 };
    for config in &every_rule() {
        for start in 0..17 {
            for len in [0, 1, 15, 16, 17, 31, 32, 33, 47, 64, 100, 517, n - start] {
                let run = |store: WeightStore| {
                    let mut opt = Optimizer::new(config.clone(), n).unwrap();
                    let mut params: Vec<f32> =
                        (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 100.0).collect();
                    for step in 0..3 {
                        let grads: Vec<f32> =
                            (0..n).map(|i| (((i + step) * 53 % 97) as f32 - 48.0) / 30.0).collect();
                        let rule = opt.begin_step(gt, 1.0);
                        let r = start..start + len;
                        let (s1, s2) = opt.state_of(r.clone());
                        rule.apply(&mut params[r.clone()], &grads[r], s1, s2, step % 2 == 0, store);
                    }
                    (params, opt)
                };
                let (cached, streamed) = (run(WeightStore::Cached), run(WeightStore::Streamed));
                assert!(
                    cached.0 == streamed.0 && cached.1 == streamed.1,
                    "{:?}: start {start}, {len} values",
                    config.kind
                );
            }
        }
    }
}

#[test]
fn updates_split_over_threads_give_the_bits_of_one() {
    let slots = [
        TensorSlot { offset: 0, len: 20_000, decays: true },
        TensorSlot { offset: 20_000, len: 100, decays: false },
        TensorSlot { offset: 20_150, len: 9_000, decays: true },
    ];
    let shuffled = [slots[2], slots[0], slots[1]];
    let n = 29_150;
    let gt = GradTransform { grad_scale: 0.7, l1: 1e-4, l2: 1e-3 };
    for config in &every_rule() {
        let run = |threads: usize, slots: &[TensorSlot]| {
            let threads = crate::kernels::Threads::new(threads);
            let mut opt = Optimizer::new(config.clone(), n).unwrap();
            let mut params: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 100.0).collect();
            for step in 0..4 {
                let grads: Vec<f32> = (0..n).map(|i| (((i + step) * 53 % 97) as f32 - 48.0) / 30.0).collect();
                threads.install(|| opt.step_with(&mut params, &grads, slots, gt, 1.0, &threads));
            }
            (params, opt)
        };
        let one = run(1, &slots);
        // The gap between the second and third tensors is never updated.
        assert_eq!(one.0[20_100..20_150], run(1, &slots[..0]).0[20_100..20_150], "{:?}", config.kind);
        for t in [2, 3] {
            for s in [&slots, &shuffled] {
                let many = run(t, s);
                assert!(one.0 == many.0 && one.1 == many.1, "{:?}: {t} threads differ", config.kind);
            }
        }
    }
}
