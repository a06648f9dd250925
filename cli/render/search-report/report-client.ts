/**
 * The script report.html runs: it reads the embedded data and draws one page of prompts at a time (filtered
 * by the search box), so a 10,000-prompt report opens as fast as a 20-prompt one. Plain browser JavaScript,
 * no network; every text goes in through textContent.
 */
export const REPORT_SCRIPT = String.raw`
(() => {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const PAGE = 20;
  const list = document.getElementById('prompts');
  const info = document.getElementById('page-info');
  const filter = document.getElementById('filter');
  let shown = data.prompts;
  let page = 0;
  const h = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const num = (x) => (Math.abs(x) >= 1000 || x === 0 ? x.toFixed(1) : x.toPrecision(4));
  const picture = (id, cls) => {
    const img = h('img', cls);
    img.src = data.images[id];
    img.alt = '';
    return img;
  };
  // who was scored at each stage: the explored at the first, then each stage's minus those it pruned
  const scoredAt = (p) => {
    let alive = p.ex || Array.from({ length: p.n }, (_, k) => k);
    return p.st.map((s) => {
      const here = alive;
      const gone = new Set(s.p);
      alive = here.filter((c) => !gone.has(c));
      return here;
    });
  };
  function card(p, open) {
    const scored = scoredAt(p);
    const art = h('article', 'prompt');
    art.id = 'prompt-' + p.i;
    const head = h('header');
    const last = p.st[p.st.length - 1];
    const wAt = last.im ? scored[scored.length - 1].indexOf(p.w) : -1;
    if (wAt >= 0 && last.im[wAt] !== null) head.append(picture(last.im[wAt], 'winner'));
    const title = h('div');
    title.append(h('h3', '', 'prompt ' + p.i + (p.t ? ': “' + p.t + '”' : '')));
    const rewards = Object.entries(p.r).map(([k, v]) => k + ' ' + num(v)).join(', ');
    title.append(h('p', 'meta', 'winner #' + p.w + ' (seed ' + p.seed + ') ' + rewards + '; ' + p.n + ' candidates explored; ' + p.steps + ' denoise steps; cost ' + num(p.cost)));
    head.append(title);
    art.append(head);
    const det = h('details');
    det.open = open;
    det.append(h('summary', '', 'contact sheet and pruning lineage (scores: ' + p.rw + ')'));
    const fill = () => {
      if (det.dataset.done) return;
      det.dataset.done = '1';
      const wrap = h('div', 'sheet');
      const table = h('table', 'lineage');
      const cols = scored[0];
      p.st.forEach((s, k) => {
        const a = scored[k];
        const tr = h('tr');
        const kept = a.length - s.p.length;
        tr.append(h('th', '', (s.f ? 'final, step ' : 'step ') + s.s + ' · ' + a.length + ' scored' + (s.f ? '' : ' · ' + kept + ' kept')));
        const pruned = new Set(s.p);
        for (const c of cols) {
          const at = a.indexOf(c);
          const td = h('td');
          if (at >= 0) {
            const fate = s.f ? (c === p.w ? 'winner' : 'finalist') : pruned.has(c) ? 'pruned' : 'kept';
            td.className = fate;
            if (s.im && s.im[at] !== null) td.append(picture(s.im[at], 'thumb'));
            const sc = s.sc && s.sc[at] !== null ? num(s.sc[at]) : '';
            td.append(h('div', 'id', '#' + c + (sc ? ' ' + sc : '')));
            td.append(h('div', 'fate', fate));
          }
          tr.append(td);
        }
        table.append(tr);
      });
      wrap.append(table);
      det.append(wrap);
    };
    det.addEventListener('toggle', () => det.open && fill());
    if (open) fill();
    art.append(det);
    return art;
  }
  function render() {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(Math.max(0, page), pages - 1);
    const items = shown.slice(page * PAGE, (page + 1) * PAGE);
    list.replaceChildren(...items.map((p, k) => card(p, shown.length === 1 || (page === 0 && k === 0))));
    info.textContent = shown.length + ' of ' + data.prompts.length + ' prompts; page ' + (page + 1) + ' of ' + pages;
    document.getElementById('prev').disabled = page === 0;
    document.getElementById('next').disabled = page >= pages - 1;
  }
  document.getElementById('prev').addEventListener('click', () => { page--; render(); });
  document.getElementById('next').addEventListener('click', () => { page++; render(); });
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    shown = q ? data.prompts.filter((p) => String(p.i) === q || p.t.toLowerCase().includes(q)) : data.prompts;
    page = 0;
    render();
  });
  render();
})();
`;
