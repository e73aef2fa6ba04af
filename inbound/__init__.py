"""What third parties send to recouvre: signed webhooks, verified, recorded once, told to cases.

- ``partner_reports``: agencies' and commissaires' reports on mandates
  (``POST /v1/partners/{kind}/reports``);
- ``registered_mail_notifications``: the registered-mail provider's callbacks
  (``POST /v1/webhooks/registered-mail``);
- ``signatures``: both HMAC schemes (verify here; ``sign_*`` for senders and sandboxes).

The FastAPI app (services/api/app.py) mounts the routers. The outbound side (activities/) never
imports this package.
"""
