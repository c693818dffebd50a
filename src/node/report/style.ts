/** The report page's stylesheet, inlined into the HTML. */
export const REPORT_CSS = `
body{margin:0;background:#f6f7f9;color:#1f2328;font:14px/1.45 Helvetica,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:20px 28px 40px}
h1{font-size:22px;margin:4px 0 6px}h2{font-size:17px;margin:26px 0 10px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
.sub{font-weight:normal;color:#667;font-size:14px}.meta{color:#444;margin:0}
table{border-collapse:collapse;background:#fff;border:1px solid #d8dde3}
th,td{padding:5px 10px;border-bottom:1px solid #eceff2;text-align:right;white-space:nowrap}
thead th{background:#eef1f4;font-weight:600;text-align:center}
tbody th{text-align:left;font-weight:600}td.key{font-weight:600;color:#1a4f8b}
tr.avg th,tr.avg td{background:#f8f9fb;font-style:italic}
.note{font-weight:normal;font-size:11px;color:#667;white-space:normal;max-width:260px}
.scroll{overflow-x:auto}.caption{color:#555;font-size:12px;margin:6px 0 0}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
figure.chart{margin:0;background:#fff;border:1px solid #d8dde3;border-radius:4px;padding:10px 12px}
figure.chart svg{max-width:100%;height:auto}
figure.chart[data-chart=training],figure.chart[data-chart=recall-by-class]{grid-column:1/-1}
thead th{white-space:normal}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}
figure.card{margin:0;background:#fff;border:1px solid #d8dde3;border-radius:4px;padding:6px;font-size:12px}
figure.card img{width:100%;height:auto;display:block;border-radius:2px}
.noimg{height:100px;display:flex;align-items:center;justify-content:center;background:#eee;color:#888}
.bad{color:#b42318}
.banner{margin:0 0 10px;padding:10px 14px;border:2px solid #b42318;border-radius:4px;background:#fdecea;color:#7a1a12;font-weight:600}
`;
