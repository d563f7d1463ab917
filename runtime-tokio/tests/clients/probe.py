"""Probes one SMTP instance's policy with python's smtplib.

usage: probe.py HOST PORT REMOTE_RECIPIENT LOCAL_RECIPIENT DECLARED_SIZE
Prints one line of key=value pairs: the SIZE the instance advertises, and
the reply codes to RCPT for a recipient in another domain, RCPT for a
local one, and MAIL with SIZE=DECLARED_SIZE.
"""
import smtplib
import sys

host, port, remote, local, size = sys.argv[1:6]
with smtplib.SMTP(host, int(port), timeout=30) as smtp:
    smtp.ehlo("client.test")
    advertised = smtp.esmtp_features.get("size", "").strip()
    smtp.mail("sender@client.test")
    remote_code, remote_text = smtp.rcpt(remote)
    local_code, _ = smtp.rcpt(local)
    smtp.rset()
    mail_code, mail_text = smtp.mail("sender@client.test", [f"SIZE={size}"])
    print(
        f"size={advertised} relay={remote_code} local={local_code} big_mail={mail_code}"
    )
    print(f"relay_text={remote_text.decode()}")
    print(f"big_mail_text={mail_text.decode()}")
