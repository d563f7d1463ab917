"""NNTP scenarios with python's nntplib, printing one line per step.

usage: nntp.py HOST PORT SCENARIO CAFILE USER PASSWORD [ARG]
SCENARIO:
  anonymous  read without a login: capabilities, list, group, over, article,
             head, body, stat, hdr, and a post that is refused
  post       log in (AUTHINFO USER/PASS), post ARG (a subject) to
             local.general, read it back by number and by Message-ID,
             newnews, date
  starttls   STARTTLS, then log in and list
  nntps      implicit TLS (NNTP_SSL), log in and list
  bad_login  a wrong password
  login_required  a command before the login, then the login
  read       log in (when USER is not empty) and list group ARG's overview
  post_to    log in and post to group ARG (GROUP:SUBJECT)
  post_anonymous  the same without a login
Errors from the server are printed, not raised: the test reads the lines.
"""
import datetime
import io
import ssl
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import nntplib  # noqa: E402  (deprecated in 3.11, still the stdlib client)

host, port, scenario, cafile, user, password = sys.argv[1:7]
arg = sys.argv[7] if len(sys.argv) > 7 else ""
port = int(port)


def context():
    return ssl.create_default_context(cafile=cafile)


def show(label, call):
    try:
        result = call()
    except (nntplib.NNTPError, EOFError) as error:
        result = "error: " + str(error)
    print(f"{label}: {result}", flush=True)
    return result


def read_group(news, name):
    resp, count, first, last, gname = news.group(name)
    print(f"group: {resp} count={count} first={first} last={last}")
    if count == 0:
        return
    resp, overviews = news.over((first, last))
    for number, fields in overviews:
        print(f"over {number}: subject={fields['subject']!r} from={fields['from']!r} "
              f"id={fields['message-id']} lines={fields[':lines']} bytes={fields[':bytes']}")
    resp, info = news.article(last)
    print(f"article {last}: {resp} number={info.number} id={info.message_id} "
          f"lines={len(info.lines)} body={info.lines[-1].decode()!r}")
    resp, info = news.head(last)
    print(f"head {last}: {resp} lines={len(info.lines)} "
          f"subject={[l.decode() for l in info.lines if l.startswith(b'Subject:')]}")
    resp, info = news.body(last)
    print(f"body {last}: {resp} {[l.decode() for l in info.lines]}")
    resp, number, message_id = news.stat(last)
    print(f"stat {last}: {resp}")
    resp, values = news.xhdr("subject", f"{first}-{last}")
    print(f"hdr subject: {resp} {values}")


if scenario == "anonymous":
    news = nntplib.NNTP(host, port, timeout=30, readermode=True)
    print("welcome:", news.getwelcome())
    caps = news.getcapabilities()
    print("capabilities:", sorted(caps.keys()))
    resp, groups = news.list()
    print("list:", sorted((g.group, g.flag) for g in groups))
    show("descriptions", lambda: sorted(news.descriptions("local.*")[1].items()))
    read_group(news, "local.general")
    show("group private", lambda: news.group("private.staff")[0])
    show("article none", lambda: news.article("<no-such@example.test>")[0])
    article = (b"From: anon@example.test\r\nNewsgroups: local.general\r\n"
               b"Subject: anonymous\r\n\r\nhi\r\n")
    show("post", lambda: news.post(io.BytesIO(article)))
    show("quit", news.quit)
elif scenario == "post":
    news = nntplib.NNTP(host, port, timeout=30, readermode=True)
    show("login", lambda: news.login(user, password, usenetrc=False) or "ok")
    print("capabilities:", sorted(news.getcapabilities().keys()))
    article = (f"From: Alice <{user}>\r\nNewsgroups: local.general\r\n"
               f"Subject: {arg}\r\n\r\nFirst line.\r\n.dot line\r\n").encode()
    show("post", lambda: news.post(io.BytesIO(article)))
    read_group(news, "local.general")
    resp, count, first, last, name = news.group("local.general")
    resp, info = news.article(last)
    message_id = info.message_id
    show("article by id", lambda: news.article(message_id)[0])
    show("date", lambda: news.date()[1].year > 2000)
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    show("newnews", lambda: message_id in news.newnews("local.*", since)[1])
    show("newgroups", lambda: sorted(news.newgroups(since)[1]) is not None)
    show("post again", lambda: news.post(io.BytesIO(
        article.replace(b"Subject:", b"Message-ID: " + message_id.encode() + b"\r\nSubject:"))))
    show("post read-only", lambda: news.post(io.BytesIO(
        article.replace(b"local.general", b"local.announce"))))
    show("post no subject", lambda: news.post(io.BytesIO(
        f"From: {user}\r\nNewsgroups: local.general\r\n\r\nx\r\n".encode())))
    show("quit", news.quit)
elif scenario == "starttls":
    news = nntplib.NNTP(host, port, timeout=30)
    print("capabilities before:", sorted(news.getcapabilities().keys()))
    show("starttls", lambda: news.starttls(context()) or "ok")
    print("tls:", news.sock.version() if hasattr(news.sock, "version") else None)
    show("login", lambda: news.login(user, password, usenetrc=False) or "ok")
    resp, groups = news.list()
    print("list:", sorted(g.group for g in groups))
    show("quit", news.quit)
elif scenario == "nntps":
    news = nntplib.NNTP_SSL(host, port, ssl_context=context(), timeout=30)
    print("welcome:", news.getwelcome())
    show("login", lambda: news.login(user, password, usenetrc=False) or "ok")
    resp, groups = news.list()
    print("list:", sorted(g.group for g in groups))
    show("quit", news.quit)
elif scenario == "bad_login":
    news = nntplib.NNTP(host, port, timeout=30)
    show("login", lambda: news.login(user, "wrong password", usenetrc=False) or "ok")
elif scenario == "login_required":
    news = nntplib.NNTP(host, port, timeout=30)
    show("list", lambda: news.list()[0])
    show("login", lambda: news.login(user, password, usenetrc=False) or "ok")
    show("list after", lambda: sorted(g.group for g in news.list()[1]))
    show("group private", lambda: news.group("private.staff")[0])
    show("quit", news.quit)
elif scenario == "read":
    news = nntplib.NNTP(host, port, timeout=30)
    if user:
        show("login", lambda: news.login(user, password, usenetrc=False) or "ok")
    resp, count, first, last, name = news.group(arg)
    print(f"group: {resp}")
    if count:
        for number, fields in news.over((first, last))[1]:
            print(f"over {number}: subject={fields['subject']!r} id={fields['message-id']}")
    show("quit", news.quit)
elif scenario == "post_to":
    group, subject = arg.split(":", 1)
    news = nntplib.NNTP(host, port, timeout=30)
    show("login", lambda: news.login(user, password, usenetrc=False) or "ok")
    article = (f"From: <{user}>\r\nNewsgroups: {group}\r\n"
               f"Subject: {subject}\r\n\r\nPosted over NNTP.\r\n").encode()
    show("post", lambda: news.post(io.BytesIO(article)))
    show("quit", news.quit)
elif scenario == "post_anonymous":
    group, subject = arg.split(":", 1)
    news = nntplib.NNTP(host, port, timeout=30)
    article = (f"From: <someone@example.test>\r\nNewsgroups: {group}\r\n"
               f"Subject: {subject}\r\n\r\nPosted without a login.\r\n").encode()
    show("post", lambda: news.post(io.BytesIO(article)))
    show("quit", news.quit)
else:
    sys.exit(f"unknown scenario {scenario}")
