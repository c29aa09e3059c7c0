#![forbid(unsafe_code)]

fn main() {
    std::process::exit(dcomhunt::cli::main());
}
