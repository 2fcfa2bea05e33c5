// One's own security page: the password (change it: the current one is asked, other sessions
// are signed out) and two-factor sign-in. Turn it on (scan the QR code or type the secret
// into an authenticator app, confirm with a code, keep the recovery codes shown this once), get
// new recovery codes, or turn it off with the password (not while the team requires it). Admins
// also find the team's switch "Require two-factor". A member of a team that requires it lands
// here until they turn it on (the server sends every other page here). "Linked sign-in" lists
// the identities at the deployment's sign-in provider linked to the account (signing in with the
// provider links one), each with an unlink button (refused for the last way to sign in).

import { api } from './api.js';
import { h, toast } from './dom.js';
import { fullTime, relTime } from './format.js';
import { isAdmin, main } from './session.js';

/** The server's SVG (our own QR rendering) as a node, parsed, never as HTML. */
function svgNode(markup) {
  const doc = new DOMParser().parseFromString(markup, 'image/svg+xml');
  const svg = doc.documentElement;
  return svg && svg.nodeName === 'svg' ? document.importNode(svg, true) : h('span');
}

function codesBlock(codes) {
  const text = codes.join('\n');
  return h('div', { class: 'recovery-codes', 'data-testid': 'recovery-codes' },
    h('p', null, h('strong', null, 'Your recovery codes. '), 'Each signs you in once if you lose your phone. They are shown only now: keep them somewhere safe.'),
    h('ul', { class: 'plain-list mono' }, ...codes.map((c) => h('li', { 'data-testid': 'recovery-code' }, c))),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast('Recovery codes copied.');
        } catch (_) {
          toast('Select the codes and copy them.', { kind: 'error' });
        }
      } }, 'Copy'),
      h('a', { class: 'button secondary', href: `data:text/plain;charset=utf-8,${encodeURIComponent(`${text}\n`)}`, download: 'switchboard-recovery-codes.txt' }, 'Download')));
}

/** Changing one's password: the current one, the new one twice. */
function passwordCard(fail, error) {
  const field = (id, label, autocomplete) => {
    const input = h('input', { id, type: 'password', autocomplete, required: true, 'data-testid': id });
    return [h('label', { for: id }, label), input];
  };
  const [currentLabel, current] = field('pw-current', 'Current password', 'current-password');
  const [nextLabel, next] = field('pw-new', 'New password', 'new-password');
  const [againLabel, again] = field('pw-again', 'New password again', 'new-password');
  const form = h('form', { class: 'grid-form', novalidate: true, 'data-testid': 'password-form', onsubmit: async (e) => {
    e.preventDefault();
    if (next.value !== again.value) {
      fail(new Error('The new password and its repetition differ.'));
      again.focus();
      return;
    }
    try {
      await api('POST', '/api/auth/password', { current_password: current.value, new_password: next.value });
      form.reset();
      error.hidden = true;
      toast('Password changed. Your other sessions were signed out.');
    } catch (err) {
      fail(err);
    }
  } }, currentLabel, current, nextLabel, next, againLabel, again, h('span'),
  h('button', { type: 'submit', class: 'primary', 'data-testid': 'password-change' }, 'Change password'));
  return h('section', { class: 'card', 'data-testid': 'password' }, h('h2', null, 'Password'),
    h('p', { class: 'muted small' }, 'At least 10 characters that are hard to guess; a few unrelated words work well. Changing it signs you out everywhere else.'),
    form);
}

export async function startSecurity() {
  const card = h('section', { class: 'card', 'data-testid': 'two-factor' });
  const teamCard = h('section', { class: 'card', hidden: !isAdmin, 'data-testid': 'team-two-factor' });
  const linkedCard = h('section', { class: 'card', hidden: true, 'data-testid': 'linked-sign-in' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'security-error' });
  const fail = (err) => {
    error.textContent = err.message;
    error.hidden = false;
  };
  main.replaceChildren(h('div', { class: 'settings', 'data-testid': 'security' }, h('h1', null, 'Security'), error, passwordCard(fail, error), card, linkedCard, teamCard));

  async function render() {
    error.hidden = true;
    const me = await api('GET', '/api/me');
    const tf = me.two_factor || {};
    if (!tf.enabled) renderOff(tf);
    else renderOn(tf);
    if (isAdmin) renderTeam(tf);
    // Held to enrolment, a session reaches only the two-factor routes: links wait until then.
    if (tf.required && !tf.enabled) linkedCard.hidden = true;
    else await renderLinked();
  }

  async function renderLinked() {
    const [providers, identities] = await Promise.all([api('GET', '/api/auth/providers'), api('GET', '/api/auth/identities')]);
    const items = identities.items || [];
    // Nothing to show on a deployment without a provider, unless links remain from before.
    linkedCard.hidden = !providers.oidc && items.length === 0;
    if (linkedCard.hidden) return;
    const name = providers.oidc ? providers.oidc.name : 'your sign-in provider';
    const rows = items.map((identity) => h('li', { class: 'identity', 'data-testid': 'identity' },
      h('div', null,
        h('strong', null, identity.email || identity.subject),
        h('div', { class: 'muted small' }, identity.issuer, ' · linked ', h('span', { title: fullTime(identity.created_at) }, relTime(identity.created_at)),
          identity.last_used_at ? [' · last used ', h('span', { title: fullTime(identity.last_used_at) }, relTime(identity.last_used_at))] : null)),
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'identity-unlink', onclick: async () => {
        if (!window.confirm(`Unlink ${identity.email || 'this identity'}? You will no longer sign in with it.`)) return;
        try {
          await api('DELETE', `/api/auth/identities/${encodeURIComponent(identity.id)}`);
          toast('Unlinked.');
          error.hidden = true;
          await renderLinked();
        } catch (err) {
          fail(err);
        }
      } }, 'Unlink')));
    linkedCard.replaceChildren(h('h2', null, 'Linked sign-in'),
      items.length
        ? h('ul', { class: 'plain-list identities' }, ...rows)
        : h('p', { class: 'muted', 'data-testid': 'no-identities' }, `No sign-in with ${name} is linked. Sign out and choose "Sign in with ${name}" to link one.`));
  }

  function renderOff(tf) {
    const start = h('button', { type: 'button', class: 'primary', 'data-testid': 'two-factor-setup', onclick: async () => {
      try {
        renderSetup(await api('POST', '/api/auth/two-factor/setup'));
      } catch (err) {
        fail(err);
      }
    } }, 'Turn on two-factor');
    card.replaceChildren(h('h2', null, 'Two-factor sign-in'),
      tf.required ? h('p', { class: 'banner warn', 'data-testid': 'two-factor-required' }, 'Your team requires two-factor sign-in: turn it on to use Switchboard.') : null,
      h('p', null, 'After your password, Switchboard asks for a 6-digit code from an authenticator app on your phone (1Password, Google Authenticator, Authy…).'),
      start);
  }

  function renderSetup(setup) {
    const code = h('input', { id: 'tf-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', placeholder: '123456', 'data-testid': 'two-factor-confirm-code' });
    const form = h('form', { class: 'grid-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      try {
        const res = await api('POST', '/api/auth/two-factor/confirm', { code: code.value.replace(/\s+/g, '') });
        error.hidden = true;
        card.replaceChildren(h('h2', null, 'Two-factor sign-in is on'), codesBlock(res.recovery_codes),
          h('a', { class: 'button primary', href: '/', 'data-testid': 'two-factor-done' }, 'Done'));
        toast('Two-factor sign-in is on.');
      } catch (err) {
        fail(err);
      }
    } }, h('label', { for: 'tf-code' }, 'Code from the app'), code,
    h('span'), h('button', { type: 'submit', class: 'primary', 'data-testid': 'two-factor-confirm' }, 'Confirm'));
    card.replaceChildren(h('h2', null, 'Set up two-factor sign-in'),
      h('p', null, '1. Scan this code with your authenticator app, or type the key by hand.'),
      h('div', { class: 'qr', 'data-testid': 'two-factor-qr' }, svgNode(setup.qr_svg)),
      h('p', null, 'Key: ', h('code', { class: 'mono', 'data-testid': 'two-factor-secret' }, setup.secret)),
      h('p', null, '2. Enter the 6-digit code the app shows.'), form);
    code.focus();
  }

  function renderOn(tf) {
    const regenCode = h('input', { id: 'tf-regen', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', placeholder: '123456' });
    const regen = h('form', { class: 'grid-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      try {
        const res = await api('POST', '/api/auth/two-factor/recovery-codes', { code: regenCode.value.replace(/\s+/g, '') });
        error.hidden = true;
        regen.replaceWith(codesBlock(res.recovery_codes));
      } catch (err) {
        fail(err);
      }
    } }, h('label', { for: 'tf-regen' }, 'Code from the app'), regenCode, h('span'), h('button', { type: 'submit', class: 'secondary' }, 'New recovery codes'));
    const password = h('input', { id: 'tf-password', type: 'password', autocomplete: 'current-password' });
    const off = h('form', { class: 'grid-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('DELETE', '/api/auth/two-factor', { password: password.value });
        toast('Two-factor sign-in is off.');
        await render();
      } catch (err) {
        fail(err);
      }
    } }, h('label', { for: 'tf-password' }, 'Your password'), password, h('span'), h('button', { type: 'submit', class: 'danger' }, 'Turn off'));
    card.replaceChildren(h('h2', null, 'Two-factor sign-in is on'),
      h('p', { 'data-testid': 'two-factor-on' }, 'Signing in asks for a code from your authenticator app after your password.'),
      h('h3', null, 'Recovery codes'), h('p', { class: 'muted small' }, 'New codes replace the old ones.'), regen,
      tf.required ? h('p', { class: 'muted' }, 'Your team requires two-factor sign-in, so it cannot be turned off.') : h('div', null, h('h3', null, 'Turn off'), off));
  }

  function renderTeam(tf) {
    const box = h('input', { type: 'checkbox', id: 'tf-required', checked: !!tf.required, 'data-testid': 'two-factor-require', onchange: async () => {
      try {
        await api('PUT', '/api/team/two-factor', { required: box.checked });
        toast(box.checked ? 'Everyone on the team now needs two-factor sign-in.' : 'Two-factor sign-in is optional again.');
        await render();
      } catch (err) {
        box.checked = !box.checked;
        fail(err);
      }
    } });
    teamCard.replaceChildren(h('h2', null, 'Team'),
      h('label', { for: 'tf-required', class: 'radio' }, box, ' Require two-factor sign-in for everyone on the team'),
      h('p', { class: 'muted small' }, 'Members without it are asked to turn it on before they can use Switchboard. API tokens keep working.'));
  }

  try {
    await render();
  } catch (err) {
    fail(err);
  }
}
