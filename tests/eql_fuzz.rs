//! The parser (and the compiled query on a document) never panics, whatever the input:
//! thousands of random and mutated queries from a fixed-seed generator.

use dcomhunt::eql::{MapDocument, compile, parse};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    r#"sequence by host.id with maxspan=1m [network where process.name : "mmc.exe" and source.port >= 49152] by process.entity_id [process where process.parent.name : ("mmc.exe", "x?y*")] by process.parent.entity_id"#,
    r#"sequence with maxspan=500ms [process where not a in~ ("x") or b like~ "q"] by `odd field`, ?k [any where c != null] by d, e until [process where event.type == "end"] by d, e"#,
    r#"process where x == """raw "quoted" text""" and y : ?"C:\Win\*" and z < -1.5e3 and w in (1, 2.0, "3", null, true)"#,
    r#"sequence by host.id [network where destination.port == 135] [process where true] by p with maxgap=2s [process where true] by q"#,
    "process where \"\\u{1F600}\\t\\\"\" == f // comment\n /* block */ and (g == 1 or (h : \"x\" and not i != 2))",
];

const PIECES: &[&str] = &[
    "sequence",
    "by",
    "with",
    "maxspan",
    "maxgap",
    "=",
    "1m",
    "2s",
    "[",
    "]",
    "process",
    "network",
    "any",
    "where",
    "and",
    "or",
    "not",
    "in",
    "in~",
    "like",
    "like~",
    ":",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "(",
    ")",
    ",",
    "\"",
    "\"\"\"",
    "?\"",
    "?",
    "`",
    "\\",
    "null",
    "true",
    "false",
    "-",
    "1",
    "1.5",
    "99999999999999999999",
    "a.b",
    "until",
    "é",
    "\u{0}",
    "\n",
    " ",
    "/*",
    "//",
    "*",
    "~",
    "'",
    "|",
    "regex",
    "f(",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (k, c) in piece.chars().enumerate() {
                    chars.insert(at + k, c);
                }
            }
            2 if at < chars.len() => {
                chars[at] = char::from_u32(rng.below(0x250) as u32).unwrap_or('x');
            }
            _ => {
                let end = (at + rng.below(20)).min(chars.len());
                chars.truncate(end.max(at.min(chars.len())));
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn parser_never_panics_on_random_and_mutated_input() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let doc = MapDocument::new("process")
        .with("a", "x")
        .with("x", vec!["raw \"quoted\" text"])
        .with("host.id", "h");
    let mut parsed = 0;
    for i in 0..20_000 {
        let text = match i % 3 {
            0 => {
                let seed = SEEDS[rng.below(SEEDS.len())];
                mutate(&mut rng, seed)
            }
            1 => (0..rng.below(30))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect::<Vec<_>>()
                .join(if rng.below(2) == 0 { " " } else { "" }),
            _ => (0..rng.below(60))
                .map(|_| char::from_u32(rng.below(0x80) as u32).unwrap_or(' '))
                .collect(),
        };
        if parse(&text).is_ok() {
            parsed += 1;
            let q = compile(&text).expect("parse ok implies compile ok");
            let mut m = q.matcher();
            for p in 0..3 {
                m.feed(&doc, p, p as i64).expect("ordered");
            }
        } else {
            // Errors render without panicking too.
            let e = parse(&text).unwrap_err();
            let _ = e.to_string();
        }
    }
    // The generator must reach the valid grammar, not only garbage.
    assert!(parsed > 100, "only {parsed} inputs parsed");
    for s in SEEDS {
        parse(s).unwrap_or_else(|e| panic!("seed {s}: {e}"));
    }
}
