"""Mail as the tests send it: a short report with one attachment, its name and type as given."""

from __future__ import annotations

import base64


def attachment_mail(name: bytes, data: bytes, ctype: bytes = b"image/png") -> bytes:
    return (
        b"From: An <an@example.be>\r\nTo: 1777@kortrijk.be\r\nSubject: foto\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nSluikstort aan de glasbol in de Budastraat.\r\n"
        b"--b1\r\nContent-Type: " + ctype + b'; name="' + name + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
        + b"--b1--\r\n"
    )
