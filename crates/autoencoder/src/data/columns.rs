//! Which columns of a table are its features, its label, its row ids, and which are
//! left out: chosen by name or index ([`Columns`]) and resolved once against the
//! table's header into a [`ColumnPlan`], which the CSV and the Parquet/Arrow readers
//! follow.

use std::collections::HashMap;
use std::path::Path;

use super::dataset::Dataset;
use crate::error::{Error, Result};

/// A column, by header name or 0-based index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    /// The column with this header name (needs a header).
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
}

impl std::str::FromStr for ColumnRef {
    type Err = std::convert::Infallible;

    /// A 0-based index when the text is a whole number, else a header name.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s.trim().parse::<usize>() {
            Ok(i) => ColumnRef::Index(i),
            Err(_) => ColumnRef::Name(s.trim().to_string()),
        })
    }
}

impl std::fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnRef::Name(n) => write!(f, "\"{n}\""),
            ColumnRef::Index(i) => write!(f, "index {i}"),
        }
    }
}

/// What a missing value in a table (an empty CSV field, `NA`, `NaN`; a Parquet or Arrow
/// null) means. The readers give a missing feature as NaN unless it is an error;
/// [`open::load_paths`](super::open::load_paths) then drops or marks the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Missing {
    /// A missing value is an error naming its row and column (the default).
    #[default]
    Error,
    /// Rows with a missing feature are left out; the others keep their row number as
    /// their id (or the id column's value).
    Drop,
    /// Missing features are filled with the feature's mean over the training rows,
    /// which the model keeps ([`Normalizer::fill`](super::normalize::Normalizer::fill))
    /// and uses for every row it sees later.
    Mean,
}

impl std::str::FromStr for Missing {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Missing::Error),
            "drop" => Ok(Missing::Drop),
            "mean" => Ok(Missing::Mean),
            _ => Err(Error::config("missing", format!("unknown rule {s:?}; expected error, drop or mean"))),
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missing::Error => "error",
            Missing::Drop => "drop",
            Missing::Mean => "mean",
        })
    }
}

/// The texts a CSV field may hold for a missing value, beside the empty field and
/// `NaN`, which parses as a number (pandas' defaults, less its rarer spellings).
pub const MISSING_TEXTS: &[&str] = &["NA", "N/A", "n/a", "#N/A", "NULL", "null", "None", "<NA>"];

/// A label column's values as read: whole numbers, or text. Text labels become classes
/// numbered in the texts' sorted order (`setosa`, `versicolor`, `virginica` → 0, 1, 2),
/// so the same texts give the same numbers in every file and every order of rows.
#[derive(Debug, Default)]
pub struct LabelTexts {
    codes: Vec<u32>,
    seen: HashMap<String, u32>,
}

impl LabelTexts {
    /// The next row's label.
    pub fn push(&mut self, text: &str) {
        let next = self.seen.len() as u32;
        let code = match self.seen.get(text) {
            Some(&c) => c,
            None => {
                self.seen.insert(text.to_string(), next);
                next
            }
        };
        self.codes.push(code);
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when none was pushed.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Each row's code, and each code's text.
    pub fn into_parts(self) -> (Vec<u32>, Vec<String>) {
        let mut by_code = vec![String::new(); self.seen.len()];
        for (text, code) in self.seen {
            by_code[code as usize] = text;
        }
        (self.codes, by_code)
    }

    /// Forget the labels after the first `n` (a row read in part).
    pub fn truncate(&mut self, n: usize) {
        self.codes.truncate(n);
    }

    /// The labels, and the class names when they are text: whole numbers when every
    /// text is one (by `whole`), else each text's rank among the sorted distinct texts.
    pub fn finish(self, whole: impl Fn(&str) -> Option<i64>) -> (Vec<i64>, Option<Vec<String>>) {
        let (codes, mut by_code) = self.into_parts();
        if let Some(values) = by_code.iter().map(|t| whole(t)).collect::<Option<Vec<i64>>>() {
            return (codes.iter().map(|&c| values[c as usize]).collect(), None);
        }
        let mut order: Vec<u32> = (0..by_code.len() as u32).collect();
        order.sort_by(|&a, &b| by_code[a as usize].cmp(&by_code[b as usize]));
        let mut rank = vec![0i64; by_code.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c as usize] = r as i64;
        }
        let names = order.iter().map(|&c| std::mem::take(&mut by_code[c as usize])).collect();
        (codes.iter().map(|&c| rank[c as usize]).collect(), Some(names))
    }
}

/// The most values a categorical column may have: each becomes a feature.
pub const MAX_CATEGORIES: usize = 4096;

/// A categorical column's one-hot encoding: value `k` of `values` is the 0/1 feature
/// `column=value` (a model keeps it, so that its later rows are encoded alike). An
/// empty field, a null and a value not in `values` set none of the column's features
/// (all zeros, as `pandas.get_dummies` gives a missing value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Categorical {
    /// The column: its header name, or its 0-based index (as text) in a file without one.
    pub column: String,
    /// The values, in feature order: those of the training rows, sorted.
    pub values: Vec<String>,
}

impl Categorical {
    /// The column as a [`ColumnRef`] (a whole number is an index).
    pub fn column_ref(&self) -> ColumnRef {
        self.column.parse().unwrap_or_else(|e: std::convert::Infallible| match e {})
    }

    /// The features' names: `column=value`.
    pub fn feature_names(&self) -> impl Iterator<Item = String> + '_ {
        self.values.iter().map(|v| format!("{}={v}", self.column))
    }
}

/// The rows of a table with categorical columns: the `plan.features.len()` numeric
/// features of each row (`data`) followed by the one-hot blocks of the categorical
/// columns, whose per-row texts `texts` holds (one [`LabelTexts`] per column of
/// `plan.categorical`). A column found in `fixed` (a model's) is encoded with its
/// values; any other with its non-empty texts, sorted. The dataset keeps the encodings
/// ([`Dataset::categories`]) and names the features `column=value` when the table has
/// a header. `path` names the file in errors; `source` is the dataset's.
pub fn one_hot(
    data: &[f32],
    rows: usize,
    plan: &ColumnPlan,
    texts: Vec<LabelTexts>,
    fixed: &[Categorical],
    path: &Path,
    source: String,
) -> Result<Dataset> {
    let (d, columns) = (plan.features.len(), &plan.categorical_names);
    let mut encodings = Vec::with_capacity(texts.len());
    let mut hot: Vec<Vec<Option<u32>>> = Vec::with_capacity(texts.len()); // per column: code → value index
    let mut codes_by_column = Vec::with_capacity(texts.len());
    for (t, name) in texts.into_iter().zip(columns) {
        let (codes, by_code) = t.into_parts();
        let values = match fixed.iter().find(|c| &c.column == name) {
            Some(c) => c.values.clone(),
            None => {
                let mut v: Vec<String> = by_code.iter().filter(|t| !t.is_empty()).cloned().collect();
                v.sort();
                v
            }
        };
        if values.len() > MAX_CATEGORIES {
            return Err(Error::format(
                path,
                format!(
                    "categorical column \"{name}\" has {} distinct values; at most {MAX_CATEGORIES} can be one-hot encoded (leave it out with ignore_columns)",
                    values.len()
                ),
            ));
        }
        let index: HashMap<&str, u32> =
            values.iter().enumerate().map(|(k, v)| (v.as_str(), k as u32)).collect();
        hot.push(by_code.iter().map(|t| index.get(t.as_str()).copied()).collect());
        codes_by_column.push(codes);
        encodings.push(Categorical { column: name.clone(), values });
    }
    let width = d + encodings.iter().map(|c| c.values.len()).sum::<usize>();
    if width > super::dataset::MAX_WIDTH {
        return Err(Error::format(
            path,
            format!(
                "one-hot encoding makes rows of {width} values; a row may have at most {}",
                super::dataset::MAX_WIDTH
            ),
        ));
    }
    let mut out = super::buffer::zeroed::<f32>(rows * width);
    for (i, row) in out.chunks_exact_mut(width.max(1)).enumerate() {
        row[..d].copy_from_slice(&data[i * d..(i + 1) * d]);
        let mut at = d;
        for (k, c) in encodings.iter().enumerate() {
            if let Some(v) = hot[k][codes_by_column[k][i] as usize] {
                row[at + v as usize] = 1.0;
            }
            at += c.values.len();
        }
    }
    let mut ds = Dataset::new(out, rows, width, source)?;
    ds.feature_names = plan
        .feature_names
        .as_ref()
        .map(|n| n.iter().cloned().chain(encodings.iter().flat_map(Categorical::feature_names)).collect());
    ds.categories = encodings;
    Ok(ds)
}

/// Re-encode `data`'s one-hot blocks by `target` (the same columns, with these values),
/// in place: a value `target` lacks sets none of its column's features.
pub fn recode(data: &mut Dataset, target: &[Categorical]) -> Result<()> {
    let old: usize = data.categories.iter().map(|c| c.values.len()).sum();
    let d = data.cols() - old;
    let width = d + target.iter().map(|c| c.values.len()).sum::<usize>();
    let maps: Vec<Vec<Option<usize>>> = data
        .categories
        .iter()
        .zip(target)
        .map(|(from, to)| from.values.iter().map(|v| to.values.iter().position(|t| t == v)).collect())
        .collect();
    let mut out = super::buffer::zeroed::<f32>(data.rows() * width);
    for (i, row) in out.chunks_exact_mut(width.max(1)).enumerate() {
        let src = data.row(i);
        row[..d].copy_from_slice(&src[..d]);
        let (mut from_at, mut to_at) = (d, d);
        for (k, map) in maps.iter().enumerate() {
            if let Some(j) = src[from_at..from_at + map.len()].iter().position(|&v| v == 1.0) {
                if let Some(t) = map[j] {
                    row[to_at + t] = 1.0;
                }
            }
            from_at += map.len();
            to_at += target[k].values.len();
        }
    }
    data.set_values(out, width)?;
    if let Some(n) = data.feature_names.as_mut() {
        n.truncate(d);
        n.extend(target.iter().flat_map(Categorical::feature_names));
    }
    data.categories = target.to_vec();
    Ok(())
}

/// The roles asked of a table's columns. By default every column is a feature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// The label column (whole numbers, or text: see [`LabelTexts`]), left out of the
    /// features.
    pub label: Option<ColumnRef>,
    /// The row-id column (numbers or text), left out of the features and carried to
    /// every per-row output.
    pub id: Option<ColumnRef>,
    /// The feature columns, in this order (a file whose columns come in another order
    /// gives the same rows); `None`: every column without another role, in file order.
    pub features: Option<Vec<ColumnRef>>,
    /// Columns left out (text, free-form notes, anything not a feature).
    pub ignore: Vec<ColumnRef>,
    /// What a missing feature value means.
    pub missing: Missing,
    /// Text columns one-hot encoded: each value becomes a 0/1 feature `column=value`,
    /// after the numeric features ([`Categorical`]).
    pub categorical: Vec<ColumnRef>,
    /// Fixed encodings of categorical columns (a trained model's): a column named here
    /// is encoded with these values. [`Columns::with_categories`] sets both fields.
    pub categories: Vec<Categorical>,
}

/// What a table column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Feature number `j` of a row (0-based, in feature order).
    Feature(usize),
    /// The label.
    Label,
    /// The row id.
    Id,
    /// Categorical column number `k` (in [`ColumnPlan::categorical`]'s order).
    Category(usize),
    /// Not read.
    Skip,
}

/// [`Columns`] resolved against one table: a role for each of its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// One role per table column.
    pub roles: Vec<Role>,
    /// The table index of each feature, in feature order.
    pub features: Vec<usize>,
    /// The label column's index.
    pub label: Option<usize>,
    /// The id column's index.
    pub id: Option<usize>,
    /// The numeric features' header names, in feature order, when the table has a
    /// header.
    pub feature_names: Option<Vec<String>>,
    /// The table index of each categorical column, in [`Columns::categorical`]'s order.
    pub categorical: Vec<usize>,
    /// Each categorical column's name: its header name, else its index as text.
    pub categorical_names: Vec<String>,
}

impl Columns {
    /// These columns with a model's categorical encodings: its categorical columns,
    /// encoded with its values (whatever values the data holds).
    pub fn with_categories(mut self, categories: &[Categorical]) -> Self {
        if !categories.is_empty() {
            self.categorical = categories.iter().map(Categorical::column_ref).collect();
            self.categories = categories.to_vec();
        }
        self
    }

    /// The plan for a table of `ncols` columns with `header` (names, when it has them);
    /// `path` names the table in errors. Errors: a name without a header, a name not in
    /// it, a name the header gives more than once, an index out of range, a column given
    /// two roles (or listed twice), no feature left.
    pub fn plan(&self, header: Option<&[String]>, ncols: usize, path: &Path) -> Result<ColumnPlan> {
        // Each name's columns (1-based), in order: one for most.
        let names: Option<HashMap<&str, Vec<usize>>> = header.map(|h| {
            let mut m: HashMap<&str, Vec<usize>> = HashMap::new();
            h.iter().enumerate().for_each(|(i, n)| m.entry(n.as_str()).or_default().push(i + 1));
            m
        });
        let find = |what: &'static str, c: &ColumnRef| -> Result<usize> {
            let setting = match what {
                "label" => "label",
                "id" => "id_column",
                "feature" => "columns",
                "categorical" => "categorical",
                _ => "ignore_columns",
            };
            match c {
                ColumnRef::Index(i) if *i < ncols => Ok(*i),
                ColumnRef::Index(i) => Err(Error::config(
                    setting,
                    format!(
                        "{}: {what} column index {i} (0-based) is out of range; the table has {ncols} columns",
                        path.display()
                    ),
                )),
                ColumnRef::Name(name) => {
                    let (Some(map), Some(h)) = (&names, header) else {
                        return Err(Error::config(
                            setting,
                            format!(
                                "{}: {what} column \"{name}\" is named, but the file has no header row \
                                 (give the column as a 0-based index instead)",
                                path.display()
                            ),
                        ));
                    };
                    let columns = map.get(name.as_str()).ok_or_else(|| {
                        Error::config(
                            setting,
                            format!(
                                "{}: no column named \"{name}\" (the {what} column); the header has {}",
                                path.display(),
                                quoted_list(h)
                            ),
                        )
                    })?;
                    if let [one] = columns[..] {
                        return Ok(one - 1);
                    }
                    let listed: Vec<String> = columns.iter().map(usize::to_string).collect();
                    Err(Error::config(
                        setting,
                        format!(
                            "{}: columns {} are all named \"{name}\", so the {what} column is ambiguous; give it as a 0-based index",
                            path.display(),
                            listed.join(", ")
                        ),
                    ))
                }
            }
        };
        let mut roles = vec![None; ncols];
        let mut assign = |what: &'static str, c: &ColumnRef, role: Role| -> Result<usize> {
            let i = find(what, c)?;
            if let Some(before) = roles[i] {
                return Err(Error::config(
                    "columns",
                    format!(
                        "{}: column {} ({c}) is given twice: as {} and as {}",
                        path.display(),
                        i + 1,
                        role_name(before),
                        role_name(role)
                    ),
                ));
            }
            roles[i] = Some(role);
            Ok(i)
        };
        let label = self.label.as_ref().map(|c| assign("label", c, Role::Label)).transpose()?;
        let id = self.id.as_ref().map(|c| assign("id", c, Role::Id)).transpose()?;
        for c in &self.ignore {
            assign("ignored", c, Role::Skip)?;
        }
        let categorical: Vec<usize> = self
            .categorical
            .iter()
            .enumerate()
            .map(|(k, c)| assign("categorical", c, Role::Category(k)))
            .collect::<Result<_>>()?;
        let features: Vec<usize> = match &self.features {
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(j, c)| assign("feature", c, Role::Feature(j)))
                .collect::<Result<_>>()?,
            None => {
                let free: Vec<usize> = (0..ncols).filter(|&i| roles[i].is_none()).collect();
                for (j, &i) in free.iter().enumerate() {
                    roles[i] = Some(Role::Feature(j));
                }
                free
            }
        };
        if features.is_empty() && categorical.is_empty() {
            return Err(Error::format(
                path,
                "no feature columns: every column is the label, the id or left out",
            ));
        }
        let feature_names = header.map(|h| features.iter().map(|&i| h[i].clone()).collect());
        let categorical_names =
            categorical.iter().map(|&i| header.map_or_else(|| i.to_string(), |h| h[i].clone())).collect();
        let roles = roles.into_iter().map(|r| r.unwrap_or(Role::Skip)).collect();
        Ok(ColumnPlan { roles, features, label, id, feature_names, categorical, categorical_names })
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Feature(_) => "a feature",
        Role::Label => "the label",
        Role::Id => "the id",
        Role::Skip => "an ignored column",
        Role::Category(_) => "a categorical column",
    }
}

/// `"a", "b", "c"`.
fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<String> {
        ["id", "a", "b", "note", "y"].iter().map(|s| s.to_string()).collect()
    }

    fn name(s: &str) -> ColumnRef {
        ColumnRef::Name(s.into())
    }

    #[test]
    fn roles_by_name_and_index() {
        let h = header();
        let p = Path::new("t.csv");
        let all = Columns::default().plan(Some(&h), 5, p).unwrap();
        assert_eq!(all.features, vec![0, 1, 2, 3, 4]);
        let c = Columns {
            label: Some(name("y")),
            id: Some(ColumnRef::Index(0)),
            ignore: vec![name("note")],
            ..Columns::default()
        };
        let plan = c.plan(Some(&h), 5, p).unwrap();
        assert_eq!(plan.features, vec![1, 2]);
        assert_eq!((plan.label, plan.id), (Some(4), Some(0)));
        assert_eq!(plan.roles, vec![Role::Id, Role::Feature(0), Role::Feature(1), Role::Skip, Role::Label]);
        assert_eq!(plan.feature_names, Some(vec!["a".to_string(), "b".to_string()]));
        // --columns in another order: the features come in that order; the rest is skipped.
        let c = Columns { features: Some(vec![name("b"), ColumnRef::Index(1)]), ..Columns::default() };
        let plan = c.plan(Some(&h), 5, p).unwrap();
        assert_eq!(plan.features, vec![2, 1]);
        assert_eq!(plan.roles, vec![Role::Skip, Role::Feature(1), Role::Feature(0), Role::Skip, Role::Skip]);
        assert_eq!("3".parse::<ColumnRef>().unwrap(), ColumnRef::Index(3));
        assert_eq!(" y ".parse::<ColumnRef>().unwrap(), name("y"));
    }

    /// Text labels are numbered in sorted order, whatever order the rows come in;
    /// whole numbers stay themselves; one text among numbers makes them all text.
    #[test]
    fn text_labels_become_classes_in_sorted_order() {
        let read = |texts: &[&str]| {
            let mut l = LabelTexts::default();
            texts.iter().for_each(|t| l.push(t));
            l.finish(|t| t.parse().ok())
        };
        let names = Some(vec!["setosa".to_string(), "versicolor".into(), "virginica".into()]);
        assert_eq!(read(&["virginica", "setosa", "versicolor", "setosa"]), (vec![2, 0, 1, 0], names.clone()));
        assert_eq!(read(&["setosa", "virginica", "versicolor"]), (vec![0, 2, 1], names));
        assert_eq!(read(&["7", "-1", "7"]), (vec![7, -1, 7], None));
        assert_eq!(read(&["10", "9", "x"]), (vec![0, 1, 2], Some(vec!["10".into(), "9".into(), "x".into()])));
    }

    #[test]
    fn bad_choices_are_named() {
        let h = header();
        let p = Path::new("t.csv");
        let err = |c: Columns, header: Option<&[String]>| c.plan(header, 5, p).unwrap_err().to_string();
        let e = err(Columns { id: Some(name("key")), ..Columns::default() }, Some(&h));
        assert!(
            e.contains("t.csv")
                && e.contains("no column named \"key\" (the id column)")
                && e.contains("\"note\""),
            "{e}"
        );
        let e = err(Columns { label: Some(ColumnRef::Index(5)), ..Columns::default() }, Some(&h));
        assert!(e.contains("label column index 5 (0-based) is out of range; the table has 5 columns"), "{e}");
        let e = err(Columns { ignore: vec![name("a")], ..Columns::default() }, None);
        assert!(e.contains("ignored column \"a\" is named, but the file has no header row"), "{e}");
        // A name the header gives twice is ambiguous; its index is not.
        let twice: Vec<String> = ["id", "a", "b", "a", "y"].iter().map(|s| s.to_string()).collect();
        let e = err(Columns { label: Some(name("a")), ..Columns::default() }, Some(&twice));
        assert!(e.contains("columns 2, 4 are all named \"a\", so the label column is ambiguous; give it as a 0-based index"), "{e}");
        let by_index = Columns { label: Some(ColumnRef::Index(3)), ..Columns::default() };
        assert_eq!(by_index.plan(Some(&twice), 5, p).unwrap().label, Some(3));
        let e = err(
            Columns {
                label: Some(name("y")),
                features: Some(vec![name("a"), name("y")]),
                ..Columns::default()
            },
            Some(&h),
        );
        assert!(e.contains("column 5 (\"y\") is given twice: as the label and as a feature"), "{e}");
        let e = err(
            Columns { features: Some(vec![name("a"), ColumnRef::Index(1)]), ..Columns::default() },
            Some(&h),
        );
        assert!(e.contains("given twice: as a feature and as a feature"), "{e}");
        let e =
            err(Columns { ignore: (0..5).map(ColumnRef::Index).collect(), ..Columns::default() }, Some(&h));
        assert!(e.contains("no feature columns"), "{e}");
    }
}
