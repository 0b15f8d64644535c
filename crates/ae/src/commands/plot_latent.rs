//! `ae plot-latent`: a 2-D scatter of the codes of a dataset, coloured by label —
//! the codes themselves for a 2-D code, their first two principal components otherwise.

use std::path::PathBuf;

use autoencoder::data::builtin::Split;
use autoencoder::pca;
use autoencoder::{file, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};

#[derive(Args, Debug)]
pub struct PlotLatentArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// The PNG to write.
    #[arg(short, long, default_value = "latent.png", value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: PlotLatentArgs) -> Result<()> {
    let _held = a.input.run_files().output("-o", &a.output).check()?;
    let model = file::load(&a.input.model)?;
    let data = a.input.load_for(&model, Split::Test)?;
    model.check_data(&data)?;
    let threads = a.threads.threads();
    let z = model.encode(data.as_slice(), &threads)?;
    let k = model.code_dim();
    let (points, axes): (Vec<(f64, f64)>, (&str, &str)) = match k {
        1 => (z.iter().map(|&v| (v as f64, 0.0)).collect(), ("z1", "")),
        2 => (z.chunks(2).map(|p| (p[0] as f64, p[1] as f64)).collect(), ("z1", "z2")),
        _ => {
            // Bounded like every PCA baseline: exact for narrow codes, randomised for wide.
            let p = match pca::project(&z, data.rows(), k, 2, threads.count())? {
                pca::Projection::Coordinates(p) => p,
                pca::Projection::Skipped(why) => {
                    return Err(Error::Data(format!(
                        "{}: cannot project the codes to 2-D: {why}",
                        data.source
                    )))
                }
            };
            (
                p.chunks(2).map(|q| (q[0] as f64, q[1] as f64)).collect(),
                ("principal component 1 of the codes", "principal component 2"),
            )
        }
    };
    let title = format!("{} codes of {} ({})", k, data.source, model.config().describe());
    let scatter =
        crate::scatter::Scatter { title: &title, axes, points: &points, labels: data.labels.as_deref() };
    crate::scatter::write(&a.output, &scatter).map_err(Error::Data)?;
    eprintln!("wrote {} points to {}", points.len(), a.output.display());
    Ok(())
}
