"""Synthetic log writers for the collector tests: numbered lines at a set rate, with rename or
copy-truncate rotation, run in a thread so the test can kill and restart the agent meanwhile."""
import os
import shutil
import threading
import time


def line(i, width=0):
    s = f"line {i:07d}"
    if width > len(s):
        s += " " + "x" * (width - len(s) - 1)
    return s


class Writer(threading.Thread):
    """Write `count` lines to `path` at about `rate` lines/s, rotating every `rotate_every`
    lines by `mode` ("rename": path -> path.1 -> path.2 ..., keeping `keep` files;
    "copytruncate": copy to path.1 then truncate path in place; None: no rotation)."""

    def __init__(self, path, count, rate=50000, rotate_every=0, mode=None, keep=3, width=0,
                 start_at=0):
        super().__init__(daemon=True)
        self.path, self.count, self.rate = path, count, rate
        self.rotate_every, self.mode, self.keep, self.width = rotate_every, mode, keep, width
        self.start_at = start_at
        self.rotations = 0
        self.error = None
        self.done = threading.Event()

    def _rotate(self, f):
        if self.mode == "rename":
            f.close()
            for k in range(self.keep - 1, 0, -1):
                src = f"{self.path}.{k}"
                if os.path.exists(src):
                    os.rename(src, f"{self.path}.{k + 1}")
            os.rename(self.path, f"{self.path}.1")
            f = open(self.path, "ab", buffering=0)
        elif self.mode == "copytruncate":
            shutil.copyfile(self.path, f"{self.path}.1")
            os.truncate(self.path, 0)
        self.rotations += 1
        return f

    def run(self):
        try:
            f = open(self.path, "ab", buffering=0)
            batch = max(1, self.rate // 200)  # 200 writes per second
            t0 = time.monotonic()
            i = self.start_at
            end = self.start_at + self.count
            while i < end:
                n = min(batch, end - i)
                if self.rotate_every:
                    if i > self.start_at and i % self.rotate_every == 0:
                        f = self._rotate(f)  # exactly at the boundary, never inside a line
                    n = min(n, self.rotate_every - i % self.rotate_every)
                f.write("".join(line(k, self.width) + "\n" for k in range(i, i + n)).encode())
                i += n
                ahead = (i - self.start_at) / self.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            f.close()
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.done.set()


def check_sequence(texts, count, start=0, width=0):
    """Every numbered line start..start+count-1 exactly once and in order; returns a message
    describing the first problem, or None."""
    want = start
    seen = set()
    dups = []
    out_of_order = []
    for t in texts:
        if not t.startswith("line "):
            continue
        n = int(t[5:12])
        if n in seen:
            dups.append(n)
            continue
        seen.add(n)
        if n != want:
            out_of_order.append((want, n))
        want = n + 1
        if width and t != line(n, width):
            return f"line {n} altered: {t[:80]!r}"
    missing = [k for k in range(start, start + count) if k not in seen]
    if missing or dups or out_of_order:
        return (f"{len(missing)} missing (first {missing[:5]}), {len(dups)} duplicated "
                f"(first {dups[:5]}), {len(out_of_order)} out of order (first {out_of_order[:3]})")
    return None


class EventWriter(threading.Thread):
    """Write `total` lines b"<prefix> %07d" (numbered from 1) to `path`, `rate` lines a second
    in ten batches, for the manager tests that count each event's alert."""

    def __init__(self, path, prefix, total, rate):
        super().__init__(daemon=True)
        self.path, self.prefix, self.total, self.rate = path, prefix, total, rate
        self.written = 0

    def run(self):
        chunk = max(1, self.rate // 10)
        with open(self.path, "ab", buffering=0) as f:
            while self.written < self.total:
                n = min(chunk, self.total - self.written)
                f.write(b"".join(b"%s %07d\n" % (self.prefix, self.written + i + 1)
                                 for i in range(n)))
                self.written += n
                time.sleep(0.1)

