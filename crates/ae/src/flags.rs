//! The library names settings (`layers`, `output_activation = linear`); the command's
//! messages name the flags that set them (`--layers`, `--output-activation linear`).
//! One table and two functions do that for every error and warning printed.

use clap::CommandFactory;

/// The flag that sets each of the library's settings where the two names differ beyond
/// `_` for `-` (`layers` is set by `--layers` and needs no entry).
const FLAG_NAMES: &[(&str, &str)] = &[("array", "npz-array"), ("label", "label-column")];

/// How `subcommand` sets `setting`: `--flag` when it has one, `ae train --flag` when only
/// `ae train` has it (a model's settings are chosen when it is trained); and whether the
/// flag takes a value.
fn flag_for(cli: &clap::Command, subcommand: &str, setting: &str) -> Option<(String, bool)> {
    // A setting named in words with its key, e.g. "learning rate (lr)".
    let setting = match setting.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((_, key)) => key,
        None => setting,
    };
    let long = FLAG_NAMES
        .iter()
        .find(|(s, _)| *s == setting)
        .map_or_else(|| setting.replace('_', "-"), |(_, f)| (*f).to_string());
    let find = |name: &str| {
        let sub = cli.find_subcommand(name)?;
        let arg = sub.get_arguments().find(|a| a.get_long() == Some(long.as_str()))?;
        Some(arg.get_action().takes_values())
    };
    if let Some(takes_value) = find(subcommand) {
        Some((format!("--{long}"), takes_value))
    } else {
        find("train").map(|takes_value| (format!("ae train --{long}"), takes_value))
    }
}

/// `message` with each `setting = value` the command has a flag for written as that
/// flag: `output_activation = linear` → `--output-activation linear`,
/// `layers = [64]` → `--layers 64`, `variational = true` → `--variational`. Text in
/// double quotes (a user's field, column name or configuration line the message quotes)
/// is left as it is.
pub fn in_flags(message: &str, subcommand: &str) -> String {
    message
        .split('"')
        .enumerate()
        .map(|(i, part)| if i % 2 == 0 { unquoted_in_flags(part, subcommand) } else { part.to_string() })
        .collect::<Vec<_>>()
        .join("\"")
}

fn unquoted_in_flags(message: &str, subcommand: &str) -> String {
    let is_ident = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let mut out = String::with_capacity(message.len());
    let cli = crate::Cli::command();
    let mut rest = message;
    while let Some(at) = rest.find(" = ") {
        let (before, after) = rest.split_at(at);
        let start =
            before.char_indices().rev().find(|&(_, c)| !is_ident(c)).map_or(0, |(i, c)| i + c.len_utf8());
        let setting = &before[start..];
        let after = &after[3..];
        // The value: a `[…]` list, or a run of characters up to a space or `)`, `,`, `;`.
        let len = if after.starts_with('[') {
            after.find(']').map_or(after.len(), |i| i + 1)
        } else {
            after.find([' ', ')', ',', ';']).unwrap_or(after.len())
        };
        let value = &after[..len];
        match (setting.is_empty() || value.is_empty(), flag_for(&cli, subcommand, setting)) {
            (false, Some((flag, takes_value))) => {
                out.push_str(&before[..start]);
                out.push_str(&flag);
                let listed: String =
                    value.trim_matches(['[', ']']).split(',').map(str::trim).collect::<Vec<_>>().join(",");
                if takes_value {
                    out.push(' ');
                    out.push_str(&listed);
                } else if value != "true" {
                    // A switch set to something else: say it as the library does.
                    out.push_str(&format!(" (= {value})"));
                }
                rest = &after[len..];
            }
            _ => {
                out.push_str(before);
                out.push_str(" = ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An error as the command prints it: the library's message in flags, and for an invalid
/// setting the flag that sets it, unless the message already names it:
/// `invalid layers: … (flag --layers)`.
pub fn error_line(e: &autoencoder::Error, subcommand: &str) -> String {
    // A file's path is the user's, never rewritten.
    let text = match e {
        autoencoder::Error::Format { path, message } => {
            format!("{}: {}", path.display(), in_flags(message, subcommand))
        }
        autoencoder::Error::Io { path, source } => {
            format!("{}: {}", path.display(), in_flags(&source.to_string(), subcommand))
        }
        _ => in_flags(&e.to_string(), subcommand),
    };
    let cli = crate::Cli::command();
    let settings: &[&str] = match e {
        autoencoder::Error::Config { field, .. } => &[field.as_str()],
        autoencoder::Error::Diverged { .. } => &["lr", "clip_norm", "normalize"],
        _ => &[],
    };
    let flags: Vec<String> = settings
        .iter()
        .filter_map(|s| flag_for(&cli, subcommand, s))
        .map(|(flag, _)| flag)
        .filter(|flag| !text.contains(&format!("{flag} ")) && !text.ends_with(flag.as_str()))
        .collect();
    match flags.len() {
        0 => text,
        1 => format!("{text} (flag {})", flags[0]),
        _ => format!("{text} (flags {})", flags.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{error_line, in_flags};

    #[test]
    fn settings_become_flags() {
        assert_eq!(
            in_flags("use a linear output (output_activation = linear)", "train"),
            "use a linear output (--output-activation linear)"
        );
        assert_eq!(in_flags("e.g. layers = [512, 256, 32]", "train"), "e.g. --layers 512,256,32");
        assert_eq!(
            in_flags("train it with variational = true", "generate"),
            "train it with ae train --variational"
        );
        assert_eq!(in_flags("x = 3 and no_such_setting = 2", "train"), "x = 3 and no_such_setting = 2");
        let e = autoencoder::Error::config("layers", "at least one width is needed, e.g. layers = [64]");
        assert_eq!(error_line(&e, "train"), "invalid layers: at least one width is needed, e.g. --layers 64");
        let e = autoencoder::Error::config("batch_size", "0 must be ≥ 1");
        assert_eq!(error_line(&e, "train"), "invalid batch_size: 0 must be ≥ 1 (flag --batch-size)");
        let e = autoencoder::Error::config("data", "no data");
        assert_eq!(error_line(&e, "train"), "invalid data: no data");
        let e = autoencoder::Error::config("learning rate (lr)", "-1 must be a positive number");
        assert_eq!(
            error_line(&e, "train"),
            "invalid learning rate (lr): -1 must be a positive number (flag --lr)"
        );
        // Non-ASCII text before ` = ` (the value of a setting named in words).
        assert_eq!(in_flags("σ = 2 and µs = 3", "train"), "σ = 2 and µs = 3");
        // The user's text — a quoted field or line, a file's path — is theirs.
        assert_eq!(
            in_flags("column 1 (\"lr = 5\"): \"layers = 3\" is not a number; use lr = 0.1", "train"),
            "column 1 (\"lr = 5\"): \"layers = 3\" is not a number; use --lr 0.1"
        );
        assert_eq!(in_flags("| 2 | layers = \"abc\"", "train"), "| 2 | layers = \"abc\"");
        let e = autoencoder::Error::format(std::path::Path::new("layers = 5.csv"), "use lr = 0.1");
        assert_eq!(error_line(&e, "train"), "layers = 5.csv: use --lr 0.1");
    }
}
