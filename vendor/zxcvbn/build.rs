//! Deflates the word lists in `data/` into OUT_DIR, where `frequency_lists.rs` includes them.

use std::{env, fs, path::Path};

const LISTS: [&str; 6] = [
    "passwords",
    "english_wiki",
    "female_names",
    "male_names",
    "surnames",
    "us_tv_and_film",
];

fn main() {
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in LISTS {
        let source = format!("data/{name}.txt");
        println!("cargo:rerun-if-changed={source}");
        let text = fs::read(&source).unwrap_or_else(|err| panic!("{source}: {err}"));
        let deflated = miniz_oxide::deflate::compress_to_vec(&text, 10);
        let target = Path::new(&out_dir).join(format!("{name}.deflate"));
        fs::write(&target, deflated).unwrap_or_else(|err| panic!("{target:?}: {err}"));
    }
}
