//! Differential check: the fork and zxcvbn 3.1.1 should give the same score and guesses for
//! every input. Upstream breaks ties between equally likely matches in HashMap order, so a
//! handful of inputs differ from run to run of upstream itself; every difference is printed.

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn main() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../zxcvbn/data");
    let mut paths: Vec<_> = std::fs::read_dir(data)
        .expect("vendor/zxcvbn/data")
        .map(|entry| entry.expect("a list").path())
        .collect();
    paths.sort();
    let lists: Vec<String> = paths
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("UTF-8"))
        .collect();
    let words: Vec<&str> = lists.iter().flat_map(|l| l.lines().step_by(7)).collect();
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let alphabet: Vec<char> = "aAbB01239/\\_.-\n \t\u{a0}\u{2003}é日😀zZxqQ!@#"
        .chars()
        .collect();
    let seps = ["/", "-", ".", "_", "\\", " ", "\u{a0}", "\t", "", "x"];
    let mut inputs: Vec<String> = vec![
        "123456".into(),
        "password".into(),
        "hunter2".into(),
        "qwerty123".into(),
        "aabaabaabaab".into(),
        "abcabcabc".into(),
        "aaaaa".into(),
        "ab\nab".into(),
        "1/1/1991".into(),
        "19911991".into(),
        "Tr0ub4dour&3".into(),
        "correcthorsebatterystaple".into(),
        "2019-10-12".into(),
        "xX19992011 2020".into(),
    ];
    for w in &words {
        inputs.push(w.to_string());
        let mut caps = w.to_string();
        if let Some(f) = caps.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        inputs.push(format!("{caps}{}", rng.next() % 3000));
        inputs.push(w.replace('a', "@").replace('o', "0").replace('e', "3"));
        inputs.push(format!("{w}{w}"));
        inputs.push(format!(
            "{}{}{}",
            rng.pick(&words),
            rng.pick(&seps),
            rng.pick(&words)
        ));
    }
    for _ in 0..30000 {
        let (d, m, y) = (rng.next() % 40, rng.next() % 15, rng.next() % 2200);
        let sep = *rng.pick(&seps);
        let sep2 = if rng.next() % 5 == 0 {
            *rng.pick(&seps)
        } else {
            sep
        };
        inputs.push(format!(
            "{}{d}{sep}{m}{sep2}{y}{}",
            rng.pick(&words),
            rng.pick(&["", "!", "x1"])
        ));
        let len = 1 + rng.next() % 24;
        let mut s = String::new();
        for _ in 0..len {
            s.push(*rng.pick(&alphabet));
        }
        let rep = 1 + rng.next() % 4;
        let piece: String = s.chars().take(1 + (rng.next() % 4) as usize).collect();
        for _ in 0..rep {
            s.push_str(&piece);
        }
        inputs.push(s);
    }
    let user_inputs = ["alice", "alice@example.com", "wonderland"];
    let (mut same, mut guesses_differ, mut scores_differ) = (0, 0, 0);
    for p in inputs.iter().filter(|p| p.chars().count() <= 100) {
        let (a, b) = (
            upstream::zxcvbn(p, &user_inputs),
            fork::zxcvbn(p, &user_inputs),
        );
        if (a.score() as u8, a.guesses()) == (b.score() as u8, b.guesses()) {
            same += 1;
            continue;
        }
        if a.score() as u8 == b.score() as u8 {
            guesses_differ += 1;
        } else {
            scores_differ += 1;
        }
        println!(
            "{p:?}\n  upstream: {:?} {}\n  fork:     {:?} {}",
            a.score(),
            a.guesses(),
            b.score(),
            b.guesses()
        );
    }
    println!("{same} inputs identical; {guesses_differ} with other guesses but the same score; {scores_differ} with another score");
    if scores_differ > 0 {
        std::process::exit(1);
    }
}
