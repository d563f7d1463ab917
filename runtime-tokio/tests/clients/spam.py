"""Sends one message with python's smtplib from a chosen source address,
as the spam-control tests need: it reports what the server said at each
step instead of raising.

usage: spam.py HOST PORT SOURCE_IP SENDER RECIPIENT
Prints "refused CODE TEXT" when the server refuses the connection;
otherwise "mail CODE TEXT", "rcpt CODE TEXT" and, when the recipient was
taken, "data CODE TEXT".
"""
import smtplib
import sys

host, port, source, sender, recipient = sys.argv[1:6]
try:
    smtp = smtplib.SMTP(host, int(port), timeout=30, source_address=(source, 0))
except smtplib.SMTPConnectError as e:
    print("refused", e.smtp_code, e.smtp_error.decode())
    sys.exit(0)
with smtp:
    smtp.ehlo("client.test")
    code, text = smtp.mail(sender)
    print("mail", code, text.decode())
    if code == 250:
        code, text = smtp.rcpt(recipient)
        print("rcpt", code, text.decode())
        if code == 250:
            body = "From: <%s>\r\nTo: <%s>\r\nSubject: spam control\r\n\r\nHello.\r\n" % (
                sender,
                recipient,
            )
            code, text = smtp.data(body)
            print("data", code, text.decode())
    smtp.quit()
