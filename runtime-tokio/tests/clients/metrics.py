"""Traffic for the metrics test, and a reader of the metrics it moved.

usage: metrics.py HOST MX_PORT traffic SMTPS_PORT CLOSED_PORT CAFILE USER PASSWORD
       metrics.py HOST MX_PORT parse FILE

traffic: three messages to alice@example.test on the MX instance (smtplib);
on the implicit-TLS submission instance a wrong password, then the right
one and a message to bob@example.test and one to carol@elsewhere.test
(relayed); a connection to the instance whose access list refuses us; and
a connection to the TLS instance that sends clear text instead of a
ClientHello. Prints "sent" and one line per outcome.

parse: reads FILE (the server's metrics) with prometheus_client's
Prometheus text parser and with its OpenMetrics parser, checks that both
read the same samples, and prints them as JSON: {"name{k=v,...}": value},
labels sorted.
"""
import json
import smtplib
import socket
import ssl
import sys

host, mx_port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def traffic(smtps_port, closed_port, cafile, user, password):
    message = "From: metrics@client.test\r\nSubject: metrics\r\n\r\nHello.\r\n"
    with smtplib.SMTP(host, mx_port, timeout=30) as smtp:
        for _ in range(3):
            smtp.sendmail("metrics@client.test", ["alice@example.test"], message)
    print("mx: 3 sent")
    context = ssl.create_default_context(cafile=cafile)
    with smtplib.SMTP_SSL(host, int(smtps_port), timeout=30, context=context) as smtp:
        # One attempt, with PLAIN only: login() would try LOGIN next.
        smtp.ehlo("client.test")
        smtp.user, smtp.password = user, password + "-wrong"
        try:
            smtp.auth("PLAIN", smtp.auth_plain)
            print("smtps: the wrong password was accepted")
        except smtplib.SMTPAuthenticationError as e:
            print("smtps: wrong password", e.smtp_code)
        smtp.login(user, password)
        smtp.sendmail(user, ["bob@example.test"], message)
        smtp.sendmail(user, ["carol@elsewhere.test"], message)
    print("smtps: 2 sent")
    try:
        smtplib.SMTP(host, int(closed_port), timeout=30)
        print("closed: admitted")
    except smtplib.SMTPConnectError as e:
        print("closed: refused", e.smtp_code)
    with socket.create_connection((host, int(smtps_port)), timeout=30) as raw:
        raw.sendall(b"EHLO not-tls.test\r\n")
        try:
            while raw.recv(4096):
                pass
        except OSError:
            pass
    print("smtps: clear text sent")
    print("sent")


def samples(families):
    out = {}
    for family in families:
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def parse(path):
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as openmetrics_families,
    )
    from prometheus_client.parser import text_string_to_metric_families

    with open(path) as f:
        text = f.read()
    prometheus = samples(text_string_to_metric_families(text))
    openmetrics = samples(openmetrics_families(text))
    # The Prometheus parser leaves the "# EOF" line alone and reads the
    # rest as the OpenMetrics parser does.
    if prometheus != openmetrics:
        only = set(prometheus.items()) ^ set(openmetrics.items())
        sys.exit(f"the two parsers disagree on {sorted(only)}")
    print(json.dumps(prometheus, sort_keys=True))


if mode == "traffic":
    traffic(*sys.argv[4:9])
elif mode == "parse":
    parse(sys.argv[4])
else:
    sys.exit(f"unknown mode {mode}")
