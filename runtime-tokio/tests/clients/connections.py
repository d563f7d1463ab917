"""Opens SMTP connections from chosen loopback source addresses with
python's smtplib and prints each greeting's reply code and text.

usage: connections.py HOST PORT SOURCE[,SOURCE...] [--release-and-retry SOURCE]
Connects once from each SOURCE in order, keeping every accepted
connection open, and prints "SOURCE CODE TEXT" per connection. With
--release-and-retry, it then closes the first accepted connection and
connects from SOURCE again until it is greeted (for up to 10 s), showing
that the closed connection's slot was given back.
"""
import smtplib
import sys
import time

host, port, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
open_sessions = []


def connect(source):
    try:
        smtp = smtplib.SMTP(timeout=30, source_address=(source, 0))
        code, text = smtp.connect(host, port)
        if code == 220:
            open_sessions.append(smtp)
        else:
            smtp.close()
        return code, text.decode()
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error.decode()
    except smtplib.SMTPServerDisconnected as e:
        return 0, f"disconnected: {e}"


for source in sources:
    code, text = connect(source)
    print(source, code, text, flush=True)

if "--release-and-retry" in sys.argv:
    source = sys.argv[sys.argv.index("--release-and-retry") + 1]
    open_sessions.pop(0).quit()
    deadline = time.time() + 10
    while True:
        code, text = connect(source)
        if code == 220 or time.time() > deadline:
            break
        time.sleep(0.05)
    print("retry", source, code, text, flush=True)

for smtp in open_sessions:
    smtp.quit()
