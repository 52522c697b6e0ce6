//! Hand-written scans for the four patterns upstream hands to `regex` and `fancy-regex`.
//! Each keeps the regex's semantics (leftmost match; greedy or lazy group; `.` stops at a
//! newline; `[0-9]` is ASCII; `\s` is Unicode White_Space) so scores stay the same, without
//! linking two regex engines and their Unicode tables into every binary that estimates a
//! password (~0.8 MB on arm64).

/// A repetition `base{count}` starting at `start`, in chars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Repeat {
    pub start: usize,
    pub base_len: usize,
    pub count: usize,
}

impl Repeat {
    pub fn len(&self) -> usize {
        self.base_len * self.count
    }

    pub fn end(&self) -> usize {
        self.start + self.len()
    }
}

/// Which base a repeat search prefers at the leftmost start: `(.+)` or `(.+?)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Base {
    Longest,
    Shortest,
}

/// The first match of `(.+)\1+` (`Base::Longest`) or `(.+?)\1+` (`Base::Shortest`) in
/// `chars`: the leftmost start that begins a repeat, the preferred base length there, and as
/// many repetitions of it as follow.
pub(super) fn repeat(chars: &[char], base: Base) -> Option<Repeat> {
    (0..chars.len()).find_map(|start| {
        let rest = &chars[start..];
        // `.` does not match a newline, so neither the base nor its copies can hold one.
        let run = rest.iter().take_while(|&&c| c != '\n').count();
        let longest = run / 2;
        let repeats_at = |base_len: usize| rest[base_len..2 * base_len] == rest[..base_len];
        let base_len = match base {
            Base::Longest => (1..=longest).rev().find(|&len| repeats_at(len)),
            Base::Shortest => (1..=longest).find(|&len| repeats_at(len)),
        }?;
        let count = rest
            .chunks_exact(base_len)
            .take_while(|chunk| *chunk == &rest[..base_len])
            .count();
        Some(Repeat {
            start,
            base_len,
            count,
        })
    })
}

/// The shortest base `whole` is a repetition of, as `^(.+?)\1+$` finds it. `whole` is a
/// repeat found by [`repeat`], so a base shorter than itself always exists.
pub(super) fn period(whole: &[char]) -> usize {
    (1..=whole.len() / 2)
        .find(|&len| {
            whole.len() % len == 0 && whole.chunks_exact(len).all(|chunk| chunk == &whole[..len])
        })
        .unwrap_or(whole.len())
}

/// Where `19[0-9]{2}|20[0-9]{2}` matches, left to right, without overlaps (char indices).
pub(super) fn recent_years(chars: &[char]) -> impl Iterator<Item = usize> + '_ {
    let is_year = |w: &[char]| {
        matches!(w[..2], ['1', '9'] | ['2', '0']) && w[2..].iter().all(char::is_ascii_digit)
    };
    let mut next = 0;
    std::iter::from_fn(move || {
        let found = (next..chars.len().saturating_sub(3)).find(|&i| is_year(&chars[i..i + 4]))?;
        next = found + 4;
        Some(found)
    })
}

/// A token that `^([0-9]{1,4})([\s/\\_.-])([0-9]{1,2})([\s/\\_.-])([0-9]{1,4})$` matches,
/// with both separators the same.
pub(super) struct SeparatedDate<'a> {
    pub ints: [u16; 3],
    pub separator: &'a str,
}

pub(super) fn separated_date(token: &str) -> Option<SeparatedDate<'_>> {
    let is_separator = |c: char| c.is_whitespace() || matches!(c, '/' | '\\' | '_' | '.' | '-');
    let mut rest = token;
    let mut ints = [0u16; 3];
    let mut separators = [""; 2];
    for (k, max_digits) in [4, 2, 4].into_iter().enumerate() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > max_digits {
            return None;
        }
        ints[k] = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        if k < 2 {
            let separator = rest.chars().next().filter(|&c| is_separator(c))?;
            let (sep, after) = rest.split_at(separator.len_utf8());
            separators[k] = sep;
            rest = after;
        }
    }
    (rest.is_empty() && separators[0] == separators[1]).then_some(SeparatedDate {
        ints,
        separator: separators[0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn found(s: &str, base: Base) -> Option<(String, usize)> {
        let cs = chars(s);
        repeat(&cs, base).map(|r| {
            let base: String = cs[r.start..r.start + r.base_len].iter().collect();
            (base, r.count)
        })
    }

    #[test]
    fn greedy_and_lazy_repeats_pick_bases_as_the_regexes_do() {
        assert_eq!(found("aabaab", Base::Longest), Some(("aab".into(), 2)));
        assert_eq!(found("aabaab", Base::Shortest), Some(("a".into(), 2)));
        assert_eq!(found("aaaaa", Base::Longest), Some(("aa".into(), 2)));
        assert_eq!(found("aaaaa", Base::Shortest), Some(("a".into(), 5)));
        assert_eq!(found("xyzabcabc", Base::Shortest), Some(("abc".into(), 2)));
        assert_eq!(found("abcdef", Base::Longest), None);
    }

    #[test]
    fn a_newline_ends_what_dot_can_repeat() {
        assert_eq!(found("ab\nab", Base::Longest), None);
        assert_eq!(found("a\na", Base::Shortest), None);
        assert_eq!(found("\n\n", Base::Shortest), None);
        assert_eq!(found("x\nzz", Base::Shortest), Some(("z".into(), 2)));
    }

    #[test]
    fn period_is_the_shortest_base() {
        assert_eq!(period(&chars("aabaabaabaab")), 3);
        assert_eq!(period(&chars("abab")), 2);
        assert_eq!(period(&chars("ééé")), 1);
    }

    #[test]
    fn recent_years_do_not_overlap() {
        let found: Vec<usize> = recent_years(&chars("x19992011 2020")).collect();
        assert_eq!(found, vec![1, 5, 10]);
        assert_eq!(recent_years(&chars("1899 2100 19")).count(), 0);
        assert_eq!(recent_years(&chars("١٩٩٩")).count(), 0, "only ASCII digits");
    }

    #[test]
    fn separated_dates_need_equal_separators_and_bounded_groups() {
        let date = separated_date("1/12/1991").expect("a date");
        assert_eq!((date.ints, date.separator), ([1, 12, 1991], "/"));
        let date = separated_date("1991\u{a0}1\u{a0}1").expect("Unicode whitespace separates");
        assert_eq!(date.separator, "\u{a0}");
        assert!(separated_date("1/12-1991").is_none());
        assert!(separated_date("1/123/1991").is_none());
        assert!(separated_date("12345/1/1").is_none());
        assert!(separated_date("1/1/1/").is_none());
        assert!(separated_date("a/1/1").is_none());
    }
}
