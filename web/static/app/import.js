// The contacts import dialog, usable from any page: openImport({onDone}) walks the agent
// through choosing a CSV file, the column mapping (each header with its guessed target and a
// preview of the first rows), the conflict rule, the upload (a progress bar from the XHR's
// upload events, then, for a big file that runs as a background job, the job's live
// `import.progress` events on the agent's private channel, with Cancel), and the summary with
// a "Download error rows" link. exportUrl(filter) is the contacts export link for a filter.

import { ApiError, api, qs, toSignIn } from './api.js';
import { h } from './dom.js';
import { pusher } from './realtime.js';
import { me } from './session.js';

const TARGET_LABELS = {
  name: 'Name', first_name: 'First name', last_name: 'Last name', phone: 'Phone', email: 'Email', tags: 'Tags',
  company: 'Company', notes: 'Notes', source: 'Source', opted_out: 'Opted out', opt_out_reason: 'Opt-out reason',
  ignore: '— Ignore this column —',
};

function targetLabel(t) {
  if (t.startsWith('custom:')) return `Custom: ${t.slice(7)}`;
  return TARGET_LABELS[t] || t;
}

/** The export link for the contacts a filter selects ({search, tag, list_id}); admins only. */
export function exportUrl(filter) {
  const f = filter || {};
  return `/api/contacts/export.csv${qs({ search: f.search, tag: f.tag, list_id: f.list_id })}`;
}

/** Multipart POST with upload progress (fetch has none). Resolves {status, body}. */
function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) { /* not JSON */ }
      if (xhr.status === 401) toSignIn();
      if (xhr.status >= 400) {
        const err = (body && body.error) || {};
        reject(new ApiError(err.message || `Upload failed (HTTP ${xhr.status}).`, xhr.status, err.code, err.field));
        return;
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener('error', () => reject(new ApiError('Could not reach the server. Check your connection.', 0, 'network')));
    xhr.send(form);
  });
}

/** Opens the import dialog; `onDone(summary)` runs after an import ended (done or canceled). */
export function openImport(opts) {
  const onDone = (opts && opts.onDone) || (() => {});
  const body = h('div', { class: 'import-body' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'import-error', hidden: true });
  const closeBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'import-close', onclick: () => dialog.close() }, 'Close');
  const dialog = h('dialog', { class: 'dialog import-dialog', 'data-testid': 'import-dialog', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import contacts'), error, body, h('div', { class: 'row dialog-actions' }, closeBtn));
  let stopLive = () => {};
  dialog.addEventListener('close', () => {
    stopLive();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();

  const fail = (e) => {
    error.textContent = e.message || String(e);
    error.hidden = false;
  };
  const show = (...nodes) => {
    error.hidden = true;
    body.replaceChildren(...nodes);
  };

  // Step 1: the file.
  const input = h('input', { type: 'file', accept: '.csv,text/csv', 'data-testid': 'import-file' });
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    const form = new FormData();
    form.append('file', file);
    try {
      const { body: preview } = await upload('/api/contacts/import/preview', form);
      mappingStep(file, preview);
    } catch (e) {
      fail(e);
    }
  });
  show(h('p', null, 'Choose a CSV file (up to 50 MB) with a header row. Each row needs a phone number; local numbers are read in your team\'s country.'),
    h('label', null, 'File ', input));

  // Step 2: the mapping and the conflict rule.
  function mappingStep(file, preview) {
    const selects = preview.headers.map((header) => {
      const select = h('select', { 'data-testid': 'import-target', 'data-header': header, 'aria-label': `Field for ${header}` },
        preview.fields.map((t) => h('option', { value: t, selected: preview.mapping[header] === t }, targetLabel(t))));
      return { header, select };
    });
    const table = h('table', { class: 'import-mapping', 'data-testid': 'import-mapping' },
      h('thead', null, h('tr', null, h('th', null, 'Column'), h('th', null, 'Goes to'), h('th', null, 'First rows'))),
      h('tbody', null, selects.map(({ header, select }, i) => h('tr', null,
        h('td', null, header), h('td', null, select),
        h('td', { class: 'import-samples' }, preview.rows.slice(0, 3).map((r) => r[i] || '').filter(Boolean).join(' · '))))));
    const rule = h('select', { 'data-testid': 'import-conflict', 'aria-label': 'When a phone is already a contact' },
      h('option', { value: 'skip' }, 'Skip it (leave the contact as it is)'),
      h('option', { value: 'fill' }, 'Fill only its empty fields'),
      h('option', { value: 'overwrite' }, 'Overwrite with the file\'s values'));
    const start = h('button', { type: 'button', class: 'primary', 'data-testid': 'import-start' }, 'Import');
    start.addEventListener('click', () => {
      const mapping = {};
      for (const { header, select } of selects) mapping[header] = select.value;
      if (!Object.values(mapping).includes('phone')) {
        fail(new Error('Map one column to Phone.'));
        return;
      }
      uploadStep(file, mapping, rule.value);
    });
    show(h('p', null, `${file.name}: check where each column goes.`), table,
      h('label', null, 'When a phone is already a contact: ', rule), h('p', null, 'Opted-out markers in the file are honoured; an import never clears an opt-out.'),
      h('div', { class: 'row' }, start));
  }

  // Step 3: the upload, then the job.
  async function uploadStep(file, mapping, onConflict) {
    const bar = h('progress', { max: 1, value: 0, 'data-testid': 'import-progress' });
    const label = h('p', { 'data-testid': 'import-status' }, 'Uploading…');
    show(label, bar);
    const form = new FormData();
    form.append('mapping', JSON.stringify(mapping));
    form.append('on_conflict', onConflict);
    form.append('file', file);
    let res;
    try {
      res = await upload('/api/contacts/import', form, (f) => { bar.value = f; });
    } catch (e) {
      fail(e);
      return;
    }
    if (res.status === 200) {
      summaryStep(res.body);
      return;
    }
    jobStep(res.body, label, bar);
  }

  function jobStep(job, label, bar) {
    const path = `/api/contacts/import/${job.job_id}`;
    const cancel = h('button', { type: 'button', class: 'danger', 'data-testid': 'import-cancel' }, 'Cancel import');
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        await api('DELETE', path);
      } catch (e) {
        fail(e);
      }
    });
    show(label, bar, h('div', { class: 'row' }, cancel));
    let ended = false;
    const update = (p) => {
      if (ended || p.job_id !== job.job_id) return;
      const total = p.total || job.total || 0;
      bar.value = total ? p.processed / total : 0;
      label.textContent = `Imported ${p.processed.toLocaleString()} of ${total.toLocaleString()} rows (${p.created} new, ${p.updated} updated, ${p.errors_count} with errors)…`;
      if (p.state !== 'running') {
        ended = true;
        stopLive();
        summaryStep(p);
      }
    };
    // Live events on my private channel; a slow poll as well, in case the socket is down.
    const channel = pusher && me.id ? pusher.subscribe(`private-user-${me.id}`) : null;
    if (channel) channel.bind('import.progress', update);
    const timer = setInterval(async () => {
      try {
        update(await api('GET', path));
      } catch (_) { /* the next tick tries again */ }
    }, channel ? 5000 : 1000);
    stopLive = () => {
      clearInterval(timer);
      if (channel) channel.unbind('import.progress', update);
    };
  }

  // Step 4: the summary.
  function summaryStep(s) {
    const count = (n, what) => h('li', null, h('strong', null, String(n)), ` ${what}`);
    const errors = s.errors_count != null ? s.errors_count : (s.errors || []).length;
    const headline = { done: 'Import finished.', canceled: 'Import canceled: the rows before it stopped were imported.', failed: 'The import failed part way.' }[s.state] || '';
    show(h('p', { 'data-testid': 'import-summary-state' }, headline),
      h('ul', { class: 'import-summary', 'data-testid': 'import-summary' },
        count(s.created, 'created'), count(s.updated, 'updated'), count(s.skipped, 'skipped (already there, unchanged)'),
        count(errors, 'rows with errors (not imported)')),
      errors ? h('a', { href: s.errors_csv, download: '', 'data-testid': 'import-errors-link' }, 'Download error rows') : null,
      (s.errors || []).slice(0, 20).length
        ? h('ul', { class: 'import-errors' }, s.errors.slice(0, 20).map((e) => h('li', null, `Row ${e.row}: ${e.field} ${e.message}`)))
        : null);
    onDone(s);
  }
}
