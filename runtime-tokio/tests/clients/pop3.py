"""POP3 scenarios with python's poplib, printing one line per step.

usage: pop3.py HOST PORT SCENARIO CAFILE USER PASSWORD
SCENARIO: plain (USER/PASS in clear), stls (STLS first), ssl (POP3_SSL),
apop, cleartext_refused, in_use, drop_after_dele, count.
Errors from the server are printed, not raised: the test reads the lines.
"""
import poplib
import socket
import ssl
import sys

host, port, scenario, cafile, user, password = sys.argv[1:7]
port = int(port)


def context():
    return ssl.create_default_context(cafile=cafile)


def show(label, call):
    try:
        result = call()
    except poplib.error_proto as error:
        message = error.args[0]
        result = "error: " + (message if isinstance(message, str) else message.decode())
    print(f"{label}: {result}", flush=True)
    return result


def login(pop):
    show("user", lambda: pop.user(user).decode())
    return show("pass", lambda: pop.pass_(password).decode())


def read_all(pop):
    show("capa", lambda: sorted(pop.capa().keys()))
    show("stat", pop.stat)
    listing = pop.list()
    print("list:", [line.decode() for line in listing[1]])
    print("uidl:", [line.decode() for line in pop.uidl()[1]])
    count = len(listing[1])
    for n in range(1, count + 1):
        response, lines, octets = pop.retr(n)
        print(f"retr {n}: {response.decode()} lines={len(lines)} octets={octets}")
        print(f"retr {n} subject:", [l.decode() for l in lines if l.startswith(b"Subject:")])
    if count:
        response, lines, _ = pop.top(1, 0)
        print("top 1 0:", response.decode(), "last header line:", lines[-2].decode() if len(lines) > 1 else None, "blank end:", lines[-1] == b"")


if scenario == "plain":
    pop = poplib.POP3(host, port, timeout=30)
    print("welcome:", pop.getwelcome().decode())
    login(pop)
    read_all(pop)
    show("dele 1", lambda: pop.dele(1).decode())
    show("quit", lambda: pop.quit().decode())
elif scenario == "stls":
    pop = poplib.POP3(host, port, timeout=30)
    show("capa before tls", lambda: sorted(pop.capa().keys()))
    show("stls", lambda: pop.stls(context=context()).decode())
    show("capa after tls", lambda: sorted(pop.capa().keys()))
    login(pop)
    read_all(pop)
    show("quit", lambda: pop.quit().decode())
elif scenario == "ssl":
    pop = poplib.POP3_SSL(host, port, context=context(), timeout=30)
    show("capa before login", lambda: sorted(pop.capa().keys()))
    login(pop)
    read_all(pop)
    show("quit", lambda: pop.quit().decode())
elif scenario == "apop":
    pop = poplib.POP3(host, port, timeout=30)
    # poplib refuses APOP itself when the greeting has no timestamp.
    show("apop (poplib)", lambda: pop.apop(user, password))
    show("apop (sent)", lambda: pop._shortcmd(f"APOP {user} 0123456789abcdef0123456789abcdef").decode())
    show("quit", lambda: pop.quit().decode())
elif scenario == "cleartext_refused":
    pop = poplib.POP3(host, port, timeout=30)
    show("capa", lambda: sorted(pop.capa().keys()))
    show("user", lambda: pop.user(user).decode())
    show("auth plain", lambda: pop._shortcmd("AUTH PLAIN").decode())
    show("quit", lambda: pop.quit().decode())
elif scenario == "in_use":
    first = poplib.POP3(host, port, timeout=30)
    login(first)
    second = poplib.POP3(host, port, timeout=30)
    show("second user", lambda: second.user(user).decode())
    show("second pass", lambda: second.pass_(password).decode())
    show("first quit", lambda: first.quit().decode())
    show("second user again", lambda: second.user(user).decode())
    show("second pass again", lambda: second.pass_(password).decode())
    show("second stat", second.stat)
    show("second quit", lambda: second.quit().decode())
elif scenario == "drop_after_dele":
    pop = poplib.POP3(host, port, timeout=30)
    login(pop)
    show("stat", pop.stat)
    show("dele 1", lambda: pop.dele(1).decode())
    show("dele 2", lambda: pop.dele(2).decode())
    # The connection drops without QUIT.
    pop.sock.shutdown(socket.SHUT_RDWR)
    pop.sock.close()
    print("dropped", flush=True)
elif scenario == "stls_injection":
    # STLS with a command behind it in the same packet: the command must
    # be discarded, never answered inside TLS.
    raw = socket.create_connection((host, port), timeout=30)
    reader = raw.makefile("rb")
    print("greeting:", reader.readline().decode().strip())
    raw.sendall(b"STLS\r\nUSER injected@example.test\r\n")
    print("stls:", reader.readline().decode().strip())
    tls = context().wrap_socket(raw, server_hostname=host)
    tls_reader = tls.makefile("rb")
    tls.sendall(b"NOOP\r\n")
    print("first reply inside tls:", tls_reader.readline().decode().strip())
    tls.sendall(b"QUIT\r\n")
    print("quit:", tls_reader.readline().decode().strip())
elif scenario == "count":
    pop = poplib.POP3(host, port, timeout=30)
    login(pop)
    show("stat", pop.stat)
    show("quit", lambda: pop.quit().decode())
else:
    sys.exit(f"unknown scenario {scenario}")
