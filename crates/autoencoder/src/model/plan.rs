//! The layer plan: every layer a configuration implies, with its sizes, derived once
//! before anything is allocated. Shape errors are found here and name the layer.
//!
//! Flatten and reshape between the convolutional and dense parts are not layers: every
//! layer reads and writes rows of flat values, so a `C×H×W` (channels-last) map *is*
//! its flattened vector, and the plan only checks that the sizes agree.

use super::config::{Arch, Downsample, ModelConfig};
use crate::error::{Error, Result};
use crate::kernels::conv::{Geometry, Layout};
use crate::layers::{
    Activation, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Dropout, Init, Layer, MaxPool2d, Sample,
    Upsample,
};

/// One layer of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerPlan {
    /// `inputs → outputs`, fully connected.
    Dense {
        /// Values in.
        inputs: usize,
        /// Values out.
        outputs: usize,
        /// Its activation.
        activation: Activation,
    },
    /// A convolution over `geometry` (the input image) to `out_channels`.
    Conv {
        /// Input image, kernel and the output grid.
        geometry: Geometry,
        /// Output channels.
        out_channels: usize,
        /// Its activation.
        activation: Activation,
    },
    /// A transposed convolution from `in_channels` on the grid of `geometry` to its image.
    ConvTranspose {
        /// Output image, kernel, and the input grid.
        geometry: Geometry,
        /// Input channels.
        in_channels: usize,
        /// Its activation.
        activation: Activation,
    },
    /// 2×2 max pooling of a `channels × height × width` map.
    MaxPool {
        /// Channels.
        channels: usize,
        /// Input rows.
        height: usize,
        /// Input columns.
        width: usize,
    },
    /// 2× nearest upsampling of a `channels × height × width` map.
    Upsample {
        /// Channels.
        channels: usize,
        /// Input rows.
        height: usize,
        /// Input columns.
        width: usize,
    },
    /// Batch normalisation of `channels` over `positions` pixels, then `activation`.
    BatchNorm {
        /// Channels.
        channels: usize,
        /// Pixels per map.
        positions: usize,
        /// The activation after it.
        activation: Activation,
    },
    /// The variational sample `z = μ + σ·ε` of a `code`-value code.
    Sample {
        /// The code size.
        code: usize,
    },
    /// Dropout of `p` over `width` values.
    Dropout {
        /// Values.
        width: usize,
        /// Drop probability.
        p: f64,
    },
}

impl LayerPlan {
    /// The layer's parameter count, `None` on overflow.
    pub fn param_count(&self) -> Option<usize> {
        match *self {
            LayerPlan::Dense { inputs, outputs, .. } => inputs.checked_mul(outputs)?.checked_add(outputs),
            LayerPlan::Conv { geometry: g, out_channels, .. } => {
                g.patch_len().checked_mul(out_channels)?.checked_add(out_channels)
            }
            LayerPlan::ConvTranspose { geometry: g, in_channels, .. } => {
                g.patch_len().checked_mul(in_channels)?.checked_add(g.channels)
            }
            LayerPlan::BatchNorm { channels, .. } => channels.checked_mul(4),
            _ => Some(0),
        }
    }

    /// Values per output row.
    pub fn output_width(&self) -> usize {
        match *self {
            LayerPlan::Dense { outputs, .. } => outputs,
            LayerPlan::Conv { geometry: g, out_channels, .. } => g.positions() * out_channels,
            LayerPlan::ConvTranspose { geometry: g, .. } => g.image_len(),
            LayerPlan::MaxPool { channels, height, width } => channels * (height / 2) * (width / 2),
            LayerPlan::Upsample { channels, height, width } => channels * height * width * 4,
            LayerPlan::BatchNorm { channels, positions, .. } => channels * positions,
            LayerPlan::Sample { code } => code,
            LayerPlan::Dropout { width, .. } => width,
        }
    }

    /// The layer itself.
    pub fn build(&self, init: Init) -> Box<dyn Layer> {
        match *self {
            LayerPlan::Dense { inputs, outputs, activation } => {
                Box::new(Dense::new(inputs, outputs, activation).with_init(init))
            }
            LayerPlan::Conv { geometry, out_channels, activation } => {
                Box::new(Conv2d::new(geometry, out_channels, activation).with_init(init))
            }
            LayerPlan::ConvTranspose { geometry, in_channels, activation } => {
                Box::new(ConvTranspose2d::new(geometry, in_channels, activation).with_init(init))
            }
            LayerPlan::MaxPool { channels, height, width } => {
                Box::new(MaxPool2d::new(channels, height, width, 2).expect("the plan checked the size"))
            }
            LayerPlan::Upsample { channels, height, width } => {
                Box::new(Upsample::new(channels, height, width, 2))
            }
            LayerPlan::BatchNorm { channels, positions, activation } => {
                Box::new(BatchNorm2d::new(channels, positions, activation))
            }
            LayerPlan::Sample { code } => Box::new(Sample::new(code)),
            LayerPlan::Dropout { width, p } => Box::new(Dropout::new(width, p as f32)),
        }
    }
}

/// Every layer of a model, encoder first, and where the encoder ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The layers in order.
    pub layers: Vec<LayerPlan>,
    /// How many of them form the encoder (up to and including the code).
    pub encoder_len: usize,
}

impl Plan {
    /// The total parameter count, `None` on overflow.
    pub fn param_count(&self) -> Option<usize> {
        self.layers.iter().try_fold(0usize, |acc, l| acc.checked_add(l.param_count()?))
    }
}

impl ModelConfig {
    /// The layers this configuration describes. Widths must already be in range (see
    /// [`check`](Self::check)); the convolutional part's sizes are checked here.
    pub fn plan(&self) -> Result<Plan> {
        let mut layers = Vec::new();
        let mut width = self.input_dim;
        // The convolutional encoder, and what the decoder needs to mirror it.
        let mut mirror = Vec::new();
        if self.arch == Arch::Conv {
            let shape = self.image_shape.ok_or_else(|| {
                Error::config(
                    "arch",
                    "a convolutional model needs images: train it on image data (IDX files, a folder of images, or a named image dataset)",
                )
            })?;
            if shape.is_empty() || shape.len() > super::config::MAX_WIDTH * 16 {
                return Err(Error::config(
                    "image_shape",
                    format!(
                        "{}×{}×{} = {} values per image; a conv model takes 1 to {}",
                        shape.channels,
                        shape.height,
                        shape.width,
                        shape.len(),
                        super::config::MAX_WIDTH * 16
                    ),
                ));
            }
            let (mut c, mut h, mut w) = (shape.channels, shape.height, shape.width);
            let k = self.kernel_size;
            let pad = (k - 1) / 2;
            for (i, &ch) in self.channels.iter().enumerate() {
                let layout = if i == 0 { Layout::ChannelsFirst } else { Layout::ChannelsLast };
                let stride = if self.downsample == Downsample::Stride { 2 } else { 1 };
                let g = Geometry::new(c, h, w, layout, k, stride, pad).ok_or_else(|| {
                    Error::config(
                        "channels",
                        format!(
                            "conv block {}: a {k}×{k} kernel with stride {stride} and padding {pad} does not fit its {h}×{w} input; use fewer blocks or a smaller kernel",
                            i + 1
                        ),
                    )
                })?;
                if self.batch_norm {
                    layers.push(LayerPlan::Conv {
                        geometry: g,
                        out_channels: ch,
                        activation: Activation::Linear,
                    });
                    let positions = g.positions();
                    layers.push(LayerPlan::BatchNorm {
                        channels: ch,
                        positions,
                        activation: self.activation,
                    });
                } else {
                    layers.push(LayerPlan::Conv {
                        geometry: g,
                        out_channels: ch,
                        activation: self.activation,
                    });
                }
                mirror.push((c, h, w, layout, g.out_height, g.out_width));
                (c, h, w) = (ch, g.out_height, g.out_width);
                if self.downsample == Downsample::Pool {
                    if h < 2 || w < 2 || h % 2 != 0 || w % 2 != 0 {
                        return Err(Error::config(
                            "channels",
                            format!(
                                "conv block {}: 2×2 max pooling of a {h}×{w} map would drop a row or column that upsampling cannot restore; use downsample = stride, or an image size divisible by 2^{}",
                                i + 1,
                                self.channels.len()
                            ),
                        ));
                    }
                    layers.push(LayerPlan::MaxPool { channels: c, height: h, width: w });
                    (h, w) = (h / 2, w / 2);
                }
                if self.dropout > 0.0 {
                    layers.push(LayerPlan::Dropout { width: c * h * w, p: self.dropout });
                }
            }
            width = c * h * w;
        }
        // The dense part: flatten → hidden → code (→ sample) → hidden → flatten or output.
        let code_layer = self.layers.len() - 1;
        let mut encoder_len = 0;
        for (i, &out) in self.layers.iter().enumerate() {
            if i == code_layer {
                let (outputs, activation) = if self.variational {
                    (2 * out, Activation::Linear)
                } else {
                    (out, self.code_activation.unwrap_or(self.activation))
                };
                layers.push(LayerPlan::Dense { inputs: width, outputs, activation });
                if self.variational {
                    layers.push(LayerPlan::Sample { code: out });
                }
                encoder_len = layers.len();
            } else {
                layers.push(LayerPlan::Dense { inputs: width, outputs: out, activation: self.activation });
                if self.dropout > 0.0 {
                    layers.push(LayerPlan::Dropout { width: out, p: self.dropout });
                }
            }
            width = out;
        }
        let dec = self.decoder_widths();
        for &out in &dec {
            layers.push(LayerPlan::Dense { inputs: width, outputs: out, activation: self.activation });
            if self.dropout > 0.0 {
                layers.push(LayerPlan::Dropout { width: out, p: self.dropout });
            }
            width = out;
        }
        if mirror.is_empty() {
            layers.push(LayerPlan::Dense {
                inputs: width,
                outputs: self.input_dim,
                activation: self.output_activation,
            });
            return Ok(Plan { layers, encoder_len });
        }
        // Back to the last map, then the mirrored blocks.
        let &(_, _, _, _, gh, gw) = mirror.last().expect("not empty");
        let last_ch = *self.channels.last().expect("conv models have channels");
        let (mh, mw) = if self.downsample == Downsample::Pool { (gh / 2, gw / 2) } else { (gh, gw) };
        let flat = last_ch * mh * mw;
        layers.push(LayerPlan::Dense { inputs: width, outputs: flat, activation: self.activation });
        if self.dropout > 0.0 {
            layers.push(LayerPlan::Dropout { width: flat, p: self.dropout });
        }
        let k = self.kernel_size;
        let pad = (k - 1) / 2;
        for (i, &(c, h, w, layout, gh, gw)) in mirror.iter().enumerate().rev() {
            let ch = self.channels[i];
            let activation = if i == 0 { self.output_activation } else { self.activation };
            let g = if self.downsample == Downsample::Stride {
                Geometry::new(c, h, w, layout, k, 2, pad)
            } else {
                layers.push(LayerPlan::Upsample { channels: ch, height: gh / 2, width: gw / 2 });
                // A stride-1 transposed convolution is a convolution; it writes the image's layout.
                Geometry::new(c, h, w, layout, k, 1, pad)
            };
            let g = g.filter(|g| (g.out_height, g.out_width) == (gh, gw)).ok_or_else(|| {
                Error::config(
                    "kernel_size",
                    format!(
                        "decoder block {}: a {k}×{k} transposed convolution cannot map {gh}×{gw} back to {h}×{w}; use an odd kernel size",
                        mirror.len() - i
                    ),
                )
            })?;
            if self.batch_norm && i > 0 {
                let linear = Activation::Linear;
                layers.push(LayerPlan::ConvTranspose { geometry: g, in_channels: ch, activation: linear });
                layers.push(LayerPlan::BatchNorm { channels: c, positions: g.image_len() / c, activation });
            } else {
                layers.push(LayerPlan::ConvTranspose { geometry: g, in_channels: ch, activation });
            }
            if i > 0 && self.dropout > 0.0 {
                layers.push(LayerPlan::Dropout { width: g.image_len(), p: self.dropout });
            }
        }
        Ok(Plan { layers, encoder_len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::ImageShape;

    fn conv(c: usize, h: usize, w: usize, channels: &[usize]) -> ModelConfig {
        ModelConfig {
            input_dim: c * h * w,
            arch: Arch::Conv,
            channels: channels.to_vec(),
            layers: vec![32],
            image_shape: Some(ImageShape { channels: c, height: h, width: w }),
            ..ModelConfig::default()
        }
    }

    fn sizes(p: &Plan) -> Vec<usize> {
        p.layers.iter().map(LayerPlan::output_width).collect()
    }

    #[test]
    fn strided_blocks_round_trip_28_and_32_and_odd_sizes() {
        let p = conv(1, 28, 28, &[32, 64]).plan().unwrap();
        assert_eq!(sizes(&p), [32 * 14 * 14, 64 * 7 * 7, 32, 64 * 7 * 7, 32 * 14 * 14, 784]);
        assert_eq!(p.encoder_len, 3);
        let p = conv(3, 32, 32, &[16, 32, 64]).plan().unwrap();
        assert_eq!(sizes(&p)[..3], [16 * 16 * 16, 32 * 8 * 8, 64 * 4 * 4]);
        assert_eq!(*sizes(&p).last().unwrap(), 3 * 32 * 32);
        // 28 → 14 → 7 → 4 and back: 4 → 7 needs output padding 0, 7 → 14 and 14 → 28 need 1.
        let p = conv(1, 28, 28, &[8, 8, 8]).plan().unwrap();
        assert_eq!(sizes(&p), [8 * 196, 8 * 49, 8 * 16, 32, 8 * 16, 8 * 49, 8 * 196, 784]);
    }

    #[test]
    fn pooled_blocks_mirror_with_upsampling() {
        let mut c = conv(1, 28, 28, &[16, 32]);
        c.downsample = Downsample::Pool;
        let p = c.plan().unwrap();
        assert_eq!(
            sizes(&p),
            [16 * 784, 16 * 196, 32 * 196, 32 * 49, 32, 32 * 49, 32 * 196, 16 * 196, 16 * 784, 784]
        );
        c.channels = vec![8, 8, 8];
        let e = c.plan().unwrap_err().to_string();
        assert!(e.contains("conv block 3") && e.contains("7×7"), "{e}");
    }

    #[test]
    fn batch_norm_follows_every_convolution_but_the_output() {
        let mut c = conv(1, 28, 28, &[8, 16]);
        c.batch_norm = true;
        let p = c.plan().unwrap();
        let kinds: Vec<&str> = p
            .layers
            .iter()
            .map(|l| match l {
                LayerPlan::Conv { .. } => "conv",
                LayerPlan::ConvTranspose { .. } => "convt",
                LayerPlan::BatchNorm { .. } => "bn",
                LayerPlan::Dense { .. } => "dense",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["conv", "bn", "conv", "bn", "dense", "dense", "convt", "bn", "convt"]);
        assert_eq!(sizes(&p)[7], 8 * 14 * 14);
    }

    #[test]
    fn shape_errors_name_the_block_and_the_sizes() {
        // A 4×4 kernel (padding 1) halves 8 → 4 → 2 → 1, and then does not fit.
        let mut c = conv(1, 8, 8, &[4, 4, 4, 4]);
        c.kernel_size = 4;
        let e = c.plan().unwrap_err().to_string();
        assert!(e.contains("conv block 4") && e.contains("1×1"), "{e}");
        c.channels.pop();
        let p = c.plan().unwrap();
        assert_eq!(*sizes(&p).last().unwrap(), 64, "even kernels round-trip 8 → 1 → 8 too");
        let mut c = conv(1, 8, 8, &[4]);
        c.image_shape = None;
        assert!(c.plan().unwrap_err().to_string().contains("needs images"));
    }

    #[test]
    fn the_dense_plan_is_the_classic_stack() {
        let c = ModelConfig { input_dim: 784, layers: vec![256, 32], dropout: 0.1, ..ModelConfig::default() };
        let p = c.plan().unwrap();
        assert_eq!(sizes(&p), [256, 256, 32, 256, 256, 784]);
        assert_eq!(p.encoder_len, 3);
        assert_eq!(p.param_count(), Some(784 * 256 + 256 + 256 * 32 + 32 + 32 * 256 + 256 + 256 * 784 + 784));
    }
}
