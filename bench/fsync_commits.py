#!/usr/bin/env python3
"""bench/fsync_commits.py: durable commits per second of three ways to make
a spool file durable, on the filesystem of DIR (see bench/fsync.sh).

Each commit writes MESSAGE_BYTES to DIR/incoming/NAME, makes it durable
and renames it into DIR/queue/, as postern's spool does (book: Storage).
THREADS writers commit COMMITS messages each, all at once. The ways:

  spool    each file's own fdatasync, then a directory fsync of queue/
           shared by the commits that renamed before it started (what
           postern does: runtime-tokio/src/spool/dir_sync.rs)
  serial   each file's own fdatasync and its own directory fsync (no
           sharing at all)
  syncfs   no per-file sync: every commit waits for one syncfs(2) of the
           whole filesystem that started after its rename, shared the
           same way (one "group commit" of the data and the names)

A commit counts only once its sync has returned. Prints one line per way:
the way, the threads, commits per second.
"""

import argparse
import ctypes
import os
import threading
import time

LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


class SharedSync:
    """One sync at a time; a caller returns after a sync that started after
    its call (the rounds of dir_sync.rs)."""

    def __init__(self, sync):
        self.sync = sync
        self.cond = threading.Condition()
        self.taken = 0
        self.synced = 0
        self.running = False

    def wait(self):
        with self.cond:
            self.taken += 1
            ticket = self.taken
            while self.synced < ticket:
                if self.running:
                    self.cond.wait()
                    continue
                self.running = True
                upto = self.taken
                self.cond.release()
                try:
                    self.sync()
                finally:
                    self.cond.acquire()
                    self.running = False
                self.synced = max(self.synced, upto)
                self.cond.notify_all()


def syncfs(fd):
    if LIBC.syncfs(fd) != 0:
        raise OSError(ctypes.get_errno(), "syncfs")


def run(way, directory, threads, commits, size):
    incoming = os.path.join(directory, "incoming")
    queue = os.path.join(directory, "queue")
    os.makedirs(incoming, exist_ok=True)
    os.makedirs(queue, exist_ok=True)
    queue_fd = os.open(queue, os.O_RDONLY)
    shared = SharedSync(
        (lambda: syncfs(queue_fd)) if way == "syncfs" else (lambda: os.fsync(queue_fd))
    )
    data = b"x" * size
    failures = []

    def writer(w):
        try:
            for i in range(commits):
                name = f"{w}-{i}"
                fd = os.open(os.path.join(incoming, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, data)
                    if way != "syncfs":
                        os.fdatasync(fd)
                finally:
                    os.close(fd)
                os.rename(os.path.join(incoming, name), os.path.join(queue, name))
                if way == "serial":
                    os.fsync(queue_fd)
                else:
                    shared.wait()
        except OSError as error:
            failures.append(error)

    started = time.monotonic()
    workers = [threading.Thread(target=writer, args=(w,)) for w in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    seconds = time.monotonic() - started
    os.close(queue_fd)
    for name in os.listdir(queue):
        os.unlink(os.path.join(queue, name))
    if failures:
        raise failures[0]
    return threads * commits / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--way", choices=["spool", "serial", "syncfs"], required=True)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--commits", type=int, default=100, help="per thread")
    parser.add_argument("--bytes", type=int, default=4096)
    args = parser.parse_args()
    rate = run(args.way, args.dir, args.threads, args.commits, args.bytes)
    print(f"{args.way} {args.threads} {rate:.0f}")


if __name__ == "__main__":
    main()
