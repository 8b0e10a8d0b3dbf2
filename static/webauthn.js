// WebAuthn for idp's pages: security keys and passkeys. The CSP allows no inline script, so every form that uses
// a key says what it needs in data- attributes:
//   data-webauthn="create|get"   navigator.credentials.create (add a key) or .get (sign in)
//   data-options-url             POSTed with the form's fields (CSRF token, password...); answers the options JSON
//   data-autostart               start at once (the second-factor page), else on submit
//   [data-webauthn-response]     hidden input that carries the browser's answer (JSON) when the form is submitted
//   [data-webauthn-only]         shown only when the browser supports WebAuthn
//   [data-webauthn-unsupported]  shown when it does not; [data-webauthn-status] for progress and errors
(function () {
  "use strict";

  function toBuffer(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
  }

  function toText(buffer) {
    let binary = "";
    new Uint8Array(buffer).forEach((b) => { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function publicKeyOptions(mode, options) {
    options.challenge = toBuffer(options.challenge);
    if (mode === "create") {
      options.user.id = toBuffer(options.user.id);
      (options.excludeCredentials || []).forEach((c) => { c.id = toBuffer(c.id); });
    } else {
      (options.allowCredentials || []).forEach((c) => { c.id = toBuffer(c.id); });
    }
    return options;
  }

  function answer(credential) {
    const r = credential.response;
    const json = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      json.response.attestationObject = toText(r.attestationObject);
      json.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(r.authenticatorData);
      json.response.signature = toText(r.signature);
      json.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return JSON.stringify(json);
  }

  function explain(error) {
    switch (error && error.name) {
      case "NotAllowedError":
        return "The request was cancelled or timed out. Try again, or use another method.";
      case "InvalidStateError":
        return "This security key is already registered to your login.";
      case "SecurityError":
        return "This browser refused to use a security key on this site.";
      case "NotSupportedError":
        return "This security key does not support what this site asks for.";
      default:
        return "The security key could not be used. Try again, or use another method.";
    }
  }

  function setup(form) {
    const mode = form.dataset.webauthn;
    const status = form.querySelector("[data-webauthn-status]") ||
      form.parentNode.querySelector("[data-webauthn-status]");
    const say = (text, isError) => {
      if (!status) return;
      status.textContent = text;
      status.className = "webauthn-status" + (isError ? " error" : "");
    };
    const supported = !!(window.PublicKeyCredential && navigator.credentials &&
      typeof navigator.credentials[mode] === "function");
    form.querySelectorAll("[data-webauthn-unsupported]").forEach((el) => { el.hidden = supported; });
    if (!supported) return;
    if (form.hasAttribute("data-webauthn-only")) form.hidden = false;
    form.querySelectorAll("[data-webauthn-only]").forEach((el) => { el.hidden = false; });

    let busy = false;
    async function run() {
      if (busy) return;
      busy = true;
      say("Waiting for your security key or passkey\u2026", false);
      try {
        const reply = await fetch(form.dataset.optionsUrl, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        const options = await reply.json().catch(() => ({ error: "The server did not answer. Try again." }));
        if (!reply.ok) throw { message: options.error || "The server refused. Try again." };
        const credential = await navigator.credentials[mode]({ publicKey: publicKeyOptions(mode, options) });
        form.querySelector("[data-webauthn-response]").value = answer(credential);
        form.querySelectorAll("input[type=password]").forEach((el) => { el.value = ""; });
        say("Checking\u2026", false);
        form.submit();
      } catch (error) {
        say(error instanceof Error || (error && error.name) ? explain(error) : error.message, true);
        busy = false;
      }
    }

    form.addEventListener("submit", (event) => {
      if (form.querySelector("[data-webauthn-response]").value) return;
      event.preventDefault();
      run();
    });
    if (form.hasAttribute("data-autostart")) run();
  }

  document.querySelectorAll("form[data-webauthn]").forEach(setup);
})();
