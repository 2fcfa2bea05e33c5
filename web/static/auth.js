// Switchboard sign-in / sign-up page: posts the form as JSON, shows the server's error message
// next to the form, and goes to the inbox on success. Plain JS, no build step.
(function () {
  'use strict';
  const form = document.getElementById('auth-form');
  if (!form) return;
  const errorBox = document.getElementById('auth-error');
  const submit = form.querySelector('button[type="submit"]');

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const body = {};
    for (const [key, value] of new FormData(form).entries()) {
      const v = typeof value === 'string' ? value.trim() : value;
      // The password is sent as typed; empty optional fields are left out.
      if (key === 'password') body[key] = value;
      else if (v !== '') body[key] = v;
    }
    const missing = [...form.querySelectorAll('input[required]')].find((i) => !i.value.trim());
    if (missing) {
      const label = form.querySelector(`label[for="${missing.id}"]`);
      showError(`${label ? label.textContent : missing.name} is required.`);
      missing.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await fetch(form.dataset.endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(body),
      });
      if (res.ok) {
        window.location.assign('/');
        return;
      }
      let message = `Something went wrong (HTTP ${res.status}).`;
      try {
        const data = await res.json();
        if (data && data.error && data.error.message) message = data.error.message;
      } catch (_) { /* not JSON */ }
      if (res.status === 429) {
        const retry = res.headers.get('Retry-After');
        if (retry) message += ` Try again in ${retry} s.`;
      }
      showError(message);
    } catch (err) {
      showError('Could not reach the server. Check your connection and try again.');
    } finally {
      submit.disabled = false;
    }
  });
})();
