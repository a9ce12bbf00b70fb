"""Who may reach a server assay starts (`assay review`, `assay serve`): the one set of
rules for ports, hosts and bearer tokens.

- A port is one a server can listen on: 1 to 65535.
- Listening beyond loopback needs a token: every request must then carry it.
- A token is 16 or more ASCII characters, not blank, without whitespace at either end
  (headers drop it) or control characters (headers cannot carry them).
- Tokens are compared in constant time, as bytes, so any text a client sends can be
  compared (hmac.compare_digest refuses non-ASCII strings).
"""

from __future__ import annotations

import hmac
import ipaddress

from assay.exceptions import OptionError

PORTS = (1, 65535)
MIN_TOKEN_LENGTH = 16
GENERATE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
"""The command the token errors suggest."""


def check_port(port: int) -> None:
    """Raises OptionError unless the port is one a server can listen on (1 to 65535)."""
    low, high = PORTS
    if not low <= port <= high:
        raise OptionError("port", f"must be from {low} to {high}, got {port}")


def check_token(token: str) -> None:
    """Refuse a token that is easy to guess or cannot travel in a header or a cookie.

    Raises:
        OptionError: Blank, shorter than 16 characters, with whitespace at either end,
            or with a control or non-ASCII character.
    """
    if not token.strip():
        problem = "is blank"
    elif len(token) < MIN_TOKEN_LENGTH:
        problem = f"has {len(token)} characters; it needs {MIN_TOKEN_LENGTH} or more"
    elif token != token.strip():
        problem = "starts or ends with whitespace, which headers drop"
    elif any(ord(c) < 32 or ord(c) == 127 for c in token):
        problem = "holds a control character, which headers cannot carry"
    elif not token.isascii():
        problem = "holds a character outside ASCII, which headers and cookies cannot carry"
    else:
        return
    raise OptionError("token", f"{problem}; generate one with: {GENERATE_TOKEN}")


def check_bind(host: str, token: str | None, *, what: str, token_env: str) -> None:
    """Refuse to listen beyond loopback without a token.

    Args:
        host: The address to listen on.
        token: The token every request must carry, if any.
        what: What would be exposed ("the review app", "the model").
        token_env: The environment variable that can give the token.

    Raises:
        OptionError: The host is not a loopback address and no token is given.
    """
    if token or is_loopback(host):
        return
    raise OptionError(
        "host",
        f"{host} would expose {what} beyond this machine; give a token (or set "
        f"{token_env}) so that every request must carry it",
    )


def is_loopback(host: str) -> bool:
    """Whether the address only this machine can reach ("localhost", 127.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_secret(given: str, expected: str) -> bool:
    """Whether two secrets are equal, in constant time, for strings of any characters
    (compared as UTF-8 bytes; lone surrogates, which a decoded header can hold, pass)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
