"""The protocol endpoints: authorize (and its resume), consent, token, userinfo, discovery and JWKS.

Authorize follows the shape in STYLE 2.3: Authlib validates the request; ``policy`` decides whether a prompt is
needed; the request is parked in an Interaction while the user acts; the code is issued from the stored request.
"""

from __future__ import annotations

import logging

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, InteractionRequiredError, LoginRequiredError
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from .. import clock
from ..auth.flow import start_flow
from ..auth.sessions import current_login_session
from ..extensions import csrf, db
from . import interactions, logout, policy, published
from .discovery import provider_metadata
from .keys import load_keyring
from .server import authorization_server, stored_request

log = logging.getLogger(__name__)
bp = Blueprint("oidc", __name__)

#: where each prompt is answered, and the error for it under prompt=none (OIDC Core 3.1.2.6)
PROMPT_PAGES = {"login": "auth.login", "second_factor": "auth.second_factor", "enrol": "account.security",
                "consent": "oidc.consent"}
PROMPT_NONE_ERRORS = {"login": LoginRequiredError, "second_factor": InteractionRequiredError,
                      "enrol": InteractionRequiredError, "consent": ConsentRequiredError}

#: OIDC Core 3.1.2.1 parameters that our policy reads, checked before anything else uses them
PROMPT_VALUES = {"none", "login", "consent", "select_account"}
MAX_PARAM_LENGTH = 2048


@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # OIDC Core 3.1.2.1: a client may POST the request from its own page
def authorize():
    return process_authorization(request, params=request.values.to_dict(), interaction=None)


@bp.get("/authorize/resume/<uid>")
def resume(uid: str):
    ix = interactions.load_interaction(uid)
    return process_authorization(stored_request(ix.params, request.url), params=ix.params, interaction=ix)


def process_authorization(oauth_request, params: dict, interaction):
    """Validate with Authlib, run the policy, then prompt, fail or issue the code."""
    server = authorization_server()
    login_session = current_login_session()
    try:
        if interaction is None:
            _check_sizes(request.values)
        grant = server.get_consent_grant(request=oauth_request, end_user=login_session.user if login_session else None)
        _validate_oidc_params(grant)
    except OAuth2Error as error:
        error.state = error.state or params.get("state")
        return authorize_error(error)
    ctx = policy.Context(params=params, client=grant.client, session=login_session, interaction=interaction)
    decision = policy.evaluate(ctx)
    redirect_uri = grant.request.payload.redirect_uri
    if decision is not None:
        prompt, reason = decision
        log.info("authorize: prompt %s (%s) for client %s", prompt, reason, grant.client.client_id)
        if "none" in ctx.prompts:
            error_cls = PROMPT_NONE_ERRORS[prompt]
            return authorize_error(error_cls(redirect_uri=redirect_uri, state=params.get("state")))
        if interaction is None:
            interaction = interactions.create_interaction(_stored_params(params), grant.client.client_id, prompt)
        else:
            interaction.prompt = prompt
        if prompt == "second_factor":
            start_flow(login_session.user, interaction.uid, amr=list(login_session.amr))
        page = url_for(PROMPT_PAGES[prompt], uid=interaction.uid)  # read before the commit expires it
        db.session.commit()
        return redirect(page, code=303)
    grant.request.login_session = login_session
    if interaction is not None:
        interaction.completed_at = clock.now()
    response = server.create_authorization_response(request=grant.request, grant_user=login_session.user, grant=grant)
    db.session.commit()
    return response


def authorize_error(error: OAuth2Error):
    """Redirect with ``error`` only to a redirect URI Authlib verified for a known client; else an error page.

    RFC 6749 4.1.2.1 and RFC 9700 4.11.2: never redirect to an unverified URI. Redirects carry ``iss`` (RFC 9207).
    """
    db.session.rollback()
    if error.redirect_uri:
        issuer = current_app.config["IDP_SETTINGS"].issuer
        response = authorization_server().handle_error_response(None, error)
        response.location = add_params_to_uri(response.location, {"iss": issuer})
        response.status_code = 303 if request.method == "POST" else 302
        return response
    log.info("authorize: error page (%s: %s)", error.error, error.description)
    return render_template("oidc/error.html", error=error.error, description=error.description), 400


def _check_sizes(values) -> None:
    for key, value in values.items(multi=True):
        if len(key) > 64 or len(value) > MAX_PARAM_LENGTH:
            raise InvalidRequestError(f"Parameter '{key[:64]}' is too long.")


def _validate_oidc_params(grant) -> None:
    data = grant.request.payload.data
    if not data.get("redirect_uri"):
        # OIDC Core 3.1.2.1: REQUIRED; without it no redirect URI was verified, so this is an error page
        raise InvalidRequestError("Missing 'redirect_uri' in request.")
    redirect_uri = grant.request.payload.redirect_uri
    prompts = set((data.get("prompt") or "").split())
    if not prompts <= PROMPT_VALUES:
        raise InvalidRequestError("Unknown 'prompt' value.", redirect_uri=redirect_uri)
    max_age = data.get("max_age")
    if max_age is not None and (not max_age.isdigit() or len(max_age) > 10):
        raise InvalidRequestError("'max_age' must be a non-negative integer.", redirect_uri=redirect_uri)
    if "openid" not in (grant.request.payload.scope or "").split():
        raise InvalidRequestError("The 'openid' scope is required.", redirect_uri=redirect_uri)


def _stored_params(params: dict) -> dict:
    """The request as it will be replayed: one value per parameter (duplicates were refused by Authlib)."""
    return {k: v for k, v in params.items() if k != "csrf_token"}


@bp.route("/consent/<uid>", methods=["GET", "POST"])
def consent(uid: str):
    ix = interactions.load_interaction(uid)
    login_session = current_login_session()
    if login_session is None:
        return redirect(url_for("oidc.resume", uid=uid), code=303)
    client = authorization_server().query_client(ix.client_id)
    scopes = (ix.params.get("scope") or "").split()
    if request.method == "GET":
        return render_template("oidc/consent.html", client=client, scopes=scopes, uid=uid, user=login_session.user)
    if request.form.get("decision") != "allow":
        ix.completed_at = clock.now()
        db.session.commit()
        redirect_uri = ix.params.get("redirect_uri") or client.get_default_redirect_uri()
        return authorize_error(AccessDeniedError(redirect_uri=redirect_uri, state=ix.params.get("state")))
    policy.grant_consent(login_session.user_id, client.client_id, " ".join(scopes))
    interactions.fulfil(ix, "consent")
    db.session.commit()
    return redirect(url_for("oidc.resume", uid=uid), code=303)


@bp.post("/token")
@csrf.exempt
def token():
    repeated = next((key for key in request.form if len(request.form.getlist(key)) > 1), None)
    if repeated is not None:  # RFC 6749 3.2: request parameters MUST NOT be included more than once
        response = jsonify(error="invalid_request", error_description=f"Parameter '{repeated[:64]}' is repeated.")
        response.status_code = 400
    else:
        response = authorization_server().create_token_response()
    db.session.commit()  # also keeps the revocations made when a code or refresh token was reused
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/revoke")
@csrf.exempt
def revoke():
    response = authorization_server().create_endpoint_response("revocation")
    db.session.commit()
    return response


@bp.post("/introspect")
@csrf.exempt
def introspect():
    response = authorization_server().create_endpoint_response("introspection")
    db.session.commit()  # keeps the jti of a private_key_jwt assertion as used
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    response = authorization_server().create_endpoint_response("userinfo")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt  # RP-Initiated Logout 2: RPs may POST; the answer on our confirmation page is checked in ``logout``
def end_session():
    return logout.end_session()


@bp.get("/.well-known/openid-configuration")
def discovery():
    return published.document("discovery", provider_metadata, published.DISCOVERY_MAX_AGE)


@bp.get("/jwks.json")
def jwks():
    keys_dir = current_app.config["IDP_SETTINGS"].keys.dir
    return published.document("jwks", lambda: load_keyring(keys_dir).jwks(), published.jwks_max_age())


# Dynamic Client Registration (RFC 7591) and client configuration (RFC 7592): the protocol is in dcr.py.
from . import dcr  # noqa: E402


@bp.post("/register")
@csrf.exempt  # a JSON API authenticated by a bearer token, not a browser form
def register_client():
    return dcr.respond(authorization_server(), "client_registration")


@bp.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def client_configuration(client_id: str):
    return dcr.respond(authorization_server(), "client_configuration")
