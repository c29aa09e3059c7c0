//! The page's style sheet (inline) and its Content-Security-Policy.
//!
//! On screen: sober colours, severity as a coloured badge with its name. In print (A4, black and
//! white): no colour carries meaning — the key process has a double border, matched stages a
//! solid one, remote ends a dashed one — each finding starts on a new page, and boxes are not
//! split across pages.

/// The policy in the page's `<meta http-equiv>`: nothing may be fetched (no image, font, frame,
/// script, connection, form target or base URL); only the inline style sheet applies.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

pub const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6475;--line:#c9cfda;--soft:#f3f5f9;--accent:#1f4e8c;
--key:#1f4e8c;--net:#8a3b12;--stage:#0f6b4f}
*{box-sizing:border-box}
html{font:14px/1.45 "DejaVu Sans","Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);background:#fff}
body{margin:0 auto;max-width:78rem;padding:1.5rem 2rem 3rem}
h1{font-size:1.6rem;margin:0 0 .2rem;color:var(--accent);letter-spacing:.01em}
h2{font-size:1.2rem;margin:2rem 0 .6rem;padding-bottom:.25rem;border-bottom:2px solid var(--ink)}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
.sub{color:var(--muted);margin:0 0 1rem}
code,.mono,.cmd{font-family:"DejaVu Sans Mono",Consolas,"Liberation Mono",monospace;font-size:.86em}
.cmd{white-space:pre-wrap;overflow-wrap:anywhere}
.path{overflow-wrap:anywhere;font-size:.82em;color:#2b3342}
.nw{white-space:nowrap}
.ctl{border:1px solid currentColor;border-radius:3px;padding:0 .15em;font-size:.8em;color:#a01010}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td{overflow-wrap:break-word}
td.num,th.num{text-align:right;white-space:nowrap}
tr.stage td{font-weight:600;background:#f2f8f5}
tr.stage td:first-child{border-left:3px solid var(--stage)}
tr.ctx td{color:#4a5262}
table.evidence{font-size:.84rem;table-layout:fixed}
table.evidence td{overflow-wrap:anywhere}
table.evidence th:nth-child(1){width:4.2rem}
table.evidence th:nth-child(2){width:4.8rem}
table.evidence th:nth-child(3){width:13.2rem}
table.evidence th:nth-child(4){width:7.6rem}
table.evidence th:nth-child(5){width:17%}
table.evidence th:nth-child(6){width:3.4rem}
table.evidence th:nth-child(7){width:8rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.3rem 0 1rem}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.sev{display:inline-block;white-space:nowrap;padding:.05rem .5rem;border-radius:.7rem;font-weight:700;font-size:.8rem;
text-transform:uppercase;letter-spacing:.04em;border:1.5px solid currentColor}
.sev-critical{color:#fff;background:#8b0000;border-color:#8b0000}
.sev-high{color:#fff;background:#c0392b;border-color:#c0392b}
.sev-medium{color:#5a3d00;background:#f6c344;border-color:#c99a1c}
.sev-low{color:#0d3c6e;background:#dbe8f7;border-color:#7fa3cc}
.summary{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.summary div{border:1px solid var(--line);border-radius:6px;padding:.5rem .9rem;background:var(--soft);min-width:9rem}
.summary b{display:block;font-size:1.3rem}
.warn{border-left:4px solid #c0392b;background:#fdf1ef;padding:.5rem .8rem;margin:.6rem 0}
section.finding{border-top:1px solid var(--line);margin-top:2rem;padding-top:.3rem;
content-visibility:auto;contain-intrinsic-size:auto 1400px}
section.finding>h2{border:0;margin-top:.8rem}
.chain{border:1px solid var(--line);border-radius:8px;padding:.9rem 1rem;margin:.5rem 0 1rem;background:#fcfdfe}
.legend{font-size:.8rem;color:var(--muted);margin:.2rem 0 .6rem}
.legend span{margin-right:1.2rem}
ul.tree,ul.tree ul{list-style:none;margin:0;padding:0}
ul.tree ul{padding-left:1.6rem}
ul.tree li{position:relative;padding:.35rem 0 0 1.3rem}
ul.tree>li{padding-left:0}
ul.tree ul>li::before{content:"";position:absolute;left:0;top:0;bottom:0;border-left:2px solid #6d7686}
ul.tree ul>li:last-child::before{bottom:auto;height:1.55rem}
ul.tree ul>li::after{content:"";position:absolute;left:0;top:1.55rem;width:1.2rem;border-top:2px solid #6d7686}
.row{display:flex;align-items:flex-start;gap:.6rem}
.proc{flex:1 1 auto;min-width:12rem;max-width:46rem;border:1.5px solid #8d96a6;border-radius:6px;padding:.3rem .55rem;background:#fff;break-inside:avoid}
.proc .head{display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
.proc .name{font-weight:700}
.proc .pid{color:var(--muted)}
.proc .when{margin-left:auto;color:var(--muted);font-size:.85em;white-space:nowrap}
.proc .note{color:var(--muted);font-size:.82em;font-style:italic}
.proc .cmd{display:block;margin-top:.15rem;color:#2b3342}
.proc.key{border:4px double var(--key);background:#f4f8fd}
.proc.stage{border:2px solid var(--stage)}
.proc.ghost{border-style:dotted;background:var(--soft)}
.tag{display:inline-block;font-size:.72rem;font-weight:700;border:1.5px solid currentColor;border-radius:3px;padding:0 .3rem;letter-spacing:.03em}
.tag.key{color:var(--key)}
.tag.stage{color:var(--stage)}
.nets{flex:0 0 23rem;display:flex;flex-direction:column;gap:.3rem}
.net{display:flex;align-items:center;gap:.35rem;font-size:.85rem;color:var(--net);break-inside:avoid}
.net .arrow{flex:0 0 auto;width:4rem;height:1rem;color:var(--net)}
.net .port{white-space:nowrap}
.net .remote{display:inline-block;border:1.5px dashed var(--net);border-radius:5px;padding:.15rem .5rem;font-weight:700;font-size:1rem;color:var(--ink);background:#fff8f3;overflow-wrap:anywhere}
.net.matched .remote{border-style:solid;border-width:2.5px}
.net .t{color:var(--muted);white-space:nowrap;font-size:.8rem}
.more{color:var(--muted);font-size:.82rem;font-style:italic}
details.wider{margin:.4rem 0 1rem}
details.wider>summary{cursor:pointer;color:var(--accent);font-weight:600}
details.wider .proc{max-width:40rem}
a{color:var(--accent)}
footer{margin-top:3rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line);padding-top:.5rem}
@page{size:A4;margin:14mm 12mm}
@media print{
html{font-size:9.5pt;color:#000;background:#fff}
body{max-width:none;padding:0}
*{color:#000 !important;background:#fff !important;box-shadow:none !important}
h1{color:#000}
a{text-decoration:none}
.sev{border:1.5px solid #000}
.proc{border-color:#000}
.proc.key{border:4px double #000}
.proc.stage{border:2px solid #000}
.net .remote{border-color:#000}
.ctl{border-color:#000}
section.finding{break-before:page;border:0;content-visibility:visible}
.chain{break-inside:avoid-page;border-color:#000}
tr{break-inside:avoid}
thead{display:table-header-group}
.nets{flex-basis:17rem}
ul.tree ul>li::before,ul.tree ul>li::after{border-color:#000}
}
"#;
