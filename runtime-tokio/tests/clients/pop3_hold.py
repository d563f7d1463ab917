"""Holds a POP3 session open with python's poplib until told to quit.

usage: pop3_hold.py HOST PORT USER PASSWORD
Logs in (USER, PASS), prints "held N" (N messages) or "refused: TEXT",
then waits for a line on standard input and ends with QUIT.
"""
import poplib
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
pop = poplib.POP3(host, port, timeout=60)
try:
    pop.user(user)
    pop.pass_(password)
except poplib.error_proto as error:
    print(f"refused: {error.args[0].decode()}", flush=True)
    sys.exit(0)
count, _ = pop.stat()
print(f"held {count}", flush=True)
sys.stdin.readline()
pop.quit()
print("quit", flush=True)
