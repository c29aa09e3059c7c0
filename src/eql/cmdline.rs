//! Windows command-line splitting (`CommandLineToArgvW` rules), for `process.args`.

/// Split a Windows command line into arguments the way `CommandLineToArgvW` does:
///
/// - the first argument (the program) ends at the next whitespace, or, if it starts with `"`,
///   at the next `"` (no escape processing in it);
/// - afterwards arguments are separated by spaces/tabs outside quotes; `"` toggles quoting;
/// - `2n` backslashes before `"` give `n` backslashes and the quote acts as a delimiter;
///   `2n+1` backslashes before `"` give `n` backslashes and a literal `"`; backslashes not
///   before a `"` are literal;
/// - inside quotes, `""` gives a literal `"` and ends the quoted part; in general every third
///   consecutive quote is a literal one (Windows' and Wine's behaviour).
///
/// An empty (or all-whitespace) command line gives no arguments.
pub fn split_command_line(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let chars: Vec<char> = cmd.chars().collect();
    let mut i = 0;
    let is_ws = |c: char| c == ' ' || c == '\t';
    // The program name.
    let mut first = String::new();
    if chars.first() == Some(&'"') {
        i = 1;
        while i < chars.len() && chars[i] != '"' {
            first.push(chars[i]);
            i += 1;
        }
        if i < chars.len() {
            i += 1; // closing quote
        }
    } else {
        while i < chars.len() && !is_ws(chars[i]) {
            first.push(chars[i]);
            i += 1;
        }
    }
    // Text glued to a closing quote of the program name belongs to the next argument on
    // Windows; it is handled by the loop below like any other argument.
    if !first.is_empty() || chars.first() == Some(&'"') {
        args.push(first);
    }
    while i < chars.len() && is_ws(chars[i]) {
        i += 1;
    }
    if i >= chars.len() {
        return args;
    }
    let mut cur = String::new();
    let mut in_arg = false;
    // Wine's algorithm: `quotes` counts quote state (0 outside, 1 inside, 2 just after `""`).
    let mut quotes = 0u32;
    let mut backslashes = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if is_ws(c) && quotes == 0 {
            for _ in 0..backslashes {
                cur.push('\\');
            }
            backslashes = 0;
            if in_arg {
                args.push(std::mem::take(&mut cur));
                in_arg = false;
            }
            i += 1;
            continue;
        }
        in_arg = true;
        match c {
            '\\' => {
                backslashes += 1;
                i += 1;
            }
            '"' => {
                for _ in 0..backslashes / 2 {
                    cur.push('\\');
                }
                if backslashes % 2 == 1 {
                    cur.push('"');
                } else {
                    quotes += 1;
                }
                backslashes = 0;
                i += 1;
                // Consecutive quotes: every third one is a literal quote.
                while i < chars.len() && chars[i] == '"' {
                    quotes += 1;
                    if quotes == 3 {
                        cur.push('"');
                        quotes = 0;
                    }
                    i += 1;
                }
                if quotes == 2 {
                    quotes = 0;
                }
            }
            _ => {
                for _ in 0..backslashes {
                    cur.push('\\');
                }
                backslashes = 0;
                cur.push(c);
                i += 1;
            }
        }
    }
    for _ in 0..backslashes {
        cur.push('\\');
    }
    if in_arg {
        args.push(cur);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::split_command_line as s;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn program_name_rules() {
        assert_eq!(
            s(r#""C:\Program Files\x.exe" -a"#),
            v(&[r"C:\Program Files\x.exe", "-a"])
        );
        assert_eq!(s(r"C:\a\b.exe"), v(&[r"C:\a\b.exe"]));
        // No escapes in the program name: a backslash before the quote stays literal.
        assert_eq!(s(r#""C:\dir\\" x"#), v(&[r"C:\dir\\", "x"]));
        assert_eq!(s(""), Vec::<String>::new());
        assert_eq!(s("   "), Vec::<String>::new());
        assert_eq!(s(r#""""#), v(&[""]));
    }

    #[test]
    fn real_command_lines() {
        assert_eq!(
            s(r"C:\Windows\system32\svchost.exe -k DcomLaunch -p"),
            v(&[r"C:\Windows\system32\svchost.exe", "-k", "DcomLaunch", "-p"])
        );
        assert_eq!(
            s(r"C:\Windows\System32\mshta.exe -Embedding"),
            v(&[r"C:\Windows\System32\mshta.exe", "-Embedding"])
        );
        assert_eq!(
            s(r"cmd.exe /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1556656511.61 2>&1"),
            v(&[
                "cmd.exe",
                "/Q",
                "/c",
                "cd",
                r"\",
                "1>",
                r"\\127.0.0.1\ADMIN$\__1556656511.61",
                "2>&1"
            ])
        );
    }

    #[test]
    fn backslash_and_quote_rules() {
        // Microsoft's documented examples (CommandLineToArgvW / "Parsing C++ command-line arguments").
        assert_eq!(s(r#"p "a b c" d e"#), v(&["p", "a b c", "d", "e"]));
        assert_eq!(s(r#"p "ab\"c" "\\" d"#), v(&["p", r#"ab"c"#, r"\", "d"]));
        assert_eq!(s(r#"p a\\\b d"e f"g h"#), v(&["p", r"a\\\b", "de fg", "h"]));
        assert_eq!(s(r#"p a\\\"b c d"#), v(&["p", r#"a\"b"#, "c", "d"]));
        assert_eq!(s(r#"p a\\\\"b c" d e"#), v(&["p", r"a\\b c", "d", "e"]));
        // Doubled quotes inside quotes: a literal quote, and quoting ends (CommandLineToArgvW,
        // unlike the 2008+ C runtime which stays in quotes).
        assert_eq!(s(r#"p "a""b" c"#), v(&["p", r#"a"b c"#]));
        assert_eq!(s(r#"p "a""b c"#), v(&["p", r#"a"b"#, "c"]));
        assert_eq!(s(r#"p """a""" b"#), v(&["p", r#""a""#, "b"]));
        assert_eq!(s("p\ta\t\tb"), v(&["p", "a", "b"]));
        assert_eq!(s(r"p a\"), v(&["p", r"a\"]));
    }
}
