"""Webhooks: signing (HMAC over the body), target policy (which addresses a hook may
reach, checked again at connect time) and delivery with retries. Used by the worker's
finish hook and by the server's routes alike.
"""
