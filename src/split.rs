//! Train/test splits: a data set's explicit one, or a seeded stratified hold-out.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, Part};
use crate::error::{Error, Result};

/// Train and test row indices, each ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// The split a data set is evaluated on: its explicit train/test parts when it has them
/// (`val` items are left out: the fixed-C probe does not tune on them), otherwise
/// [`stratified_holdout`] with `test_fraction` and `seed`.
pub fn for_data(data: &Dataset, test_fraction: f64, seed: u64) -> Result<Split> {
    let Some(source) = &data.split_source else {
        return stratified_holdout(&data.labels(), &data.classes, test_fraction, seed);
    };
    let rows = |part: Part| -> Vec<usize> {
        data.items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.split == Some(part))
            .map(|(i, _)| i)
            .collect()
    };
    let (train, test) = (rows(Part::Train), rows(Part::Test));
    for (part, idx) in [(Part::Train, &train), (Part::Test, &test)] {
        if idx.is_empty() {
            return Err(Error::InvalidValue {
                name: "split",
                value: source.clone(),
                why: format!("it has no {} items", part.name()),
            });
        }
    }
    let mut present: Vec<usize> = train
        .iter()
        .filter_map(|&i| data.items.get(i).map(|it| it.label))
        .collect();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        return Err(Error::TooFewClasses {
            count: present.len(),
            classes: present
                .iter()
                .filter_map(|&c| data.classes.get(c))
                .map(|c| format!("'{c}' (in train)"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(Split { train, test })
}

/// The protocol name of the split [`for_data`] makes.
pub fn protocol_name(data: &Dataset) -> String {
    if data.split_source.is_some() {
        "given_split".into()
    } else {
        "stratified_holdout".into()
    }
}

/// Stratified hold-out: in each class, `round(n_c * test_fraction)` samples (at least
/// one, and leaving at least one for training) go to the test set, chosen by a
/// ChaCha8 generator seeded with `seed`.
pub fn stratified_holdout(
    labels: &[usize],
    classes: &[String],
    test_fraction: f64,
    seed: u64,
) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::InvalidParameter {
            name: "test fraction",
            value: test_fraction.to_string(),
            why: "must be between 0 and 1 (exclusive)",
        });
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    for (i, &l) in labels.iter().enumerate() {
        match by_class.get_mut(l) {
            Some(v) => v.push(i),
            None => {
                return Err(Error::InvalidParameter {
                    name: "label index",
                    value: l.to_string(),
                    why: "outside the class list",
                })
            }
        }
    }
    let present: Vec<&String> = classes
        .iter()
        .zip(&by_class)
        .filter(|(_, v)| !v.is_empty())
        .map(|(c, _)| c)
        .collect();
    if present.len() < 2 {
        return Err(Error::too_few_classes(&present));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (class, mut idx) in classes.iter().zip(by_class) {
        if idx.is_empty() {
            continue;
        }
        if idx.len() < 2 {
            return Err(Error::ClassTooSmall {
                class: class.clone(),
                count: idx.len(),
            });
        }
        idx.shuffle(&mut rng);
        let n_test = ((idx.len() as f64 * test_fraction).round() as usize).clamp(1, idx.len() - 1);
        let (to_test, to_train) = idx.split_at(n_test);
        test.extend_from_slice(to_test);
        train.extend_from_slice(to_train);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|i| i.to_string()).collect()
    }

    #[test]
    fn keeps_class_proportions_and_is_seeded() {
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 70)).collect();
        let a = stratified_holdout(&labels, &names(2), 0.2, 7).unwrap();
        assert_eq!(a.test.len(), 20);
        assert_eq!(a.test.iter().filter(|&&i| labels[i] == 1).count(), 6);
        assert_eq!(a, stratified_holdout(&labels, &names(2), 0.2, 7).unwrap());
        assert_ne!(a, stratified_holdout(&labels, &names(2), 0.2, 8).unwrap());
    }

    #[test]
    fn one_sample_class_is_refused() {
        let err = stratified_holdout(&[0, 0, 1], &names(2), 0.2, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "class '1' has 1 sample(s); a stratified split needs at least 2 per class"
        );
        assert!(matches!(
            stratified_holdout(&[0, 0], &names(2), 0.2, 0),
            Err(Error::TooFewClasses { count: 1, .. })
        ));
    }
}
