//! Text as each platform counts it: characters, UTF-16 units, UTF-8 bytes, or X's weighted length.

use serde::Serialize;

/// How a platform measures a text's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// Unicode code points.
    Characters,
    /// UTF-16 code units (TikTok's "runes").
    Utf16,
    /// UTF-8 bytes (YouTube's description: 5,000 bytes, so an accented letter counts two).
    Utf8Bytes,
    /// X's weighted length: URLs count 23, most Latin text 1, other scripts and emoji 2.
    XWeighted,
}

/// The length X counts for a URL, whatever its real length (t.co wrapping).
const X_URL_LENGTH: usize = 23;

impl Counting {
    pub fn length(self, text: &str) -> usize {
        match self {
            Self::Characters => text.chars().count(),
            Self::Utf16 => text.encode_utf16().count(),
            Self::Utf8Bytes => text.len(),
            Self::XWeighted => x_weighted(text),
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Self::Characters => "characters",
            Self::Utf16 => "UTF-16 units",
            Self::Utf8Bytes => "bytes",
            Self::XWeighted => "weighted characters (links count 23, emoji and CJK 2)",
        }
    }
}

/// Code points X weighs as one (twitter-text v3 ranges); everything else weighs two.
fn x_light(c: char) -> bool {
    matches!(u32::from(c), 0..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037)
}

/// Parts of an emoji sequence that add nothing to its weight: joiners, variation selectors, skin tones.
fn x_emoji_part(c: char) -> bool {
    matches!(u32::from(c), 0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF)
}

fn x_weighted(text: &str) -> usize {
    let mut total = 0;
    let mut after_joiner = false;
    for word in text.split_inclusive(char::is_whitespace) {
        let bare = word.trim_end();
        if bare.starts_with("https://") || bare.starts_with("http://") {
            total += X_URL_LENGTH + (word.len() - bare.len());
            after_joiner = false;
            continue;
        }
        for c in word.chars() {
            if u32::from(c) == 0x200D {
                after_joiner = true;
                continue;
            }
            if x_emoji_part(c) {
                continue;
            }
            if after_joiner {
                after_joiner = false;
                continue;
            }
            total += if x_light(c) { 1 } else { 2 };
        }
    }
    total
}

/// Words that start with `sigil` followed by a letter, digit or underscore (`#tag`, `@name`).
pub fn count_tokens(text: &str, sigil: char) -> usize {
    text.split(char::is_whitespace)
        .filter(|w| w.starts_with(sigil) && w.chars().nth(1).is_some_and(|c| c.is_alphanumeric() || c == '_'))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_counts_links_as_23_latin_as_1_and_cjk_and_emoji_as_2() {
        assert_eq!(Counting::XWeighted.length("hello"), 5);
        assert_eq!(
            Counting::XWeighted.length("see https://example.com/a/very/long/path/indeed"),
            4 + 23
        );
        assert_eq!(Counting::XWeighted.length("日本"), 4);
        assert_eq!(Counting::XWeighted.length("👍"), 2);
        // A family emoji joined by ZWJ is one emoji; a skin tone adds nothing.
        assert_eq!(Counting::XWeighted.length("👨\u{200D}👩\u{200D}👧"), 2);
        assert_eq!(Counting::XWeighted.length("👍🏽"), 2);
        assert_eq!(Counting::XWeighted.length(&"a".repeat(280)), 280);
    }

    #[test]
    fn utf16_counts_astral_characters_twice() {
        assert_eq!(Counting::Utf16.length("é👍"), 3);
        assert_eq!(Counting::Characters.length("é👍"), 2);
    }

    #[test]
    fn hashtags_need_a_word_character_after_the_sigil() {
        assert_eq!(count_tokens("#one # #two #_x #!", '#'), 3);
        assert_eq!(count_tokens("@a b@c @", '@'), 1);
    }
}
