// The calendar, enhanced: a scheduled post's chip dragged to another day moves the post there at
// the same time of day, or in the week view to that day and hour at the same minute (the server
// refuses it if publishing has started; the chip then goes back).
(() => {
  const table = document.getElementById('calendar');
  if (!table) return;
  const said = document.getElementById('move-error');
  const done = document.getElementById('move-status');
  let dragged = null;
  table.addEventListener('dragstart', e => {
    const chip = e.target.closest('.chip[draggable=true]');
    if (!chip) return;
    dragged = chip;
    e.dataTransfer.setData('text/plain', chip.dataset.post);
  });
  table.addEventListener('dragover', e => {
    const cell = e.target.closest('td[data-date]');
    if (dragged && cell) { e.preventDefault(); cell.classList.add('target'); }
  });
  table.addEventListener('dragleave', e => {
    const cell = e.target.closest('td[data-date]');
    if (cell) cell.classList.remove('target');
  });
  table.addEventListener('drop', async e => {
    const cell = e.target.closest('td[data-date]');
    if (!dragged || !cell) return;
    e.preventDefault();
    cell.classList.remove('target');
    const chip = dragged;
    dragged = null;
    const home = chip.parentElement;
    cell.append(chip);
    const body = new URLSearchParams({
      date: cell.dataset.date,
      time: cell.dataset.hour ? cell.dataset.hour + chip.dataset.time.slice(2) : chip.dataset.time, zone: table.dataset.zone, keep_zone: '1', back: '/calendar',
    });
    const res = await fetch('/posts/' + chip.dataset.post + '/reschedule', { method: 'POST', body });
    if (res.ok) {
      said.textContent = '';
      done.textContent = `Moved to ${body.get('date')} at ${body.get('time')}.`;
      return;
    }
    done.textContent = '';
    home.append(chip);
    const page = new DOMParser().parseFromString(await res.text(), 'text/html');
    const why = page.getElementById('error') || page.getElementById('error-message');
    said.textContent = why ? why.textContent : 'The post could not be moved.';
  });
})();
