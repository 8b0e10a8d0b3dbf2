"""Summarise py-spy raw stacks (``--profile``): where the server's samples go, by function.

    python -m bench.profile_summary bench-results/profile-login.txt [--top 25] [--match idp/]
"""

from __future__ import annotations

import argparse
import collections
import re

FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+):?(?P<line>\d*)\)$")


def summarise(path: str, top: int, match: str | None) -> str:
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";")]
        idle = frames and frames[-1].split(" ")[0] in ("select", "wait", "poll", "_worker", "accept", "recv_into")
        own["(idle) " + frames[-1] if idle else frames[-1]] += n
        for name in set(frames):
            if match is None or match in name:
                inclusive[name] += n
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", f"inclusive{' (' + match + ')' if match else ''}:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _name(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m["file"]
    for marker in ("site-packages/", "wt-bench/", "python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m['func']} ({file})"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("path")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--match")
    a = p.parse_args()
    print(summarise(a.path, a.top, a.match))


if __name__ == "__main__":
    main()
