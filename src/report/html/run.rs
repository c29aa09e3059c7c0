//! The page's last section: what was run over what — tool, filters, rules, every input with its
//! SHA-256 and what could not be read of it, files skipped, every rule with its hash.

use super::esc::{html, text};
use crate::report::{ReportInput, ReportOptions};
use crate::time::Ts;
use std::fmt::Write as _;

pub fn section(out: &mut String, r: &ReportInput<'_>, opts: &ReportOptions) {
    let l = r.loaded;
    out.push_str("<h2 id=\"run\">The run</h2><dl class=\"facts\">");
    let _ = write!(
        out,
        "<dt>Tool</dt><dd>dcomhunt {}</dd>",
        env!("CARGO_PKG_VERSION")
    );
    let window = |t: Option<Ts>| t.map_or_else(|| "—".to_owned(), |t| t.iso());
    out.push_str("<dt>Host filter</dt><dd>");
    text(out, opts.host.as_deref().unwrap_or("—"));
    let _ = write!(
        out,
        "</dd><dt>Time window</dt><dd>{} to {}</dd><dt>Rules</dt><dd>",
        window(opts.from),
        window(opts.to)
    );
    match &opts.rules_dir {
        Some(d) => {
            out.push_str("from ");
            text(out, d);
        }
        None => out.push_str("built into this binary"),
    }
    if !opts.rule_ids.is_empty() {
        out.push_str(" · only ");
        text(out, &opts.rule_ids.join(", "));
    }
    out.push_str("</dd></dl>");
    out.push_str(
        "<h3 id=\"inputs\">Inputs</h3><table><thead><tr><th>file</th><th>format</th>\
         <th class=\"num\">bytes</th><th>SHA-256</th><th class=\"num\">records read</th>\
         <th class=\"num\">events kept</th><th>read</th></tr></thead><tbody>",
    );
    for i in &l.inputs {
        out.push_str("<tr><td class=\"cmd\">");
        text(out, &i.input.display);
        let mut state = Vec::new();
        if i.stats.truncated {
            state.push("TRUNCATED");
        }
        if !i.stats.damage.is_empty() {
            state.push("DAMAGED");
        }
        if i.stats.dirty {
            state.push("dirty flag set");
        }
        if state.is_empty() {
            state.push("complete");
        }
        let _ = write!(
            out,
            "</td><td>{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            i.input.format.as_str(),
            i.input.size,
            html(&i.input.sha256),
            i.stats.records_read,
            i.kept_total(),
            state.join(", ")
        );
        for d in &i.stats.damage {
            let mut place = Vec::new();
            if let Some(c) = d.chunk {
                place.push(format!("chunk {c}"));
            }
            if let Some(o) = d.offset {
                place.push(format!("offset {o}"));
            }
            if let Some(li) = d.line {
                place.push(format!("line {li}"));
            }
            if let Some(n) = d.records_lost {
                place.push(format!("{n} record(s) lost"));
            }
            let _ = write!(
                out,
                "<tr><td></td><td colspan=\"6\">damage: {}: <span class=\"cmd\">{}</span></td></tr>",
                place.join(", "),
                html(&d.reason)
            );
        }
        for n in &i.stats.notes {
            let _ = write!(
                out,
                "<tr><td></td><td colspan=\"6\">note: <span class=\"cmd\">{}</span></td></tr>",
                html(n)
            );
        }
    }
    out.push_str("</tbody></table>");
    if !l.skipped.is_empty() {
        out.push_str(
            "<h3>Files not read</h3><table><thead><tr><th>file</th><th>why</th></tr></thead><tbody>",
        );
        for s in &l.skipped {
            let _ = write!(
                out,
                "<tr><td class=\"cmd\">{}</td><td>{}</td></tr>",
                html(&s.path),
                html(&s.reason)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str(
        "<h3 id=\"rules\">Rules</h3><table><thead><tr><th>rule id</th><th>name</th><th>file</th>\
         <th>SHA-256</th><th class=\"num\">findings</th><th class=\"num\">dropped at cap</th>\
         </tr></thead><tbody>",
    );
    for lr in r.rules {
        let id = &lr.rule.rule_id;
        let n = r.findings.iter().filter(|f| &f.rule_id == id).count();
        let evicted = r
            .runs
            .iter()
            .find(|x| &x.rule_id == id)
            .map_or(0, |x| x.evicted);
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"cmd\">{}</td>\
             <td class=\"mono\">{}</td><td class=\"num\">{n}</td><td class=\"num\">{evicted}</td></tr>",
            html(id),
            html(&lr.rule.name),
            html(&lr.path.to_string_lossy()),
            html(&lr.sha256)
        );
    }
    out.push_str("</tbody></table>\n");
}
