"""Sends one message with python's smtplib and prints the outcome.

usage: send.py HOST PORT SENDER RECIPIENT[,RECIPIENT...] MESSAGE_FILE [--no-size]
Prints one line: "OK" and the refused recipients, or "REFUSED" and the
per-recipient refusals, or "MAIL"/"DATA" and the code and text of the
reply that refused the message. --no-size leaves out MAIL's SIZE=
parameter (smtplib adds it whenever the server offers SIZE), so that a
size limit must be enforced while the data arrives.
"""
import smtplib
import sys

host, port, sender, recipients, message_file = sys.argv[1:6]
declare_size = "--no-size" not in sys.argv[6:]
with open(message_file, "rb") as f:
    message = f.read()
with smtplib.SMTP(host, int(port), timeout=30) as smtp:
    smtp.ehlo("client.test")
    try:
        if declare_size:
            refused = smtp.sendmail(sender, recipients.split(","), message)
        else:
            smtp.mail(sender)
            refused = {}
            for rcpt in recipients.split(","):
                code, text = smtp.rcpt(rcpt)
                if code != 250:
                    refused[rcpt] = (code, text)
            code, text = smtp.data(message)
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
        smtp.noop()
        print("OK", refused)
    except smtplib.SMTPRecipientsRefused as e:
        print("REFUSED", e.recipients)
    except smtplib.SMTPSenderRefused as e:
        print("MAIL", e.smtp_code, e.smtp_error.decode())
    except smtplib.SMTPDataError as e:
        print("DATA", e.smtp_code, e.smtp_error.decode())
