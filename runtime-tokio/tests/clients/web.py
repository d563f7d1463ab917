"""A webmail client with python's urllib and a cookie jar, for the
security and protocol tests of the HTTP instance (tests/webmail.rs).

usage: web.py HOST PORT SCENARIO [ARGS...] [--tls CAFILE]
Prints one line per fact the test checks ("status: 303", "set-cookie: ...").
"""
import http.client
import re
import ssl
import sys
import urllib.parse

args = sys.argv[1:]
cafile = None
if "--tls" in args:
    i = args.index("--tls")
    cafile = args[i + 1]
    del args[i : i + 2]
host, port, scenario, rest = args[0], int(args[1]), args[2], args[3:]


class Browser:
    """Just enough of a browser: cookies, forms, no redirects followed."""

    def __init__(self):
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        if cafile:
            context = ssl.create_default_context(cafile=cafile)
            conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=30)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest_ = value.partition("=")
                cookie_value = rest_.split(";")[0]
                if "Max-Age=0" in value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie_value
        conn.close()
        return response, data.decode("utf-8", "replace")

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, fields, headers=None):
        body = urllib.parse.urlencode(fields)
        all_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        all_headers.update(headers or {})
        return self.request("POST", path, body=body, headers=all_headers)

    def post_multipart(self, path, fields, files=()):
        boundary = "----postern-test-boundary"
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, filename, content_type, data in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            body=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def login(self, user, password, computer="personal"):
        _, page = self.get("/login")
        token = form_token(page)
        return self.post(
            "/login",
            {"token": token, "login": user, "password": password, "computer": computer},
        )

    def token(self, path="/folder?f=INBOX"):
        _, page = self.get(path)
        return form_token(page)


def form_token(page):
    match = re.search(r'name="token" value="([^"]+)"', page)
    return match.group(1) if match else ""


def uids(page):
    return [int(u) for u in re.findall(r"/message\?f=[^&\"]+&amp;uid=(\d+)", page)]


def show(label, response, page=None):
    print(f"{label}: {response.status}")


b = Browser()
if scenario == "login-cookies":
    user, password, computer = rest
    response, page = b.get("/login")
    for value in response.headers.get_all("Set-Cookie") or []:
        print(f"login form set-cookie: {value}")
    response, _ = b.login(user, password, computer)
    show("login", response)
    print(f"location: {response.getheader('Location')}")
    for value in response.headers.get_all("Set-Cookie") or []:
        print(f"set-cookie: {value}")
    for name in ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control"]:
        print(f"{name.lower()}: {response.getheader(name)}")
elif scenario == "forms":
    user, password = rest
    # A login form posted from elsewhere: no login cookie.
    response, _ = Browser().post("/login", {"token": "x" * 43, "login": user, "password": password})
    show("login without the form's cookie", response)
    b.login(user, password)
    token = b.token()
    response, _ = b.post("/logout", {})
    show("logout without a token", response)
    response, _ = b.post("/logout", {"token": "A" * 43})
    show("logout with another token", response)
    response, _ = b.post("/logout", {"token": token}, headers={"Origin": "http://evil.test"})
    show("logout from another origin", response)
    response, _ = b.get("/folder?f=INBOX")
    show("still logged in", response)
    response, _ = b.post("/logout", {"token": token}, headers={"Origin": f"http://{host}:{port}"})
    show("logout", response)
    response, _ = b.get("/folder?f=INBOX")
    show("after logout", response)
    print(f"after logout location: {response.getheader('Location')}")
elif scenario == "wrong-passwords":
    user, password, count = rest[0], rest[1], int(rest[2])
    for i in range(count):
        response, page = Browser().login(user, "wrong password %d" % i)
        show(f"wrong {i + 1}", response)
    response, page = Browser().login(user, password)
    show("right password", response)
    print("page says locked" if "Too many failed logins" in page else "page does not say locked")
elif scenario == "read":
    user, password = rest[0], rest[1]
    extra = rest[2] if len(rest) > 2 else ""
    b.login(user, password)
    response, page = b.get("/folder?f=INBOX")
    show("inbox", response)
    found = uids(page)
    print(f"uids: {found}")
    for uid in found:
        response, page = b.get(f"/message?f=INBOX&uid={uid}{extra}")
        show(f"message {uid}", response)
        print(f"csp {uid}: {response.getheader('Content-Security-Policy')}")
        print(f"--- page {uid} ---")
        print(page)
        print(f"--- end {uid} ---")
elif scenario == "other-user":
    user, password, uid = rest
    b.login(user, password)
    for path in [
        f"/message?f=INBOX&uid={uid}",
        f"/raw?f=INBOX&uid={uid}",
        f"/part?f=INBOX&uid={uid}&n=0",
        f"/message?f=../alice&uid={uid}",
        f"/message?f=..%2F..%2Falice%2Fcur&uid={uid}",
        f"/folder?f=..%2Falice",
    ]:
        response, page = b.get(path)
        show(path, response)
        if "secret" in page.lower():
            print(f"LEAK at {path}")
elif scenario == "download":
    user, password, uid, number = rest
    b.login(user, password)
    response, data = b.get(f"/part?f=INBOX&uid={uid}&n={number}")
    show("part", response)
    print(f"content-type: {response.getheader('Content-Type')}")
    print(f"content-disposition: {response.getheader('Content-Disposition')}")
    print(f"nosniff: {response.getheader('X-Content-Type-Options')}")
elif scenario == "send":
    user, password, to, subject = rest
    b.login(user, password)
    token = b.token("/compose")
    response, page = b.post_multipart(
        "/compose",
        {"token": token, "action": "send", "to": to, "cc": "", "bcc": "", "subject": subject, "body": "Line one.\nLine two."},
        [("attachment", "notes.txt", "text/plain", b"attached notes\n")],
    )
    show("send", response)
    print(f"location: {response.getheader('Location')}")
    if response.status != 303:
        print(page)
    response, page = b.get("/folder?f=Sent")
    print(f"in sent: {subject in page}")
elif scenario == "send-refused":
    user, password, to = rest
    b.login(user, password)
    token = b.token("/compose")
    response, page = b.post_multipart(
        "/compose",
        {"token": token, "action": "send", "to": to, "subject": "x", "body": "x"},
    )
    show("send", response)
    notice = re.search(r'<p class="notice problem"[^>]*>([^<]*)</p>', page)
    print(f"notice: {notice.group(1) if notice else None}")
elif scenario == "admin":
    user, password = rest
    b.login(user, password)
    response, page = b.get("/admin")
    show("admin page", response)
    print(f"lists queue header: {'QUEUE ID' in page}")
    for login in re.findall(r'<td>([^<@]+@[^<]+)</td>', page):
        print(f"account: {login}")
    token = form_token(page)
    response, _ = b.post("/admin/users/add", {"token": token, "login": "dave@example.test", "password": "dave long password"})
    show("add", response)
    print(f"add location: {urllib.parse.unquote(response.getheader('Location'))}")
    response, _ = b.post("/admin/users/add", {"token": token, "login": "erin@example.test", "password": "short"})
    print(f"short location: {urllib.parse.unquote(response.getheader('Location'))}")
    response, _ = b.post("/admin/users/disabled", {"token": token, "login": "bob@example.test", "state": "on"})
    print(f"disable location: {urllib.parse.unquote(response.getheader('Location'))}")
    response, _ = b.post("/admin/users/password", {"token": token, "login": "dave@example.test", "password": "dave second password"})
    print(f"reset location: {urllib.parse.unquote(response.getheader('Location'))}")
    response, _ = b.post("/admin/queue/flush", {"token": token})
    print(f"flush location: {urllib.parse.unquote(response.getheader('Location'))}")
    response, _ = b.post("/admin/queue/delete", {"token": token, "id": "nonsense"})
    print(f"delete location: {urllib.parse.unquote(response.getheader('Location'))}")
    response, _ = b.post("/admin/queue/flush", {"token": "A" * 43})
    show("flush with another token", response)
elif scenario == "admin-queue":
    user, password, queue_id = rest
    b.login(user, password)
    response, page = b.get("/admin")
    show("admin page", response)
    print(f"lists the shared queue: {'in the shared queue' in page}")
    print(f"lists {queue_id}: {queue_id in page}")
    token = form_token(page)
    response, _ = b.post("/admin/queue/delete", {"token": token, "id": queue_id})
    print(f"delete location: {urllib.parse.unquote(response.getheader('Location'))}")
elif scenario == "status":
    response, page = b.get("/status")
    show("status", response)
    print(page)
elif scenario == "metrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    response, text = b.get("/metrics")
    show("metrics", response)
    print(f"content-type: {response.getheader('Content-Type')}")
    for family in text_string_to_metric_families(text) if response.status == 200 else []:
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            print(f"sample: {sample.name}{{{labels}}} {sample.value:g}")
elif scenario == "rules":
    user, password, forward_to, keep, vacation_text = rest
    b.login(user, password)
    token = b.token("/settings")
    fields = {"token": token, "to": forward_to}
    if keep == "keep":
        fields["keep"] = "on"
    response, page = b.post("/settings/forward", fields)
    show("forward", response)
    print(f"forward location: {response.getheader('Location')}")
    notice = re.search(r'<p class="notice problem"[^>]*>([^<]*)</p>', page)
    if notice:
        print(f"forward notice: {notice.group(1)}")
    response, page = b.post("/settings/vacation", {"token": token, "enabled": "on", "subject": "", "body": vacation_text, "days": "7", "start": "", "end": ""})
    show("vacation", response)
    print(f"vacation location: {response.getheader('Location')}")
    notice = re.search(r'<p class="notice problem"[^>]*>([^<]*)</p>', page)
    if notice:
        print(f"vacation notice: {notice.group(1)}")
    response, page = b.get("/settings")
    print(f"page shows vacation text: {vacation_text in page}")
    print(f"page shows forward: {forward_to in page}")
elif scenario == "senders":
    # allow and block: patterns separated by "|", one per form line.
    user, password, allow, block, blocked = rest
    b.login(user, password)
    token = b.token("/settings")
    fields = {"allow": "\r\n".join(allow.split("|")), "block": "\r\n".join(block.split("|")), "blocked": blocked}
    response, _ = b.post("/settings/senders", dict(fields, token="not-the-token"))
    show("senders without token", response)
    response, page = b.post("/settings/senders", dict(fields, token=token))
    show("senders", response)
    print(f"senders location: {response.getheader('Location')}")
    notice = re.search(r'<p class="notice problem"[^>]*>([^<]*)</p>', page)
    if notice:
        print(f"senders notice: {notice.group(1)}")
        # A refused form comes back as the user typed it.
        for name in ("allow", "block"):
            typed = re.search(r'<textarea name="%s"[^>]*>([^<]*)</textarea>' % name, page)
            print(f"refused {name}: {'|'.join(typed.group(1).split()) if typed else ''}")
    response, page = b.get("/settings")
    for name in ("allow", "block"):
        shown = re.search(r'<textarea name="%s"[^>]*>([^<]*)</textarea>' % name, page)
        print(f"page {name}: {'|'.join(shown.group(1).split()) if shown else ''}")
    checked = re.search(r'<input type="radio" name="blocked" value="(\w+)" checked', page)
    print(f"page blocked: {checked.group(1) if checked else ''}")
elif scenario == "moderate":
    user, password, action = rest
    b.login(user, password)
    response, page = b.get("/settings")
    show("settings", response)
    held = re.findall(r'name="list" value="([^"]+)".*?name="post" value="([^"]+)"', page, re.S)
    print(f"held: {len(held)}")
    print("big news shown:", "Big news" in page)
    if held:
        token = form_token(page)
        lst, post = held[0]
        response, _ = b.post("/settings/moderate", {"token": token, "list": lst, "post": post, "action": action})
        show("moderate", response)
        print(f"location: {response.getheader('Location')}")
elif scenario == "login":
    user, password = rest
    response, page = b.login(user, password)
    show(f"login {user}", response)
    response, page = b.get("/admin")
    show("admin page", response)
else:
    sys.exit(f"unknown scenario {scenario}")
