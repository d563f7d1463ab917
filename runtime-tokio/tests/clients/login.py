"""One login with a stock client, as a user would make it.

usage: login.py HOST PORT smtp|pop3|imap USER PASSWORD
smtp: python's smtplib `login()`, which tries the mechanisms the server
offers in its own order (PLAIN, then LOGIN) until one works.
pop3: python's poplib, USER and PASS.
imap: python's imaplib, LOGIN.
Prints "ok" or "refused: CODE TEXT" (smtp) / "refused: TEXT" (pop3, imap).
"""
import imaplib
import poplib
import smtplib
import sys

host, port, protocol, user, password = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]

if protocol == "smtp":
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        try:
            smtp.login(user, password)
            print("ok")
        except smtplib.SMTPAuthenticationError as error:
            print(f"refused: {error.smtp_code} {error.smtp_error.decode()}")
elif protocol == "pop3":
    pop = poplib.POP3(host, port, timeout=30)
    try:
        pop.user(user)
        pop.pass_(password)
        print("ok")
    except poplib.error_proto as error:
        print(f"refused: {error.args[0].decode()}")
    finally:
        try:
            pop.quit()
        except (poplib.error_proto, OSError):
            pass
elif protocol == "imap":
    imap = imaplib.IMAP4(host, port, timeout=30)
    try:
        imap.login(user, password)
        print("ok")
        imap.logout()
    except imaplib.IMAP4.error as error:
        print(f"refused: {error}")
else:
    sys.exit(f"unknown protocol {protocol}")
