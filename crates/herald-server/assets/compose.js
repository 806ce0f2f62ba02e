// The composer, enhanced: checks the post as the person types (the server renders the composer for
// the form as it stands and the parts marked data-live are swapped in), guesses the time zone on a
// first visit, and uploads dropped files with a progress bar. Without it, the form works as it is.
(() => {
  const form = document.getElementById('composer');
  if (!form) return;
  const zone = document.getElementById('zone');
  if (form.dataset.zoneKnown === 'false' && zone) {
    const guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (guess !== zone.value && [...zone.options].some(o => o.value === guess)) {
      zone.value = guess;
      // The default time was the next hour but one in UTC; make it that in the browser's zone.
      const at = new Date(Date.now() + 2 * 3600e3);
      const two = n => String(n).padStart(2, '0');
      document.getElementById('date').value = `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`;
      document.getElementById('time').value = `${two(at.getHours())}:00`;
    }
  }
  let timer = null;
  let asked = 0;
  const swap = (html, selector) => {
    const fresh = new DOMParser().parseFromString(html, 'text/html');
    for (const el of fresh.querySelectorAll(selector)) {
      const here = document.getElementById(el.id);
      if (here) here.replaceWith(el);
    }
  };
  const check = async () => {
    const mine = ++asked;
    const body = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string') body.append(k, v);
    const res = await fetch('/compose/check', { method: 'POST', body });
    if (mine !== asked || !res.ok) return;
    swap(await res.text(), '[data-live]');
  };
  const soon = () => { clearTimeout(timer); timer = setTimeout(check, 300); };
  form.addEventListener('input', e => { if (e.target.type !== 'file') soon(); });
  form.addEventListener('change', e => { if (e.target.type !== 'file') soon(); });

  const drop = document.getElementById('drop');
  const bar = document.getElementById('progress');
  const send = file => {
    const data = new FormData(form);
    data.set('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/compose/upload');
    bar.hidden = false;
    xhr.upload.onprogress = e => { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); };
    xhr.onload = () => {
      bar.hidden = true;
      // The composer comes back with the file in the library and ticked, everything typed kept.
      swap(xhr.responseText, '#media, #previews, #counters, #problems');
      for (const d of new DOMParser().parseFromString(xhr.responseText, 'text/html').querySelectorAll('details.profile-tab')) {
        const here = document.getElementById(d.id);
        if (here) { d.open = here.open; here.replaceWith(d); }
      }
    };
    xhr.send(data);
  };
  drop.addEventListener('dragover', e => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', e => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) send(e.dataTransfer.files[0]);
  });
})();
