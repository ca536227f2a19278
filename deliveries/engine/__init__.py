"""The delivery core: plain Python, no Django.

- ``signing``: the ``Tillhub-Signature`` header (make and verify).
- ``backoff``: when the n-th retry is due.
- ``targets``: which URLs and addresses a delivery may reach.
- ``http``: one delivery attempt over HTTP, redirects included, as a ``SendResult``.
- ``outcome``: what a ``SendResult`` means for the delivery (success, retry, give up, gone).
"""
