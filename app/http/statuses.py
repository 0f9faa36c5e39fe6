"""The HTTP status of each ledger error code (app/ledger/errors.py).

One table for every transport: /graphql answers a client's error with it, and each
REST dialect starts from it (a dialect overrides only the codes its vendor answers
differently).
"""

from __future__ import annotations

HTTP_STATUS = {
    "BAD_USER_INPUT": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "RATE_LIMITED": 429,
    # Refused by an account's balance limits: a client error the same input would repeat
    # until the balance changes (Pennylane's dialect answers 422, app/rest/pennylane).
    "INSUFFICIENT_FUNDS": 400,
    "LIMIT_EXCEEDED": 400,
    # An entry's balance condition does not hold (GraphQL only: no dialect sends one).
    "CONDITION_FAILED": 400,
    # Lost to concurrent writes after bounded retries: the same request may be sent again.
    "TRY_AGAIN": 503,
}
