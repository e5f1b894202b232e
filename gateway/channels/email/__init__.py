"""The e-mail channel: SMTP listener, IMAP poller, and the analysis of a message.

`parse`, `quotes`, `automated` and `language` turn raw bytes into a `ParsedMail`
without any I/O; `mailintake` decides what a message is (a new melding, a follow-up,
an automatic message) and stores it; `smtp` and `imap` receive; `service` starts
and stops them next to the HTTP app.
"""
