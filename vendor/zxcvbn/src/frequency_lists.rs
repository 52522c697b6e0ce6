//! The ranked word lists, most common first. They live in `data/*.txt` (one word per line) and
//! are deflated into the binary by `build.rs`: ~389 KB instead of ~793 KB of text.

use std::collections::HashMap;

use miniz_oxide::inflate::decompress_to_vec;

#[derive(Copy, Clone, Debug, Eq, PartialEq, Hash, Default)]
#[cfg_attr(feature = "ser", derive(serde::Deserialize, serde::Serialize))]
pub enum DictionaryType {
    #[default]
    Passwords,
    English,
    FemaleNames,
    MaleNames,
    Surnames,
    UsTvAndFilm,
    UserInputs,
}

/// Inflates one list deflated by `build.rs`; the data is ours, so failure is a build defect.
fn inflate(deflated: &[u8]) -> String {
    let bytes = decompress_to_vec(deflated).expect("word list deflated by build.rs");
    String::from_utf8(bytes).expect("word lists are UTF-8")
}

macro_rules! list {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $file, ".deflate"))
    };
}

lazy_static! {
    /// The inflated lists, kept for the life of the process: the dictionaries borrow from them.
    static ref WORDS: Vec<(DictionaryType, String)> = vec![
        (DictionaryType::Passwords, inflate(list!("passwords"))),
        (DictionaryType::English, inflate(list!("english_wiki"))),
        (DictionaryType::FemaleNames, inflate(list!("female_names"))),
        (DictionaryType::MaleNames, inflate(list!("male_names"))),
        (DictionaryType::Surnames, inflate(list!("surnames"))),
        (DictionaryType::UsTvAndFilm, inflate(list!("us_tv_and_film"))),
    ];
    pub(crate) static ref RANKED_DICTIONARIES: HashMap<DictionaryType, HashMap<&'static str, usize>> = {
        WORDS
            .iter()
            .map(|(kind, words)| {
                let ranked = words.lines().enumerate().map(|(i, x)| (x, i + 1)).collect();
                (*kind, ranked)
            })
            .collect()
    };
}
