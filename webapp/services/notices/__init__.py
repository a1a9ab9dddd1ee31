"""Expiry notices: telling a key's owner (by email) and a webhook that the key expires soon or has expired.

preferences: the stored settings (days before, webhook URL and secret); mail, webhook: the two channels;
messages: what each notice says; due: which notices are due and the claims that send each once; notify: the
pass; deliveries: the record of what was sent, for the Settings page.
"""
