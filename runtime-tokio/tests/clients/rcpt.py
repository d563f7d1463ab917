"""Asks whether recipients would be taken, with python's smtplib, from a
chosen source address; sends no message.

usage: rcpt.py HOST PORT SOURCE_IP SENDER RECIPIENT...
Prints "refused CODE TEXT" when the server refuses the connection, or one
line per recipient: "ADDRESS CODE".
"""
import smtplib
import sys

host, port, source, sender = sys.argv[1:5]
try:
    smtp = smtplib.SMTP(host, int(port), timeout=30, source_address=(source, 0))
except smtplib.SMTPConnectError as e:
    print("refused", e.smtp_code, e.smtp_error.decode())
    sys.exit(0)
with smtp:
    smtp.ehlo("client.test")
    smtp.mail(sender)
    for rcpt in sys.argv[5:]:
        code, _ = smtp.rcpt(rcpt)
        print(rcpt, code)
    smtp.rset()
