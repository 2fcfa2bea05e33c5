// Switchboard sign-in / sign-up page: posts the form as JSON, shows the server's error message
// next to the form, and goes to the inbox on success. A user with two-factor sign-in gets a
// challenge after the password: the form then asks for the 6-digit code from their app (or a
// recovery code) and posts it with the challenge. Plain JS, no build step.
(function () {
  'use strict';
  const form = document.getElementById('auth-form');
  if (!form) return;
  const errorBox = document.getElementById('auth-error');
  const submit = form.querySelector('button[type="submit"]');

  // Set once the password was right and the server asks for a second factor.
  let challenge = null;
  let useRecovery = false;
  const codeInput = document.createElement('input');
  Object.assign(codeInput, { id: 'code', name: 'code', type: 'text', autocomplete: 'one-time-code', required: true });
  codeInput.setAttribute('inputmode', 'numeric');
  codeInput.dataset.testid = 'two-factor-code';
  const codeLabel = document.createElement('label');
  codeLabel.htmlFor = 'code';
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'link';
  toggle.dataset.testid = 'use-recovery-code';

  function codeMode() {
    codeLabel.textContent = useRecovery ? 'Recovery code' : 'Authentication code (from your app)';
    codeInput.placeholder = useRecovery ? 'xxxxx-xxxxx' : '123456';
    codeInput.setAttribute('inputmode', useRecovery ? 'text' : 'numeric');
    toggle.textContent = useRecovery ? 'Use the code from my app' : 'Use a recovery code';
  }
  toggle.addEventListener('click', () => {
    useRecovery = !useRecovery;
    codeInput.value = '';
    codeMode();
    codeInput.focus();
  });

  function askForCode(ch) {
    challenge = ch;
    for (const el of form.querySelectorAll('input:not([type="hidden"]), label')) el.hidden = true;
    form.insertBefore(codeLabel, errorBox);
    form.insertBefore(codeInput, errorBox);
    form.insertBefore(toggle, errorBox);
    codeLabel.hidden = false;
    codeInput.hidden = false;
    codeMode();
    submit.textContent = 'Verify';
    codeInput.focus();
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    if (challenge) {
      const code = codeInput.value.trim();
      if (!code) {
        showError(`${codeLabel.textContent} is required.`);
        return;
      }
      await post('/api/auth/sign-in/two-factor', useRecovery ? { challenge, recovery_code: code } : { challenge, code: code.replace(/\s+/g, '') });
      return;
    }
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
    await post(form.dataset.endpoint, body);
  });

  async function post(endpoint, body) {
    submit.disabled = true;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(body),
      });
      if (res.ok) {
        const data = await res.json().catch(() => null);
        if (data && data.two_factor_required && data.challenge) askForCode(data.challenge);
        else window.location.assign('/');
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
  }
})();
