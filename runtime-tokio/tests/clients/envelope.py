"""Sends one message with python's smtplib to several recipients, saying
what the server answered at each step instead of raising, as the barring
tests need.

usage: envelope.py HOST PORT [--login USER PASSWORD] SENDER RECIPIENT...
Prints "mail CODE TEXT", then one "rcpt ADDRESS CODE TEXT" line per
recipient and, when one was taken, "data CODE TEXT".
"""
import smtplib
import sys

host, port = sys.argv[1:3]
args = sys.argv[3:]
login = None
if args[0] == "--login":
    login = (args[1], args[2])
    args = args[3:]
sender, recipients = args[0], args[1:]
with smtplib.SMTP(host, int(port), timeout=30) as smtp:
    smtp.ehlo("client.test")
    if login:
        smtp.login(*login)
    code, text = smtp.mail(sender)
    print("mail", code, text.decode())
    taken = 0
    if code == 250:
        for rcpt in recipients:
            code, text = smtp.rcpt(rcpt)
            print("rcpt", rcpt, code, text.decode())
            taken += code == 250
    if taken:
        body = "From: <%s>\r\nTo: <%s>\r\nSubject: barring\r\n\r\nHello.\r\n" % (
            sender,
            recipients[0],
        )
        code, text = smtp.data(body)
        print("data", code, text.decode())
    else:
        smtp.rset()
