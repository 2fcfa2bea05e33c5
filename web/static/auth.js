// Switchboard sign-in / sign-up page: posts the form as JSON, shows the server's error message
// next to the form, and goes to the inbox on success. A user with two-factor sign-in gets a
// challenge after the password: the form then asks for the 6-digit code from their app (or a
// recovery code) and posts it with the challenge. The same script drives the forgot-password,
// reset-password and sign-up confirmation pages: a link's token comes in the URL fragment
// (never sent to a server), is dropped from the address bar and posted with the form. With a
// sign-in provider configured (`/api/auth/providers`), a "Sign in with …" button starts
// `/auth/oidc/start` (with the invite on the invite's sign-up page); the provider's sign-in
// comes back here with `?error=CODE` (shown as a message of ours, never text from the URL) or,
// for a two-factor account, with `#challenge=…` (the code step). Plain JS, no build step.
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

  // A mailed link's token, from `#token=…`; the address bar keeps no copy.
  let linkToken = null;
  if (form.dataset.tokenFromHash) {
    linkToken = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (window.location.hash) history.replaceState(null, '', window.location.pathname);
    if (!linkToken) {
      showError('This link is incomplete: open the link from the e-mail again.');
      submit.disabled = true;
    } else if (form.dataset.done === 'reset') {
      checkResetLink();
    }
  }

  async function checkResetLink() {
    try {
      const res = await fetch('/api/auth/password/reset/check', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ token: linkToken }),
      });
      const data = await res.json().catch(() => null);
      if (res.ok && data) {
        document.getElementById('reset-for').textContent = `For ${data.email}.`;
      } else {
        showError((data && data.error && data.error.message) || 'This link does not work any more.');
        submit.disabled = true;
      }
    } catch (_) {
      showError('Could not reach the server. Check your connection and try again.');
    }
  }

  // The request went through and there is nothing to sign in to yet (a mail is on its way, or
  // the password was reset): say so, in place of the form.
  function showDone(message) {
    const done = document.getElementById('auth-done');
    for (const el of form.querySelectorAll('input, label, button')) el.hidden = true;
    done.textContent = message;
    done.hidden = false;
    if (form.dataset.done === 'reset') {
      const go = document.createElement('a');
      go.href = '/sign-in';
      go.className = 'button primary';
      go.textContent = 'Sign in';
      go.dataset.testid = 'go-sign-in';
      form.appendChild(go);
    }
  }

  // What the provider's round trip can come back with; unknown codes get the generic message.
  const OIDC_ERRORS = {
    oidc_state: 'That sign-in link expired or was opened in another browser. Please try again.',
    oidc_denied: 'The sign-in provider did not sign you in.',
    oidc_provider: 'The sign-in provider could not be reached or refused the sign-in. Please try again.',
    oidc_token: 'The sign-in provider\'s answer could not be verified. Please try again.',
    oidc_email_unverified: 'Your email address is not verified with the sign-in provider.',
    oidc_no_account: 'There is no Switchboard account for this email address. Ask an admin of your team for an invite.',
    oidc_deactivated: 'This account is deactivated. Ask an admin of your team.',
    oidc_invite: 'This invite is used, revoked, expired, or for another email address. Ask for a new one.',
  };

  const oidc = document.getElementById('oidc');
  if (oidc) {
    fetch('/api/auth/providers', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then((res) => (res.ok ? res.json() : null))
      .then((providers) => {
        if (!providers || !providers.oidc || !oidc.isConnected) return;
        const button = document.getElementById('oidc-button');
        button.textContent = `${oidc.dataset.verb} with ${providers.oidc.name}`;
        if (oidc.dataset.invite) button.href = `/auth/oidc/start?invite=${encodeURIComponent(oidc.dataset.invite)}`;
        oidc.hidden = false;
      })
      .catch(() => { /* the password form still works */ });
  }
  const params = new URLSearchParams(window.location.search);
  const oidcError = params.get('error');
  if (oidcError) {
    const box = document.getElementById('oidc-error') || errorBox;
    box.textContent = OIDC_ERRORS[oidcError] || 'Signing in with the provider did not work. Please try again.';
    box.hidden = false;
  }

  // Back from the provider with two-factor on: the code step, with the challenge it started.
  const fromProvider = new URLSearchParams(window.location.hash.slice(1)).get('challenge');
  if (fromProvider) {
    window.history.replaceState(null, '', window.location.pathname);
    if (oidc) oidc.remove();
    askForCode(fromProvider);
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
    if (linkToken) body.token = linkToken;
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
        else if (res.status === 202) showDone((data && data.message) || 'Check your e-mail.');
        else if (form.dataset.done === 'reset') showDone('Your password is set, and every session was signed out. Sign in with it now.');
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
