#!/usr/bin/env python3
"""Writes the seed corpus (tests/SmartMail.Fuzz/corpus): the hand-made fixtures of SmartMail.Core.Tests/TestData/eml and
small versions of every kind in SmartMail.Worker.Tests/Hostile/HostileMail.cs (the big ones shrunk: a fuzzer wants
small seeds; the full-size catalogue runs in HostileMailTests). Run from the repository root."""
import base64, io, os, shutil, zipfile

root = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(root, "corpus")
os.makedirs(out, exist_ok=True)
fixtures = os.path.join(root, "..", "SmartMail.Core.Tests", "TestData", "eml")
for name in sorted(os.listdir(fixtures)):
    shutil.copy(os.path.join(fixtures, name), os.path.join(out, "fixture-" + name))

def nested(depth):
    s = "Subject: deep\r\n"
    for i in range(depth):
        s += f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
    s += "Content-Type: text/plain\r\n\r\nthe bottom\r\n"
    for i in reversed(range(depth)):
        s += f"--b{i}--\r\n"
    return s

def attachment(ctype, name, b64):
    return ("Subject: attachment\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            f"--a\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--a--\r\n")

def rfc822_chain(depth):
    inner = "Subject: innermost\r\n\r\nthe original\r\n"
    for i in range(depth):
        inner = f"Subject: fwd {i}\r\nContent-Type: message/rfc822\r\n\r\n{inner}"
    return inner

def small_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * 100_000)
    return base64.b64encode(buffer.getvalue()).decode()

kinds = {
    "nesting-60": nested(60),
    "parts-200": "Subject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n" + "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 200 + "--p--\r\n",
    "header-line-8kb": "From: a@example.org\r\nSubject: " + "x" * 8000 + "\r\n\r\nbody\r\n",
    "headers-500": "".join(f"X-H{i}: v\r\n" for i in range(500)) + "Subject: many\r\n\r\nbody\r\n",
    "attachment-small": attachment("application/octet-stream", "big.bin", "QUFB" * 500),
    "zip-small": attachment("application/zip", "bomb.zip", small_zip()),
    "base64-broken": "Subject: b64\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!not*base64@@@@\r\nSGVsbG8=====\r\n",
    "charset-unknown": "Subject: cs\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla' batlh\r\n",
    "charset-utf7": "Subject: cs7\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nHi Mom -+Jjo--!\r\n",
    "nul-bytes": "Subject: nul\0here\r\nFrom: a\0@example.org\r\n\r\nbody\0with\0nuls\r\n",
    "encoded-words-200": "Subject: " + "".join("=?utf-8?B?!!bad!!?= " if i % 3 == 0 else "=?utf-8?Q?=C3=A6?= " for i in range(200)) + "\r\n\r\nbody\r\n",
    "encoded-word-crlf-injection": "Subject: =?utf-8?Q?hi=0D=0ABcc:_victim@example.org?=\r\n\r\nbody\r\n",
    "message-id-missing": "From: a@example.org\r\nSubject: no id\r\n\r\nbody\r\n",
    "message-id-duplicate-a": "Message-ID: <same@example.org>\r\nSubject: first\r\n\r\nthe first body\r\n",
    "message-id-duplicate-b": "Message-ID: <same@example.org>\r\nSubject: second\r\n\r\na different body\r\n",
    "message-id-invalid": "Message-ID: <id@@domain>\r\nIn-Reply-To: ACME20191226@423549219_ACME20191226@\r\nSubject: ids\r\n\r\nbody\r\n",
    "html-scripts": "Subject: html\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script><iframe src=\"javascript:alert(2)\"></iframe><p style=\"x:expression(alert(3))\" onclick=\"evil()\">text</p>",
    "html-20kb-one-line": "Subject: big html\r\nContent-Type: text/html\r\n\r\n<p>" + "word " * 4000 + "</p>",
    "multipart-no-boundary": "Subject: mp\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nlost\r\n--x--\r\n",
    "multipart-never-closed": "Subject: mp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nopen forever\r\n--b\r\nContent-Type: text/plain\r\n\r\nand ever",
    "empty": "",
    "headers-only": "From: a@example.org\r\nSubject: only headers\r\n",
    "rfc822-chain-50": rfc822_chain(50),
    "bare-cr-and-lf": "Subject: endings\rFrom: a@example.org\n\nline one\rline two\nline three\r\n",
    "reply-to-truncated": "Reply-To: \"Name\" <\r\nSubject: trunc\r\n\r\nbody\r\n",
    "display-name-spoof": "From: \"Borgerservice\" <evil@attacker.example>\r\nSubject: Din sag\r\n\r\nKlik her\r\n",
    "cpr-everywhere": "From: \"Borger 010190-1234\" <b@example.dk>\r\nMessage-ID: <0101901234@example.dk>\r\nSubject: =?utf-8?Q?CPR_0101901234?=\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>CPR <b>311299 4321</b></p>\r\n",
    "rfc2231-filename": "Subject: f\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*0*=utf-8''%C3%A6%20a; filename*1=\"b.pdf\"\r\n\r\nx\r\n--b--\r\n",
}
for name, text in kinds.items():
    data = text.encode("latin-1")
    with open(os.path.join(out, "hostile-" + name + ".eml"), "wb") as f:
        f.write(data)
with open(os.path.join(out, "hostile-headers-8bit.eml"), "wb") as f:
    f.write(b"Subject: " + "Spørgsmål om ål".encode("latin-1") + b"\r\nFrom: " + "Søren <s@example.dk>".encode("utf-8") + b"\r\n\r\nbody\r\n")
