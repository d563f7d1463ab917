"""Sends one message with python's smtplib, with MAIL parameters.

usage: send_with.py HOST PORT SENDER RECIPIENT MESSAGE_FILE [MAIL_OPTION]...
for example BODY=8BITMIME or SMTPUTF8. Prints "OK" and the refused
recipients, or the error.
"""
import smtplib
import sys

host, port, sender, recipient, message_file = sys.argv[1:6]
options = sys.argv[6:]
with open(message_file, "rb") as f:
    message = f.read()
with smtplib.SMTP(host, int(port), timeout=30) as smtp:
    smtp.ehlo("client.test")
    try:
        refused = smtp.sendmail(sender, [recipient], message, mail_options=options)
        print("OK", refused)
    except smtplib.SMTPException as e:
        print("ERROR", e)
