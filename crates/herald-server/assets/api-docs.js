// The API reference: lists every operation of Herald's OpenAPI document.
fetch('/api/v1/openapi.json').then(r => r.json()).then(doc => {
  const root = document.getElementById('ops');
  root.textContent = '';
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const row = document.createElement('div');
      row.className = 'op';
      const m = document.createElement('span'); m.className = 'method'; m.textContent = method;
      const p = document.createElement('code'); p.textContent = path;
      const s = document.createElement('span'); s.textContent = op.summary;
      row.append(m, p, s);
      root.append(row);
    }
  }
});
