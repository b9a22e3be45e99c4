// Keycard's passkey ceremonies in the browser. Served at /passkeys.js; the pages work without it
// (the passkey parts stay hidden and a note, which this script hides, says why).
//
// Each ceremony is two calls to Keycard's server functions (form-encoded, JSON answers): one for
// the options (with a sealed ceremony state), one with the browser's answer and that state.
// Binary fields travel as base64url, as WebAuthn's JSON forms do.

const supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;

const toBytes = (text) => {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
};

const toText = (buffer) => {
  if (buffer === null || buffer === undefined) return undefined;
  let raw = '';
  for (const byte of new Uint8Array(buffer)) raw += String.fromCharCode(byte);
  return btoa(raw).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const withIds = (list) => (list || []).map((c) => ({ ...c, id: toBytes(c.id) }));

function creationOptions(json) {
  const o = JSON.parse(json).publicKey;
  return {
    ...o,
    challenge: toBytes(o.challenge),
    user: { ...o.user, id: toBytes(o.user.id) },
    excludeCredentials: withIds(o.excludeCredentials),
  };
}

function requestOptions(json) {
  const o = JSON.parse(json).publicKey;
  return { ...o, challenge: toBytes(o.challenge), allowCredentials: withIds(o.allowCredentials) };
}

// PublicKeyCredential.toJSON() where the browser has it, else the same shape by hand.
function credentialJson(credential) {
  if (typeof credential.toJSON === 'function') return JSON.stringify(credential.toJSON());
  const r = credential.response;
  const response = r.attestationObject
    ? {
        clientDataJSON: toText(r.clientDataJSON),
        attestationObject: toText(r.attestationObject),
        transports: typeof r.getTransports === 'function' ? r.getTransports() : [],
      }
    : {
        clientDataJSON: toText(r.clientDataJSON),
        authenticatorData: toText(r.authenticatorData),
        signature: toText(r.signature),
        userHandle: toText(r.userHandle),
      };
  return JSON.stringify({
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment,
    clientExtensionResults: credential.getClientExtensionResults(),
    response,
  });
}

async function call(endpoint, fields) {
  let reply = {};
  try {
    const answer = await fetch('/api/' + endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(fields),
    });
    reply = await answer.json().catch(() => ({}));
    if (!answer.ok && !reply.error) reply.error = 'Something went wrong on our side. Please try again.';
  } catch {
    reply = { error: 'Keycard could not be reached. Check your connection and try again.' };
  }
  return reply;
}

// What to tell the person when the browser's own step fails.
function browserError(err) {
  if (err && err.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
  if (err && err.name === 'InvalidStateError') return 'This passkey is already added to your account.';
  if (err && err.name === 'SecurityError') return 'This browser refused passkeys for this address.';
  return 'Your browser could not complete the passkey request.';
}

function show(element, text) {
  if (!element) return;
  element.textContent = text || '';
  element.hidden = !text;
}

// Passkeys belong to one origin; anywhere else the browser would refuse them.
function atPasskeyOrigin(root) {
  const origin = root.dataset.passkeyOrigin;
  return !origin || origin === window.location.origin;
}

function revealOrExplain(root, page) {
  if (!supported) {
    page.querySelectorAll('[data-passkey-unsupported]').forEach((n) => (n.hidden = false));
    return false;
  }
  if (!atPasskeyOrigin(root)) {
    page.querySelectorAll('[data-passkey-elsewhere]').forEach((n) => (n.hidden = false));
    return false;
  }
  root.hidden = false;
  return true;
}

async function finish(reply, errorBox) {
  if (reply.redirect) {
    window.location.assign(reply.redirect);
    return true;
  }
  show(errorBox, reply.error);
  return false;
}

// /security/passkeys: **Add a passkey**.
function setUpAdding(form) {
  if (!revealOrExplain(form, document)) return;
  const errorBox = form.querySelector('[data-passkey-error]');
  const button = form.querySelector('button[type=submit]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(errorBox, '');
    button.disabled = true;
    try {
      const started = await call('passkey_add_options', {});
      if (!started.options) return void (await finish(started, errorBox));
      let credential;
      try {
        credential = await navigator.credentials.create({ publicKey: creationOptions(started.options) });
      } catch (err) {
        return show(errorBox, browserError(err));
      }
      const name = form.querySelector('input[name=name]').value;
      await finish(await call('passkey_add', { ceremony: started.ceremony, credential: credentialJson(credential), name }), errorBox);
    } finally {
      button.disabled = false;
    }
  });
}

// Signing in: a passkey alone (/login), or instead of a code (/login/code); confirming it's you
// (/security/confirm) instead of the password and code.
async function setUpSigningIn(root) {
  const step = root.dataset.passkey;
  // The code step and the prompt use the account's own passkeys; sign-in any of this site's.
  const forAccount = step !== 'sign-in';
  const [optionsEndpoint, finishEndpoint] = {
    'sign-in': ['passkey_sign_in_options', 'passkey_sign_in'],
    'code-step': ['passkey_code_step_options', 'passkey_code_step'],
    reauth: ['passkey_reauth_options', 'passkey_reauth'],
  }[step];
  // For an account's own passkeys, the option shows only when it has some.
  if (forAccount && supported && atPasskeyOrigin(root) && !(await call(optionsEndpoint, {})).options) return;
  if (!revealOrExplain(root, document)) return;
  const field = (name) => document.querySelector(`input[name=${name}]`);
  const errorBox = root.querySelector('[data-passkey-error]');
  const button = root.querySelector('button');
  let pending = null;

  const complete = async (started, credential) => {
    const fields = { ceremony: started.ceremony, credential: credentialJson(credential) };
    const next = field('next');
    if (next && next.value) fields.next = next.value;
    const remember = field('remember');
    if (!forAccount && remember && remember.checked) fields.remember = 'on';
    await finish(await call(finishEndpoint, fields), errorBox);
  };

  // The browser's own autofill offers passkeys in the email field (conditional UI), where it can.
  const offerInAutofill = async () => {
    if (forAccount || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return;
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    const started = await call(optionsEndpoint, {});
    if (!started.options) return;
    const controller = new AbortController();
    const request = navigator.credentials.get({
      publicKey: requestOptions(started.options),
      mediation: 'conditional',
      signal: controller.signal,
    });
    pending = { controller, request };
    try {
      const credential = await request;
      if (credential) await complete(started, credential);
    } catch {
      // Aborted for the button, or dismissed: nothing to say.
    }
  };

  button.addEventListener('click', async (event) => {
    event.preventDefault();
    show(errorBox, '');
    if (pending) {
      pending.controller.abort();
      await pending.request.catch(() => {});
      pending = null;
    }
    button.disabled = true;
    try {
      const started = await call(optionsEndpoint, {});
      if (!started.options) return void (await finish(started, errorBox));
      let credential;
      try {
        credential = await navigator.credentials.get({ publicKey: requestOptions(started.options) });
      } catch (err) {
        return show(errorBox, browserError(err));
      }
      await complete(started, credential);
    } finally {
      button.disabled = false;
    }
  });
  offerInAutofill();
}

document.querySelectorAll('[data-passkey-needs-script]').forEach((note) => (note.hidden = true));
document.querySelectorAll('[data-passkey-add]').forEach(setUpAdding);
document.querySelectorAll('[data-passkey=sign-in], [data-passkey=code-step], [data-passkey=reauth]').forEach(setUpSigningIn);
