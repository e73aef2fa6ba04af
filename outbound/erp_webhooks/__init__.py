"""Signed webhooks to the ERP and the creditor (docs/erp-webhooks.md).

The data path: the event store -> ``outbox`` (a checkpointed follower that turns case
events into webhook events and one delivery per subscription) -> ``dispatcher`` (POSTs
each due delivery, signed, in order per case, retried with backoff) -> ``delivery_log``
(what the API shows and replays)."""
